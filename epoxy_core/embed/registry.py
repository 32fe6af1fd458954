"""The embedder catalogue and the one dispatch on model strings (``embed_texts``, fingerprints, labels, listing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.cache import content_key, load_array, save_array
from epoxy_core.embed.base import Backend, EmbedderInfo, ProgressCallback, _check_texts
from epoxy_core.embed.hub import ST_BACKEND
from epoxy_core.embed.onnx import MINILM_BACKEND, ONNX_FOLDER_BACKEND
from epoxy_core.embed.tfidf import TFIDF_BACKEND
from epoxy_core.embed.wordllama import WORDLLAMA_BACKEND

__all__ = [
    "DEFAULT_MODEL",
    "LARGE_TABLE_MODEL",
    "LARGE_TABLE_ROWS",
    "SMALL_TABLE_MODEL",
    "EmbedderInfo",
    "available_embedders",
    "cached_embed_texts",
    "check_model",
    "default_model",
    "embed_texts",
    "embedder_fingerprint",
    "model_label",
]

SMALL_TABLE_MODEL = "minilm"
"""The default embedder up to LARGE_TABLE_ROWS texts: the best neighbours where meaning matters (bench/embedders.py)."""
LARGE_TABLE_MODEL = "wordllama"
"""The default embedder above LARGE_TABLE_ROWS texts: ~150x less CPU per text than MiniLM, as good on short comments."""
LARGE_TABLE_ROWS = 5_000
"""Where MiniLM's wait stops being worth its better neighbours (bench/embedders.py).

At 80-120 comment-length texts/s on two quiet cores (15-55 on a busy machine), 5,000 rows cost MiniLM
about a minute, several on a loaded machine (once: embeddings are cached); WordLlama takes a second."""
DEFAULT_MODEL = SMALL_TABLE_MODEL
"""The default of a table of unknown size; :func:`default_model` chooses by size."""

# In the order the UI lists them: the default first.
_BACKENDS: tuple[Backend, ...] = (MINILM_BACKEND, WORDLLAMA_BACKEND, TFIDF_BACKEND, ST_BACKEND, ONNX_FOLDER_BACKEND)


def _unknown_model_message(model: Any) -> str:
    return (
        f"Unknown embedding model {model!r}: use 'minilm', 'wordllama', 'tfidf', "
        "'st:<sentence-transformers name or path>' or 'onnx:<folder with model.onnx and tokenizer.json>'."
    )


def _resolve(model: Any) -> tuple[Backend, str]:
    """The backend answering to ``model`` and the argument it receives (the part after a prefix)."""
    if isinstance(model, str):
        for backend in _BACKENDS:
            if backend.is_prefix and model.startswith(backend.name):
                return backend, model[len(backend.name) :]
            if model == backend.name:
                return backend, ""
    raise ValueError(_unknown_model_message(model))


def default_model(n_rows: int | None = None) -> str:
    """The measured default embedder for a table of ``n_rows`` texts, among those installed here.

    MiniLM up to :data:`LARGE_TABLE_ROWS` rows, WordLlama above (see ``bench/embedders.py`` for the
    figures); when the preferred one is missing, the other, then TF-IDF (always available).

    Examples
    --------
    >>> default_model(1_000), default_model(100_000)  # in the dev environment
    ('minilm', 'wordllama')
    """
    large = n_rows is not None and n_rows > LARGE_TABLE_ROWS
    preferred = (LARGE_TABLE_MODEL, SMALL_TABLE_MODEL) if large else (SMALL_TABLE_MODEL, LARGE_TABLE_MODEL)
    installed = {info.name for info in available_embedders() if info.installed}
    return next((model for model in preferred if model in installed), "tfidf")


def check_model(model: Any) -> str:
    """Return ``model`` if it names an embedder, else raise ValueError (nothing is loaded or looked up).

    Examples
    --------
    >>> check_model("st:all-MiniLM-L6-v2")
    'st:all-MiniLM-L6-v2'
    """
    backend, argument = _resolve(model)
    if backend.validate is not None:
        backend.validate(argument)
    return model


def model_label(model: str) -> str:
    """Human-readable name of a model string, e.g. ``"TF-IDF + SVD"`` for ``"tfidf"``."""
    backend, argument = _resolve(model)
    return backend.label(argument)


def available_embedders() -> list[EmbedderInfo]:
    """Describe the embedders and whether each can run here (nothing is loaded).

    Returns
    -------
    list of EmbedderInfo
        MiniLM (the default), WordLlama, TF-IDF and sentence-transformers, in that order.
    """
    return [backend.describe() for backend in _BACKENDS if backend.describe is not None]


def embedder_fingerprint(model: str) -> str:
    """A string that changes whenever ``embed_texts(..., model=model)`` could change its output.

    Used as part of cache keys: it names the model *and* identifies the model files
    (path, size, modification time) or library versions behind it.
    """
    backend, argument = _resolve(model)
    return backend.fingerprint(argument)


def embed_texts(
    texts: Sequence[str],
    model: str | None = None,
    progress: ProgressCallback | None = None,
    batch_size: int | None = None,
) -> npt.NDArray[np.float32]:
    """Embed texts as L2-normalised float32 vectors.

    Parameters
    ----------
    texts : sequence of str
        One text per row; missing values must be filled first (empty strings are fine).
    model : str, optional
        ``"minilm"``, ``"wordllama"``, ``"tfidf"``, ``"st:<name-or-path>"`` or ``"onnx:<folder>"``;
        see the package docstring.  By default :func:`default_model` of ``len(texts)``.
    progress : callable, optional
        ``progress(done_rows, total_rows)``, called after every batch (after each fitting
        stage for TF-IDF, which has no batches); not called for an empty input.
    batch_size : int, optional
        Texts per model call; by default the model's own (64, or 2048 for WordLlama).
        Memory stays near the ``(n, d)`` output plus one batch.

    Returns
    -------
    numpy.ndarray of float32, shape (n, d)
        Unit-length rows, in the order of ``texts``; never a zero row.

    Raises
    ------
    ValueError
        For non-string texts, an unknown model, or a model that cannot run here.
    """
    items = _check_texts(texts)
    backend, argument = _resolve(default_model(len(items)) if model is None else model)
    if batch_size is None:
        batch_size = backend.default_batch_size
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    return backend.embed(argument, items, progress, batch_size)


def cached_embed_texts(
    texts: Sequence[str],
    model: str | None = None,
    progress: ProgressCallback | None = None,
) -> npt.NDArray[np.float32]:
    """:func:`epoxy_core.embed.embed_texts`, cached on disk by texts and model identity.

    The key covers every text, the model name and the model files' identity (see
    :func:`epoxy_core.embed.embedder_fingerprint`), so a changed text or model
    rebuilds.  On a hit ``progress`` is called once with ``(n, n)``.  ``model=None``
    means :func:`default_model` of ``len(texts)``.
    """
    items = _check_texts(texts)
    if model is None:
        model = default_model(len(items))
    key = content_key("embed_texts", embedder_fingerprint(model), items)
    hit = load_array(key)
    if hit is not None and hit[0]["embeddings"].shape[0] == len(items):
        if progress is not None:
            progress(len(items), len(items))
        return hit[0]["embeddings"]
    embeddings = embed_texts(items, model=model, progress=progress)
    save_array(key, {"embeddings": embeddings}, {"model": model, "n_rows": len(items)})
    return embeddings

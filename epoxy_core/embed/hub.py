"""Any sentence-transformers model by hub name or local path (optional: requirements-hub.txt)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.base import Backend, EmbedderInfo, ProgressCallback, _has_module, embed_batched


@functools.lru_cache(maxsize=2)
def _load_sentence_transformer(name: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(name, device="cpu")


def _check_name(name: str) -> None:
    if not name:
        raise ValueError("model='st:' needs a model name or path after the colon, e.g. 'st:all-MiniLM-L6-v2'.")


def _st_embed(
    name: str, texts: list[str], progress: ProgressCallback | None, batch_size: int
) -> npt.NDArray[np.float32]:
    _check_name(name)
    if not _has_module("sentence_transformers"):
        raise ValueError(
            f"model='st:{name}' needs the optional sentence-transformers package: "
            "pip install -r requirements-hub.txt (or choose model='minilm' / 'tfidf')."
        )
    try:
        st_model = _load_sentence_transformer(name)
    except Exception as error:  # the hub/loader raises many types; surface one clear message
        raise ValueError(
            f"Could not load sentence-transformers model {name!r}: {error}. "
            "Check the name or local path (offline use needs a local copy)."
        ) from error

    def run(batch: list[str]) -> npt.NDArray[np.float32]:
        vectors = st_model.encode(batch, batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    dim = int(st_model.get_sentence_embedding_dimension() or 0) or int(run([""]).shape[1])
    return embed_batched(texts, run, dim, progress=progress, batch_size=batch_size)


def _describe() -> EmbedderInfo:
    installed = _has_module("sentence_transformers")
    return EmbedderInfo(
        name="st:",
        label="sentence-transformers model (name or path)",
        installed=installed,
        dim=None,
        note="Any model by hub name or local path."
        if installed
        else "Not installed: pip install -r requirements-hub.txt",
    )


ST_BACKEND = Backend(
    name="st:",
    label=lambda name: f"sentence-transformers {name}",
    fingerprint=lambda name: f"st/v1/{name}",
    embed=_st_embed,
    describe=_describe,
    validate=_check_name,
)

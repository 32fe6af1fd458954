"""Any sentence-transformers model by hub name or local path (optional: requirements-hub.txt)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.base import (
    ProgressCallback,
    _embed_batched,
    _has_module,
)


@functools.lru_cache(maxsize=2)
def _load_sentence_transformer(name: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(name, device="cpu")


def _st_embed(
    name: str, texts: list[str], progress: ProgressCallback | None, batch_size: int
) -> npt.NDArray[np.float32]:
    if not name:
        raise ValueError("model='st:' needs a model name or path after the colon, e.g. 'st:all-MiniLM-L6-v2'.")
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
    dim = int(st_model.get_sentence_embedding_dimension() or 0)

    def embed_batch(batch: list[str]) -> npt.NDArray[np.float32]:
        vectors = st_model.encode(batch, batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    if dim <= 0:
        dim = int(embed_batch([""]).shape[1])
    return _embed_batched(texts, embed_batch, dim, progress, batch_size)

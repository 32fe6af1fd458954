"""What every embedding backend shares: the progress callback, input checks, batching, package lookup."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.normalize import l2_normalize

ProgressCallback = Callable[[int, int], None]
"""``progress(done_rows, total_rows)``, called after every batch."""

BATCH_SIZE = 64


def _package_dir(package: str) -> Path | None:
    """Directory of an installed package, found without importing it (nor running its code)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise ValueError("texts must be a sequence of strings, not a single string; wrap it in a list.")
    try:
        items = list(texts)
    except TypeError:
        raise ValueError(f"texts must be a sequence of strings, got {type(texts).__name__}.") from None
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise ValueError(
                f"texts[{i}] is {text!r} ({type(text).__name__}), not a string; "
                "fill missing texts first, e.g. df[col].fillna('').astype(str)."
            )
    return items


def _call_progress(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _embed_batched(
    texts: list[str],
    embed_batch: Callable[[list[str]], npt.NDArray[np.float32]],
    dim: int,
    progress: ProgressCallback | None,
    batch_size: int,
) -> npt.NDArray[np.float32]:
    """Embed in length-sorted batches, writing into one preallocated output in input order."""
    n = len(texts)
    out = np.empty((n, dim), dtype=np.float32)
    # Similar lengths in a batch means little padding; character length is a cheap proxy
    # for token length, and the output rows go straight back to their original positions.
    order = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=n), kind="stable")
    for start in range(0, n, batch_size):
        rows = order[start : start + batch_size]
        batch = [texts[i] for i in rows]
        block = embed_batch(batch)
        if block.shape != (rows.size, dim):
            raise ValueError(f"The model returned shape {block.shape} for a batch of {rows.size} texts.")
        out[rows] = l2_normalize(block, seeds=batch)
        _call_progress(progress, min(start + batch_size, n), n)
    return out

"""What every embedding backend shares: the backend record, input checks, the one batching loop, package lookup."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.normalize import l2_normalize

ProgressCallback = Callable[[int, int], None]
"""``progress(done_rows, total_rows)``, called after every batch."""

BATCH_SIZE = 64
ENCODE_CHUNK = 4096
"""Texts tokenised at once by :func:`embed_batched`: bounds the memory held in token ids."""


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


EmbedFunction = Callable[[str, list[str], "ProgressCallback | None", int], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class Backend:
    """One family of text embedders, as the registry dispatches to it.

    A backend answers to one model string (``"minilm"``) or to every string with a prefix
    (``"st:<name>"``); its functions receive the part after the prefix (``""`` for a plain name).

    Attributes
    ----------
    name : str
        The model string, or the prefix ending in ``":"``.
    label : callable
        ``label(argument) -> str``: a human-readable name for a model string (nothing is loaded).
    fingerprint : callable
        ``fingerprint(argument) -> str``: changes whenever the output could change (cache keys).
    embed : callable
        ``embed(argument, texts, progress, batch_size) -> (n, d) float32``, unit rows.
    describe : callable or None
        ``describe() -> EmbedderInfo`` for :func:`~epoxy_core.embed.available_embedders`;
        None for backends not offered in the UI's list.
    validate : callable or None
        ``validate(argument)`` raises ValueError for a malformed argument (nothing is loaded).
    default_batch_size : int
        Texts per model call when the caller does not choose.
    """

    name: str
    label: Callable[[str], str]
    fingerprint: Callable[[str], str]
    embed: EmbedFunction
    describe: Callable[[], EmbedderInfo] | None = None
    validate: Callable[[str], object] | None = None
    default_batch_size: int = BATCH_SIZE

    @property
    def is_prefix(self) -> bool:
        return self.name.endswith(":")


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


def embed_batched(
    texts: list[str],
    run: Callable[[list[Any]], npt.NDArray[np.floating[Any]]],
    dim: int,
    *,
    encode: Callable[[list[str]], Sequence[Sequence[int]]] | None = None,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
    max_batch_tokens: int | None = None,
    chunk_size: int = ENCODE_CHUNK,
) -> npt.NDArray[np.float32]:
    """Embed in batches of similar length, writing unit rows into one preallocated output in input order.

    Parameters
    ----------
    texts : list of str
    run : callable
        ``run(batch) -> (len(batch), dim)`` raw vectors; ``batch`` holds texts, or what
        ``encode`` made of them (token ids).
    dim : int
        Output dimension.
    encode : callable, optional
        ``encode(texts) -> token id sequences``, applied to ``chunk_size`` texts at a time;
        batches are then formed by token count instead of character count.
    progress : callable, optional
        ``progress(done_rows, total_rows)`` after every batch.
    batch_size : int
        At most this many items per ``run`` call.
    max_batch_tokens : int, optional
        Also at most this many padded tokens (items x the longest item) per ``run`` call, so
        long texts go in small batches: a batch of 64 spanning 60 to 256 tokens would mostly
        run padding, and attention grows with the square of the width.
    chunk_size : int
        Texts per ``encode`` call (only one chunk's tokens are held).

    Returns
    -------
    numpy.ndarray of float32, shape (n, dim)
        L2-normalised rows (a zero row gets a fallback vector seeded by its text).
    """
    n = len(texts)
    out = np.empty((n, dim), dtype=np.float32)
    # Similar lengths in a batch mean little padding.  Character length orders the texts
    # roughly; within each chunk the exact token counts order them again.  Output rows go
    # straight back to their original positions.
    by_chars = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=n), kind="stable")
    done = 0
    for chunk_start in range(0, n, chunk_size):
        chunk = by_chars[chunk_start : chunk_start + chunk_size]
        chunk_texts = [texts[i] for i in chunk]
        items: Sequence[Any] = chunk_texts if encode is None else encode(chunk_texts)
        lengths = np.fromiter((len(item) for item in items), dtype=np.int64, count=len(items))
        by_length = np.argsort(lengths, kind="stable")
        for members in _batches(lengths[by_length], by_length, batch_size, max_batch_tokens):
            block = np.asarray(run([items[m] for m in members]))
            if block.shape != (members.size, dim):
                raise ValueError(f"The model returned shape {block.shape} for a batch of {members.size} texts.")
            out[chunk[members]] = l2_normalize(block, seeds=[chunk_texts[m] for m in members])
            done += members.size
            _call_progress(progress, done, n)
    return out


def _batches(
    sorted_lengths: npt.NDArray[np.int64],
    members: npt.NDArray[np.int64],
    batch_size: int,
    max_batch_tokens: int | None,
) -> list[npt.NDArray[np.int64]]:
    """Cut ``members`` (in ascending length order) into batches of at most ``batch_size`` items and,
    if given, at most ``max_batch_tokens`` padded tokens (a batch pads to its last, longest item).

    >>> [b.tolist() for b in _batches(np.array([1, 2, 3, 8, 9]), np.arange(5), 3, 16)]
    [[0, 1, 2], [3], [4]]
    """
    if max_batch_tokens is None:
        return [members[i : i + batch_size] for i in range(0, members.size, batch_size)]
    batches, start = [], 0
    while start < members.size:
        # Items x width never shrinks along ascending lengths, so the batches that fit are a prefix.
        end = min(start + batch_size, members.size)
        padded = np.maximum(sorted_lengths[start:end], 1) * np.arange(1, end - start + 1)
        count = max(1, int(np.count_nonzero(padded <= max_batch_tokens)))
        batches.append(members[start : start + count])
        start += count
    return batches

"""Similarity LFs ("rows like these"): vote where a row's embedding is close to one of a few examples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN
from epoxy_core.lf._checks import MAX_PATTERN_CHARS, _check_text
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.frame import _Frame

__all__ = ["MAX_SIMILARITY_EXAMPLES", "SimilarityLF"]

MAX_SIMILARITY_EXAMPLES = 1000
"""Most examples (rows and texts together) of one :class:`SimilarityLF`."""

# Cells of one (rows x examples) float32 similarity block: 64 MB, so a million rows never need gigabytes.
_BLOCK_CELLS = 16 * 2**20


def _check_rows(rows: Any, what: str) -> tuple[int, ...]:
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence | np.ndarray):
        raise ValueError(f"{what} must be a list of row numbers, got {rows!r:.60}.")
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, bool | np.bool_) or not isinstance(row, int | np.integer):
            raise ValueError(f"{what}[{i}] must be a row number (an integer), got {row!r:.60}.")
        if row < 0:
            raise ValueError(f"{what}[{i}] is {int(row)}; row numbers start at 0.")
        out.append(int(row))
    return tuple(out)


def _check_texts(texts: Any, what: str) -> tuple[str, ...]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"{what} must be a list of strings, got {texts!r:.60}.")
    return tuple(_check_text(t, f"{what}[{i}]", max_chars=MAX_PATTERN_CHARS) for i, t in enumerate(texts))


@dataclass(frozen=True)
class SimilarityLF(BaseLF):
    """Vote ``label`` where the cosine similarity to the nearest example is at least ``threshold``.

    The examples are rows of the dataset (``rows``, by position: row ``i`` of the label matrix) and/or free
    texts (``texts``) embedded with the project's embedder.  The LF is data, not code: it stores the row
    numbers and texts, and needs the rows' embeddings (and, for texts, the embedder) when applied, through
    ``apply_lfs(..., embeddings=..., embed=...)``.  Example rows always vote.  Row numbers refer to the
    dataset the LF was made on: with another dataset they point at other rows (texts do not).

    Parameters
    ----------
    name : str
        Unique name of the LF.
    label : int
        Class index voted near an example.
    threshold : float
        Cosine similarity in [-1, 1]; typical values for sentence embeddings are 0.6-0.9.
    rows : sequence of int, default ()
        Keyword-only, as are the arguments after it.  Example rows (0-based positions).
    texts : sequence of str, default ()
        Example texts, embedded at apply time.
    enabled : bool, default True

    Examples
    --------
    >>> import pandas as pd
    >>> lf = SimilarityLF("like row 0", 1, 0.9, rows=[0])
    >>> lf.apply(pd.DataFrame({"text": ["a", "b", "c"]}), embeddings=[[1.0, 0.0], [0.95, 0.3], [0.0, 1.0]]).tolist()
    [1, 1, -1]
    """

    kind: ClassVar[str] = "similarity"
    needs_embeddings: ClassVar[bool] = True

    name: str
    label: int
    threshold: float
    _: KW_ONLY
    rows: tuple[int, ...] = ()
    texts: tuple[str, ...] = ()
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=True)
        prefix = self._name_prefix()
        threshold = self.threshold
        if isinstance(threshold, bool | np.bool_) or not isinstance(threshold, int | float | np.integer | np.floating):
            raise ValueError(f"{prefix}: threshold must be a number (a cosine similarity), got {threshold!r:.60}.")
        if not math.isfinite(threshold) or not -1.0 <= threshold <= 1.0:
            raise ValueError(f"{prefix}: threshold must be a cosine similarity between -1 and 1, got {threshold}.")
        object.__setattr__(self, "threshold", float(threshold))
        rows = _check_rows(self.rows, f"{prefix}: rows")
        texts = _check_texts(self.texts, f"{prefix}: texts")
        if not rows and not texts:
            raise ValueError(f"{prefix}: give at least one example row or example text.")
        if len(rows) + len(texts) > MAX_SIMILARITY_EXAMPLES:
            raise ValueError(
                f"{prefix}: {len(rows) + len(texts):,} examples; the limit is {MAX_SIMILARITY_EXAMPLES:,}."
            )
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "texts", texts)

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns this LF reads: none (it reads the rows' embeddings)."""
        return ()

    def _precheck(self, frame: _Frame) -> None:
        prefix = self._name_prefix()
        if frame.embeddings is None:
            raise ValueError(
                f"{prefix} compares rows by their embeddings: pass embeddings= (one vector per row) to apply it."
            )
        n = len(frame.df)
        bad = [row for row in self.rows if row >= n]
        if bad:
            raise ValueError(
                f"{prefix}: example row {bad[0]:,} is out of range; the data has {n:,} rows (0..{n - 1:,}). "
                "Were the examples picked on another dataset?"
            )
        if self.texts and frame.embed is None:
            raise ValueError(f"{prefix} has example texts: pass embed= (the project's embedder) to embed them.")

    def _example_vectors(self, frame: _Frame, unit: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        from epoxy_core.neighbors import prepare_embeddings

        parts = [unit[list(self.rows)]] if self.rows else []
        if self.texts:
            assert frame.embed is not None  # _precheck
            try:
                vectors = prepare_embeddings(frame.embed(list(self.texts)), "cosine")
            except ValueError as error:
                raise ValueError(f"{self._name_prefix()}: embedding the example texts failed: {error}") from None
            if vectors.shape != (len(self.texts), unit.shape[1]):
                raise ValueError(
                    f"{self._name_prefix()}: the embedder returned shape {vectors.shape} for {len(self.texts)} "
                    f"texts, but the rows' embeddings have dimension {unit.shape[1]}; use the project's embedder."
                )
            parts.append(vectors)
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def similarities(self, frame: _Frame) -> npt.NDArray[np.float32]:
        """Cosine similarity of every row to its nearest example (float32, shape ``(n_rows,)``)."""
        self._precheck(frame)
        unit = frame.unit_embeddings()
        examples = self._example_vectors(frame, unit)
        n = unit.shape[0]
        best = np.empty(n, dtype=np.float32)
        block = max(1, _BLOCK_CELLS // examples.shape[0])
        buffer = np.empty((min(block, n), examples.shape[0]), dtype=np.float32)
        for start in range(0, n, block):
            stop = min(start + block, n)
            sims = np.matmul(unit[start:stop], examples.T, out=buffer[: stop - start])
            sims.max(axis=1, out=best[start:stop])
        return best

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        # float64, as in extension: a threshold just above a float32 similarity is not rounded onto it.
        voted = self.similarities(frame) >= np.float64(self.threshold)
        # A row's cosine with itself can round to just below 1.0: the examples vote at any threshold.
        voted[list(self.rows)] = True
        return np.where(voted, np.int64(self.label), np.int64(ABSTAIN))

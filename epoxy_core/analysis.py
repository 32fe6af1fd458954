"""Per-LF diagnostics: coverage, extension lift, overlaps, conflicts, accuracies (Snorkel's ``LFAnalysis``).

:class:`LFAnalysis` validates a label matrix once and answers with small methods (``lf_coverages``,
``lf_overlaps``, ``label_conflict``, ``lf_empirical_probs``, ...), which :meth:`LFAnalysis.lf_summary` assembles
into one table; the module-level functions are one-call shortcuts.  :func:`extension_preview` says what
extending one LF at a threshold would add, for the LF editor.

Every statistic here is a fraction of *all* rows (as in Snorkel) unless it is a count on the dev set
(rows whose gold label is not ``ABSTAIN``).  Definitions, for LF ``j``:

- **coverage**: rows where ``j`` votes.
- **overlaps**: rows where ``j`` votes and at least one other LF votes.
- **conflicts**: rows where ``j`` votes and some other LF votes a different class.  A row's voting LFs
  all conflict as soon as the row holds two distinct classes: whichever class ``j`` voted, another
  LF voted something else.  That is how conflicts are counted without a per-LF pass over rows.
- **normalised** overlaps / conflicts (``normalize_by_coverage=True``): the same counts as fractions of the
  rows ``j`` votes on (NaN for an LF that never votes).
- **label overlap** / **label conflict** (totals): rows with at least two votes / with disagreeing votes.
- **correct** / **incorrect**: dev rows where ``j`` votes the gold class / another class.

Speed: :func:`lf_summary` runs on every threshold change in the app, on up to 1M rows x 20 LFs.
Column reductions of a row-major ``(rows, LFs)`` int8 matrix are slow in numpy (each of the ~20 lanes
is a strided 1M-element walk, ~30 ms per statistic), so the matrix is transposed once to an LF-major
``(LFs, rows)`` copy (~12 ms at 1M x 20), after which every per-LF count is a contiguous
``count_nonzero`` and every per-row statistic is a fast axis-0 reduction.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from epoxy_core.labels import ABSTAIN, check_label_matrix, check_labels

if TYPE_CHECKING:
    from epoxy_core.model.statistics import VoteStatistics

__all__ = [
    "ExtensionPreview",
    "HasAccuracies",
    "LFAnalysis",
    "dev_columns",
    "extension_curve",
    "extension_preview",
    "label_conflict",
    "label_coverage",
    "label_overlap",
    "lf_conflicts",
    "lf_correct",
    "lf_coverages",
    "lf_empirical_accuracies",
    "lf_empirical_probs",
    "lf_incorrect",
    "lf_overlaps",
    "lf_polarities",
    "lf_summary",
    "lf_summary_from_statistics",
]

_MAX_CLASS_PASSES = 8
"""Above this span of classes, :meth:`LFAnalysis.lf_polarities` histograms each LF instead of scanning per class."""


class HasAccuracies(Protocol):
    """Anything with a fitted per-LF accuracy vector, such as ``TripletLabelModel``."""

    accuracies_: npt.NDArray[np.floating[Any]]


def _lf_names(names: Sequence[Any] | None, n_lfs: int, what: str = "names") -> list[str]:
    """LF names from strings, integers or LF objects (their ``name``); anything else is refused, not repr'd."""
    if names is None:
        return [f"lf_{j}" for j in range(n_lfs)]
    if isinstance(names, str):
        raise ValueError(f"{what} must be a list of LF names or LFs, not one string ({names!r:.60}).")
    out = []
    for j, item in enumerate(names):
        if isinstance(item, str):
            out.append(str(item))
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            out.append(str(item))
        elif isinstance(getattr(item, "name", None), str):  # an LF: ours, or any with a name (Snorkel's too)
            out.append(item.name)
        else:
            raise ValueError(f"{what}[{j}] is a {type(item).__name__}; give LF names (str) or LF objects.")
    if len(out) != n_lfs:
        raise ValueError(f"{what} has {len(out)} entries but the label matrix has {n_lfs} LF columns.")
    duplicates = sorted({name for name in out if out.count(name) > 1})
    if duplicates:
        raise ValueError(f"LF names must be unique (they index the summary); repeated: {duplicates}.")
    return out


def _accuracy(correct: npt.NDArray[np.int64], incorrect: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """correct / (correct + incorrect), NaN where the denominator is 0."""
    total = correct + incorrect
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / np.maximum(total, 1), np.nan)


def _correct_incorrect(L: np.ndarray, labels: np.ndarray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per-LF counts of votes equal to / different from ``labels`` (ABSTAIN labels and votes count nowhere)."""
    gold = labels != ABSTAIN
    votes = L[gold]
    hits = votes == labels[gold, None]
    correct = hits.sum(axis=0, dtype=np.int64)
    incorrect = (votes != ABSTAIN).sum(axis=0, dtype=np.int64) - correct
    return correct, incorrect


def dev_columns(L: Any, y: Any, *, L_extended: Any | None = None) -> dict[str, npt.NDArray[Any]]:
    """The dev-set columns of :func:`lf_summary`: ``correct``, ``incorrect``, ``empirical_accuracy`` per LF.

    With ``L_extended`` also ``extended_correct``, ``extended_incorrect``, ``extended_empirical_accuracy``.
    Rows whose label is ``ABSTAIN`` are ignored, so passing only the dev rows (``L[dev]``, ``y[dev]``) gives the
    same answer at the cost of the dev set, which is how the interactive session re-scores after a hand label.
    Zero rows are fine (every count 0, accuracies NaN).

    Examples
    --------
    >>> columns = dev_columns([[0, -1], [1, 1]], [0, 0], L_extended=[[0, 0], [1, 1]])
    >>> columns["correct"].tolist(), columns["incorrect"].tolist(), columns["extended_correct"].tolist()
    ([1, 0], [1, 1], [1, 1])
    """
    matrix = np.asarray(L)
    if matrix.ndim != 2:
        raise ValueError(f"L must be 2-D (rows, LFs); got shape {matrix.shape}.")
    labels = check_labels(y, n_rows=matrix.shape[0])
    correct, incorrect = _correct_incorrect(matrix, labels)
    columns: dict[str, npt.NDArray[Any]] = {
        "correct": correct,
        "incorrect": incorrect,
        "empirical_accuracy": _accuracy(correct, incorrect),
    }
    if L_extended is not None:
        extended = np.asarray(L_extended)
        if extended.shape != matrix.shape:
            raise ValueError(f"L has shape {matrix.shape} but L_extended has shape {extended.shape}.")
        correct, incorrect = _correct_incorrect(extended, labels)
        columns.update(
            extended_correct=correct,
            extended_incorrect=incorrect,
            extended_empirical_accuracy=_accuracy(correct, incorrect),
        )
    return columns


# --------------------------------------------------------------------------------------------------
# LFAnalysis: validate once, answer with small methods
# --------------------------------------------------------------------------------------------------


class LFAnalysis:
    """Statistics of a label matrix, per LF and in total, with Snorkel's ``LFAnalysis`` shape.

    The matrix is validated and transposed to an LF-major layout once, in ``__init__``; every method is
    then a few contiguous passes (see the module docstring for why).  Row masks shared by several
    methods (rows with several votes, rows with disagreeing votes) are computed once, on first use.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).
    lfs : sequence of LF or str, optional
        The LFs of the columns (or their names), in column order; names index :meth:`lf_summary`.
    cardinality : int, optional
        Number of classes; votes and labels must then lie in ``0..cardinality-1``.

    Examples
    --------
    >>> analysis = LFAnalysis([[0, 0, -1], [0, 1, -1], [-1, -1, 1], [-1, -1, -1]], ["a", "b", "c"])
    >>> analysis.label_coverage(), analysis.label_overlap(), analysis.label_conflict()
    (0.75, 0.5, 0.25)
    >>> analysis.lf_conflicts(normalize_by_coverage=True).tolist()
    [0.5, 0.5, 0.0]
    """

    def __init__(self, L: Any, lfs: Sequence[Any] | None = None, *, cardinality: int | None = None) -> None:
        self._init(L, lfs, cardinality, "The label matrix")

    def _init(
        self, L: Any, lfs: Sequence[Any] | None, cardinality: int | None, what: str, lfs_what: str = "lfs"
    ) -> None:
        try:
            matrix = check_label_matrix(L, cardinality=cardinality)
        except ValueError as error:
            if what == "The label matrix":
                raise
            raise ValueError(f"{what}: {error}") from None
        if matrix.shape[0] == 0:
            raise ValueError(f"{what} has no rows; fractions of rows are undefined. Load a dataset first.")
        self.L = matrix
        """The validated matrix, shape (n_rows, n_lfs)."""
        self.cardinality = cardinality
        self.names = _lf_names(lfs, matrix.shape[1], what=lfs_what)
        """LF names: from ``lfs``, else ``"lf_0"``, ``"lf_1"``, ..."""
        # A no-op when the caller already holds a Fortran-ordered matrix.
        self._lf_major = np.ascontiguousarray(matrix.T)
        self._voted = self._lf_major != ABSTAIN

    @classmethod
    def _named(
        cls, L: Any, lfs: Sequence[Any] | None, cardinality: int | None, what: str, lfs_what: str = "lfs"
    ) -> LFAnalysis:
        """An analysis whose error messages call the matrix ``what`` and the names ``lfs_what``."""
        analysis = cls.__new__(cls)
        analysis._init(L, lfs, cardinality, what, lfs_what)
        return analysis

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.L.shape[0])

    @property
    def n_lfs(self) -> int:
        """Number of LFs (columns)."""
        return int(self.L.shape[1])

    # ------------------------------------------------------------------ building blocks

    def _masked_vote_counts(self, rows: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.int64]:
        """Number of rows in ``rows`` (all rows if None) that each LF votes on."""
        counts = np.zeros(self.n_lfs, dtype=np.int64)
        buffer = np.empty(self.n_rows, dtype=bool)
        # A loop over LFs (~20), never over rows: each step is one contiguous SIMD pass.
        for j in range(self.n_lfs):
            if rows is None:
                counts[j] = np.count_nonzero(self._voted[j])
            else:
                np.logical_and(self._voted[j], rows, out=buffer)
                counts[j] = np.count_nonzero(buffer)
        return counts

    @cached_property
    def _vote_counts(self) -> npt.NDArray[np.int64]:
        return self._masked_vote_counts(None)

    @cached_property
    def _overlap_counts(self) -> npt.NDArray[np.int64]:
        return self._masked_vote_counts(self._rows_with_several_votes)

    @cached_property
    def _conflict_counts(self) -> npt.NDArray[np.int64]:
        return self._masked_vote_counts(self._rows_with_disagreement)

    @cached_property
    def _rows_with_several_votes(self) -> npt.NDArray[np.bool_]:
        """Rows where at least two LFs vote."""
        if self.n_lfs < 2:
            return np.zeros(self.n_rows, dtype=bool)
        # uint8 accumulates without a cast (fast) but would wrap past 255 LFs.
        dtype = np.uint8 if self.n_lfs < 256 else np.int32
        return self._voted.view(np.uint8).sum(axis=0, dtype=dtype) >= 2

    @cached_property
    def _rows_with_disagreement(self) -> npt.NDArray[np.bool_]:
        """Rows where LFs vote at least two different classes."""
        if self.n_lfs < 2:
            return np.zeros(self.n_rows, dtype=bool)
        unsigned = self._lf_major.view(np.dtype(f"u{self._lf_major.itemsize}"))
        # Both extremes skip abstains: ABSTAIN (-1) is the largest value when read as unsigned, so it is
        # never the unsigned minimum, and the smallest when signed, so never the signed maximum.  A row
        # without votes has min = max = ABSTAIN: no conflict.
        highest = self._lf_major.max(axis=0).view(unsigned.dtype)
        return unsigned.min(axis=0) < highest

    def _normalized(self, counts: npt.NDArray[np.int64], normalize_by_coverage: bool) -> npt.NDArray[np.float64]:
        if not normalize_by_coverage:
            return counts / self.n_rows
        # Of the rows the LF votes on; an LF that never votes has no share to speak of (NaN, not 0).
        return _accuracy(counts, self._vote_counts - counts)

    def _dev_counts(self, y: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per-LF (correct, incorrect) counts on rows with a gold label."""
        labels = check_labels(y, cardinality=self.cardinality, n_rows=self.n_rows)
        dev = labels != ABSTAIN
        # The dev set is usually tiny (~100 rows): gathering it first keeps this step negligible.
        return _correct_incorrect(self.L[dev], labels[dev])

    # ------------------------------------------------------------------ totals

    def label_coverage(self) -> float:
        """Fraction of rows where at least one LF votes."""
        if self.n_lfs == 0:
            return 0.0
        # As unsigned, ABSTAIN is the largest value: a row's minimum is ABSTAIN only if nobody voted.
        unsigned = self._lf_major.view(np.dtype(f"u{self._lf_major.itemsize}"))
        abstain = np.array(ABSTAIN, dtype=self._lf_major.dtype).view(unsigned.dtype)
        return float(np.count_nonzero(unsigned.min(axis=0) != abstain) / self.n_rows)

    def label_overlap(self) -> float:
        """Fraction of rows where at least two LFs vote."""
        return float(np.count_nonzero(self._rows_with_several_votes) / self.n_rows)

    def label_conflict(self) -> float:
        """Fraction of rows where LFs vote at least two different classes."""
        return float(np.count_nonzero(self._rows_with_disagreement) / self.n_rows)

    # ------------------------------------------------------------------ per LF

    def lf_polarities(self) -> list[list[int]]:
        """Sorted classes each LF votes; ``[]`` for an LF that never votes."""
        if self.n_lfs == 0:
            return []
        unsigned = self._lf_major.view(np.dtype(f"u{self._lf_major.itemsize}"))
        highest = self._lf_major.max(axis=1).astype(np.int64)
        lowest = unsigned.min(axis=1).astype(np.int64)  # as unsigned: abstains do not count
        result = [
            [] if high == ABSTAIN else sorted({int(low), int(high)}) for low, high in zip(lowest, highest, strict=True)
        ]
        # Binary tasks are done: classes strictly between an LF's lowest and highest vote are only
        # possible with 3+ classes, and only those (LF, class) pairs need a scan.
        gaps = highest - lowest >= 2
        if not gaps.any():
            return result
        if int((highest - lowest)[gaps].max()) <= _MAX_CLASS_PASSES:
            for c in range(int(lowest[gaps].min()) + 1, int(highest[gaps].max())):
                lfs = np.flatnonzero(gaps & (lowest < c) & (c < highest))
                # One pass over those LFs' rows per class: (C - 2) passes at most.
                for j in lfs[(self._lf_major[lfs] == c).any(axis=1)]:
                    result[j].append(c)
            for j in np.flatnonzero(gaps):
                result[j].sort()
        else:
            # Many classes: one histogram per LF beats one pass per class.  ABSTAIN lands in the
            # last bin of the unsigned view and is dropped.
            for j in np.flatnonzero(gaps):
                counts = np.bincount(unsigned[j], minlength=int(highest[j]) + 1)
                result[j] = np.flatnonzero(counts[: int(highest[j]) + 1]).tolist()
        return result

    def lf_coverages(self) -> npt.NDArray[np.float64]:
        """Fraction of rows each LF votes on."""
        return self._vote_counts / self.n_rows

    def lf_overlaps(self, normalize_by_coverage: bool = False) -> npt.NDArray[np.float64]:
        """Fraction of rows where the LF votes and another LF votes too (of its own votes if normalised)."""
        return self._normalized(self._overlap_counts, normalize_by_coverage)

    def lf_conflicts(self, normalize_by_coverage: bool = False) -> npt.NDArray[np.float64]:
        """Fraction of rows where the LF votes and another LF votes another class (of its votes if normalised)."""
        return self._normalized(self._conflict_counts, normalize_by_coverage)

    def lf_correct(self, y: Any) -> npt.NDArray[np.int64]:
        """Number of dev rows (``y != ABSTAIN``) where the LF votes the gold class."""
        return self._dev_counts(y)[0]

    def lf_incorrect(self, y: Any) -> npt.NDArray[np.int64]:
        """Number of dev rows where the LF votes a class other than the gold one."""
        return self._dev_counts(y)[1]

    def lf_empirical_accuracies(self, y: Any) -> npt.NDArray[np.float64]:
        """Accuracy on the dev rows the LF votes on; NaN where it votes on none (unknown)."""
        return _accuracy(*self._dev_counts(y))

    def lf_empirical_probs(self, y: Any, cardinality: int | None = None) -> npt.NDArray[np.float64]:
        """P(vote | gold class) per LF, estimated on the dev rows, in Snorkel's layout.

        Parameters
        ----------
        y : array-like of shape (n_rows,)
            Gold labels, ``ABSTAIN`` for unlabeled rows.
        cardinality : int, optional
            Number of classes; default: the analysis's, else ``max(L, y) + 1`` (at least 2).

        Returns
        -------
        numpy.ndarray of shape (n_lfs, cardinality + 1, cardinality)
            ``[j, v + 1, c]`` = P(LF ``j`` votes ``v`` | gold class ``c``); ``v + 1 = 0`` is the abstain.
            Each ``[j, :, c]`` sums to 1; it is NaN when the dev set has no row of class ``c``.
        """
        labels = check_labels(y, cardinality=cardinality or self.cardinality, n_rows=self.n_rows)
        C = cardinality or self.cardinality or max(2, int(self.L.max(initial=0)) + 1, int(labels.max(initial=0)) + 1)
        if int(self.L.max(initial=ABSTAIN)) >= C:
            raise ValueError(f"The label matrix holds class {int(self.L.max())} but cardinality is {C}.")
        probs = np.full((self.n_lfs, C + 1, C), np.nan)
        for c in range(C):
            votes = self.L[labels == c]  # the dev rows of class c (a small gather)
            if votes.shape[0] == 0:
                continue
            # One-hot over the C + 1 possible votes, abstain first.
            onehot = votes[:, :, None] == np.arange(ABSTAIN, C)[None, None, :]
            probs[:, :, c] = onehot.mean(axis=0)
        return probs

    def lf_vote_rates(self, y: Any, class_names: Sequence[str] | None = None) -> pd.DataFrame:
        """The per-LF table of P(vote | gold class) on dev, one row per (LF, gold class).

        Parameters
        ----------
        y : array-like of shape (n_rows,)
            Gold labels, ``ABSTAIN`` for unlabeled rows.
        class_names : sequence of str, optional
            Names of classes ``0..C-1`` (default ``"0"``, ``"1"``, ...).

        Returns
        -------
        pandas.DataFrame
            Index ``(lf, gold)``; columns ``dev rows`` (dev rows of that class), ``P(abstain)`` and one
            ``P(<class>)`` per class.  Rows sum to 1 (NaN when the dev set lacks the class).

        Examples
        --------
        >>> table = LFAnalysis([[0], [0], [1], [-1]], ["kw"]).lf_vote_rates([0, 1, 1, 1], ["ham", "spam"])
        >>> table.round(3).to_dict("index")[("kw", "spam")]
        {'dev rows': 3, 'P(abstain)': 0.333, 'P(ham)': 0.333, 'P(spam)': 0.333}
        """
        cardinality = len(class_names) if class_names is not None else self.cardinality
        probs = self.lf_empirical_probs(y, cardinality)
        C = probs.shape[2]
        names = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(C)]
        labels = check_labels(y, cardinality=C, n_rows=self.n_rows)
        counts = np.bincount(labels[labels != ABSTAIN], minlength=C)
        index = pd.MultiIndex.from_product([self.names, names], names=["lf", "gold"])
        columns: dict[str, Any] = {"dev rows": np.tile(counts, self.n_lfs)}
        columns["P(abstain)"] = probs[:, 0, :].ravel()
        for v, name in enumerate(names):
            columns[f"P({name})"] = probs[:, v + 1, :].ravel()
        return pd.DataFrame(columns, index=index)

    # ------------------------------------------------------------------ the summary table

    def lf_summary(
        self,
        y: Any | None = None,
        *,
        L_extended: Any | None = None,
        model: HasAccuracies | None = None,
        class_names: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """One row of diagnostics per LF; see :func:`lf_summary` for the columns."""
        cardinality = self.cardinality
        if class_names is not None:
            cardinality = len(class_names)
            if self.cardinality != cardinality:
                check_label_matrix(self.L, cardinality=cardinality)  # every vote must be a named class
        extended = None
        if L_extended is not None:
            extended = LFAnalysis._named(L_extended, None, cardinality, "L_extended")
            if extended.L.shape != self.L.shape:
                raise ValueError(
                    f"L has shape {self.L.shape} but L_extended has shape {extended.L.shape}; "
                    "both must cover the same rows and LFs in the same order."
                )
        seen = extended if extended is not None else self
        columns = _count_columns(
            self.lf_polarities(),
            self._vote_counts,
            self.n_rows,
            (seen._vote_counts, seen._overlap_counts, seen._conflict_counts),
            extended=extended is not None,
            class_names=class_names,
        )
        if model is not None:
            columns["estimated_accuracy"] = _model_accuracies(model, self.n_lfs)

        if y is not None:
            if np.ndim(y) != 1 or len(y) != self.n_rows:
                raise ValueError(
                    f"y has shape {np.shape(y)} but the label matrix has {self.n_rows} rows; pass one label per row."
                )
            labels = check_labels(y, cardinality=self.cardinality, n_rows=self.n_rows)
            dev = labels != ABSTAIN
            # The dev set is usually tiny (~100 rows): gathering it first keeps this step negligible.
            columns.update(
                dev_columns(self.L[dev], labels[dev], L_extended=None if extended is None else extended.L[dev])
            )
        return pd.DataFrame(columns, index=pd.Index(self.names, name="lf"))


# --------------------------------------------------------------------------------------------------
# Small public statistics
# --------------------------------------------------------------------------------------------------


def lf_polarities(L: Any) -> list[list[int]]:
    """Classes each LF votes, sorted; ``[]`` for an LF that never votes.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).

    Returns
    -------
    list of list of int

    Examples
    --------
    >>> lf_polarities([[0, 1, -1], [0, 0, -1], [-1, 2, -1]])
    [[0], [0, 1, 2], []]
    """
    return LFAnalysis(L).lf_polarities()


def lf_coverages(L: Any) -> npt.NDArray[np.float64]:
    """Fraction of rows each LF votes on.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).

    Returns
    -------
    numpy.ndarray of shape (n_lfs,)

    Examples
    --------
    >>> lf_coverages([[0, -1], [1, -1], [-1, 1], [0, -1]]).tolist()
    [0.75, 0.25]
    """
    return LFAnalysis(L).lf_coverages()


def lf_overlaps(L: Any) -> npt.NDArray[np.float64]:
    """Fraction of rows where the LF votes and at least one other LF votes too.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).

    Returns
    -------
    numpy.ndarray of shape (n_lfs,)

    Examples
    --------
    >>> lf_overlaps([[0, 0, -1], [1, -1, -1], [0, -1, 1], [-1, -1, 1]]).tolist()
    [0.5, 0.25, 0.25]
    """
    return LFAnalysis(L).lf_overlaps()


def lf_conflicts(L: Any) -> npt.NDArray[np.float64]:
    """Fraction of rows where the LF votes and some other LF votes a different class.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).

    Returns
    -------
    numpy.ndarray of shape (n_lfs,)

    Examples
    --------
    >>> lf_conflicts([[0, 0, -1], [1, -1, 0], [0, 1, 1], [-1, -1, 1]]).tolist()
    [0.5, 0.25, 0.5]
    """
    return LFAnalysis(L).lf_conflicts()


def lf_correct(L: Any, y: Any) -> npt.NDArray[np.int64]:
    """Number of dev rows (``y != ABSTAIN``) where the LF votes the gold class.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` for unlabeled rows.

    Returns
    -------
    numpy.ndarray of int64, shape (n_lfs,)

    Examples
    --------
    >>> lf_correct([[0, 1], [1, -1], [0, 0]], y=[0, 0, -1]).tolist()
    [1, 0]
    """
    return LFAnalysis(L).lf_correct(y)


def lf_incorrect(L: Any, y: Any) -> npt.NDArray[np.int64]:
    """Number of dev rows (``y != ABSTAIN``) where the LF votes a class other than the gold one.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` for unlabeled rows.

    Returns
    -------
    numpy.ndarray of int64, shape (n_lfs,)

    Examples
    --------
    >>> lf_incorrect([[0, 1], [1, -1], [0, 0]], y=[0, 0, -1]).tolist()
    [1, 1]
    """
    return LFAnalysis(L).lf_incorrect(y)


def lf_empirical_accuracies(L: Any, y: Any) -> npt.NDArray[np.float64]:
    """Accuracy of each LF on the dev rows it votes on: ``correct / (correct + incorrect)``.

    NaN means *unknown*: the LF never votes on a labeled row (the app shows it as "—").

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` for unlabeled rows.

    Returns
    -------
    numpy.ndarray of float64, shape (n_lfs,)

    Examples
    --------
    >>> lf_empirical_accuracies([[0, -1], [1, -1], [0, 1]], y=[0, 0, -1]).tolist()
    [0.5, nan]
    """
    return LFAnalysis(L).lf_empirical_accuracies(y)


def label_coverage(L: Any) -> float:
    """Fraction of rows where at least one LF votes.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (class indices, ``ABSTAIN`` = -1).

    Returns
    -------
    float

    Examples
    --------
    >>> label_coverage([[0, -1], [-1, -1], [-1, 1], [1, 0]])
    0.75
    """
    return LFAnalysis(L).label_coverage()


def label_overlap(L: Any) -> float:
    """Fraction of rows where at least two LFs vote (Snorkel's label overlap).

    Examples
    --------
    >>> label_overlap([[0, 0], [0, -1], [1, 0], [-1, -1]])
    0.5
    """
    return LFAnalysis(L).label_overlap()


def label_conflict(L: Any) -> float:
    """Fraction of rows where LFs vote at least two different classes (Snorkel's label conflict).

    Examples
    --------
    >>> label_conflict([[0, 0], [0, -1], [1, 0], [-1, -1]])
    0.25
    """
    return LFAnalysis(L).label_conflict()


def lf_empirical_probs(L: Any, y: Any, cardinality: int | None = None) -> npt.NDArray[np.float64]:
    """P(vote | gold class) per LF on the dev rows, shape (n_lfs, C + 1, C); see :meth:`LFAnalysis.lf_empirical_probs`.

    Examples
    --------
    >>> lf_empirical_probs([[0], [0], [1], [-1]], [0, 1, 1, 1])[0].round(3).tolist()  # [vote + 1, gold class]
    [[0.0, 0.333], [1.0, 0.333], [0.0, 0.333]]
    """
    return LFAnalysis(L).lf_empirical_probs(y, cardinality)


# --------------------------------------------------------------------------------------------------
# The summary table
# --------------------------------------------------------------------------------------------------


def lf_summary(
    L: Any,
    L_extended: Any | None = None,
    names: Sequence[Any] | None = None,
    y: Any | None = None,
    model: HasAccuracies | None = None,
    class_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row of diagnostics per LF: coverage, extension lift, overlaps, conflicts and accuracies.

    A shortcut for ``LFAnalysis(L, names).lf_summary(y, L_extended=..., model=..., class_names=...)``.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        The LFs' own votes (class indices, ``ABSTAIN`` = -1).
    L_extended : array-like of shape (n_rows, n_lfs), optional
        The same votes after Epoxy's extension to nearby rows.
    names : sequence of str or LF, optional
        Unique LF names, or the LFs themselves (their ``name`` is used): the index of the result; default
        ``"lf_0"``, ``"lf_1"``, ...  Anything else (e.g. a dict) is refused rather than shown as its repr.
    y : array-like of shape (n_rows,), optional
        Gold labels with ``ABSTAIN`` for unlabeled rows; adds the dev-set columns.
    model : object with ``accuracies_``, optional
        A fitted label model (e.g. ``TripletLabelModel``) whose ``accuracies_`` holds each LF's
        accuracy *when it votes*.  Pass the model fitted on the matrix you are inspecting
        (usually ``L_extended``); its vector must have one entry per LF.
    class_names : sequence of str, optional
        Names of classes ``0..C-1``: the ``polarity`` column then lists names instead of indices,
        and votes outside ``0..C-1`` are rejected.

    Returns
    -------
    pandas.DataFrame
        Indexed by LF name (index name ``"lf"``), with columns, in order:

        - ``polarity``: list of classes the LF votes (from ``L``; extension never adds a class).
        - ``coverage``: fraction of rows ``L`` votes on.
        - ``extended_coverage``, ``coverage_lift`` (= extended - coverage): only with ``L_extended``.
        - ``overlaps``, ``conflicts``: fractions of rows, computed on ``L_extended`` when it is
          given (that is the matrix the label model sees), else on ``L``.
        - ``overlaps_normalized``, ``conflicts_normalized``: the same as fractions of the rows the LF votes on
          (NaN for an LF that never votes).
        - ``estimated_accuracy``: only with ``model``.
        - ``correct``, ``incorrect``, ``empirical_accuracy``: only with ``y``, on the LF's own votes.
        - ``extended_correct``, ``extended_incorrect``, ``extended_empirical_accuracy``: with ``y``
          and ``L_extended``, on the extended votes.

        Empirical accuracies are NaN where the LF never votes on a dev row (unknown).

    Raises
    ------
    ValueError
        If ``L_extended``, ``names``, ``y`` or ``model.accuracies_`` do not match ``L``'s shape,
        or if a matrix is not a valid label matrix.

    Examples
    --------
    >>> L = [[0, -1], [1, 1], [-1, -1]]
    >>> summary = lf_summary(L, L_extended=[[0, 1], [1, 1], [0, -1]], names=["a", "b"], y=[0, 1, -1])
    >>> summary[["polarity", "coverage_lift", "conflicts", "extended_correct"]].round(3).to_dict("index")
    {'a': {'polarity': [0, 1], 'coverage_lift': 0.333, 'conflicts': 0.333, 'extended_correct': 2}, \
'b': {'polarity': [1], 'coverage_lift': 0.333, 'conflicts': 0.333, 'extended_correct': 1}}
    """
    cardinality = None if class_names is None else len(class_names)
    analysis = LFAnalysis._named(L, names, cardinality, "The label matrix", "names")
    return analysis.lf_summary(y, L_extended=L_extended, model=model, class_names=class_names)


def _count_columns(
    polarities: list[list[Any]],
    own_votes: npt.NDArray[np.int64],
    n_rows: int,
    seen: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
    *,
    extended: bool,
    class_names: Sequence[str] | None,
) -> dict[str, Any]:
    """The count columns of :func:`lf_summary`, from per-LF row counts.

    ``own_votes`` counts each LF's own votes; ``seen`` holds (votes, overlaps, conflicts) of the matrix the
    overlaps are read on (the extended one when ``extended``).
    """
    if class_names is not None:
        polarities = [[class_names[c] for c in classes] for classes in polarities]
    votes, overlaps, conflicts = seen
    columns: dict[str, Any] = {"polarity": polarities, "coverage": own_votes / n_rows}
    if extended:
        columns["extended_coverage"] = votes / n_rows
        columns["coverage_lift"] = columns["extended_coverage"] - columns["coverage"]
    columns["overlaps"] = overlaps / n_rows
    columns["conflicts"] = conflicts / n_rows
    # Of the rows the LF votes on; an LF that never votes has no share to speak of (NaN, not 0).
    columns["overlaps_normalized"] = _accuracy(overlaps, votes - overlaps)
    columns["conflicts_normalized"] = _accuracy(conflicts, votes - conflicts)
    return columns


def _model_accuracies(model: HasAccuracies, n_lfs: int) -> npt.NDArray[np.float64]:
    """``model.accuracies_`` checked against the number of LFs (the ``estimated_accuracy`` column)."""
    accuracies = getattr(model, "accuracies_", None)
    if accuracies is None:
        raise ValueError("model has no accuracies_: fit the label model before summarising.")
    accuracies = np.asarray(accuracies, dtype=np.float64).ravel()
    if accuracies.shape[0] != n_lfs:
        raise ValueError(
            f"model.accuracies_ has {accuracies.shape[0]} entries but there are {n_lfs} LFs; "
            "refit the label model on the current LF set."
        )
    return accuracies


def lf_summary_from_statistics(
    own: VoteStatistics,
    extended: VoteStatistics,
    names: Sequence[str],
    model: HasAccuracies | None = None,
    class_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`lf_summary` of ``L`` and ``L_extended`` (without ``y``) from their counts, without reading them.

    The interactive session counts the extended matrix while extending it
    (:func:`~epoxy_core.model.statistics.extend_and_count`) and ``L`` once per LF set, so a threshold change
    builds the summary from integers.  The table is the same as ``lf_summary(L, L_extended, names, model=model,
    class_names=class_names)``.

    Parameters
    ----------
    own, extended : VoteStatistics
        ``vote_statistics(L, C)`` and ``vote_statistics(L_extended, C)`` (same shape and cardinality).
    names : sequence of str
        Unique LF names.
    model, class_names
        As for :func:`lf_summary`.

    Examples
    --------
    >>> from epoxy_core.model.statistics import vote_statistics
    >>> L, L_ext = np.array([[0, -1], [1, 1], [-1, -1]]), np.array([[0, 1], [1, 1], [0, -1]])
    >>> fast = lf_summary_from_statistics(vote_statistics(L, 2), vote_statistics(L_ext, 2), ["a", "b"])
    >>> fast.equals(lf_summary(L, L_extended=L_ext, names=["a", "b"]))
    True
    """
    shapes = {(s.n_rows, s.n_lfs, s.cardinality) for s in (own, extended)}
    if len(shapes) != 1:
        raise ValueError(f"own and extended statistics must count the same shape; got {sorted(shapes)}.")
    if own.n_rows == 0:
        raise ValueError("The label matrix has no rows; fractions of rows are undefined. Load a dataset first.")
    if class_names is not None and len(class_names) != own.cardinality:
        raise ValueError(f"{len(class_names)} class names for {own.cardinality} classes.")
    lf_names = _lf_names(names, own.n_lfs, what="names")
    polarities = [np.flatnonzero(row).tolist() for row in own.counts]
    columns = _count_columns(
        polarities,
        own.counts.sum(axis=1),
        own.n_rows,
        (extended.counts.sum(axis=1), extended.overlaps, extended.conflicts),
        extended=True,
        class_names=class_names,
    )
    if model is not None:
        columns["estimated_accuracy"] = _model_accuracies(model, own.n_lfs)
    return pd.DataFrame(columns, index=pd.Index(lf_names, name="lf"))


# --------------------------------------------------------------------------------------------------
# What extension would add to one LF
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtensionPreview:
    """What extending one LF at one threshold adds: rows, coverage, dev accuracy, and sample rows.

    Dev figures count rows with a gold label; accuracies are NaN where there is no such row (unknown).
    """

    threshold: float
    n_rows: int
    own_rows: int
    """Rows the LF votes on itself."""
    added_rows: int
    """Rows the LF abstains on that extension labels ("N more rows")."""
    coverage: float
    extended_coverage: float
    coverage_lift: float
    """extended_coverage - coverage ("+x% coverage")."""
    correct: int
    incorrect: int
    accuracy: float
    """Dev accuracy of the LF's own votes."""
    added_correct: int
    added_incorrect: int
    added_accuracy: float
    """Dev accuracy of the votes extension adds (the figure that says whether the threshold is safe)."""
    extended_correct: int
    extended_incorrect: int
    extended_accuracy: float
    """Dev accuracy of all the LF's votes after extension (own and added)."""
    samples: pd.DataFrame
    """A few added rows: ``row``, ``vote``, ``nearest_voter``, ``similarity`` (and ``text``, ``voter_text``
    with texts, ``dev_label`` with y), spread over the similarity range, most similar first."""
    exact: bool
    """False when the nearest voters are approximate (``NearestVoters.exact``)."""


def _one_column(values: Any, n: int | None, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{what} must hold one LF's values, shape (n_rows,) or (n_rows, 1); got {array.shape}. "
            "Pick the LF's column first (NearestVoters.column(j))."
        )
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{what} has {array.shape[0]} rows but the LF's votes have {n}.")
    return array


def _preview_inputs(
    votes: Any, nearest: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """One LF's votes and nearest voters as 1-D arrays, checked against each other."""
    own = check_labels(_one_column(votes, None, "votes"))
    n = own.shape[0]
    for attribute in ("index", "similarity", "vote"):
        if not hasattr(nearest, attribute):
            raise ValueError(
                f"nearest must be a NearestVoters (with .index, .similarity, .vote); it has no .{attribute}."
            )
    index = _one_column(nearest.index, n, "nearest.index").astype(np.int64, copy=False)
    similarity = _one_column(nearest.similarity, n, "nearest.similarity")
    vote = _one_column(nearest.vote, n, "nearest.vote").astype(np.int64, copy=False)
    voted = own != ABSTAIN
    # NearestVoters marks the LF's own votes with similarity +inf: a mismatch means other votes.
    if not np.array_equal(np.isposinf(similarity), voted) or not np.array_equal(vote[voted], own[voted]):
        raise ValueError(
            "nearest was computed for other votes than these (the rows marked as the LF's own votes differ); "
            "recompute the nearest voters for this LF."
        )
    return own, index, similarity, vote


def _sample_spread(rows: npt.NDArray[np.intp], similarity: np.ndarray, n_samples: int) -> npt.NDArray[np.intp]:
    """Up to ``n_samples`` of ``rows``, evenly spread over their similarity order, most similar first."""
    if rows.size == 0 or n_samples <= 0:
        return np.empty(0, dtype=np.intp)
    order = rows[np.argsort(-similarity[rows], kind="stable")]
    picks = np.unique(np.linspace(0, order.size - 1, min(n_samples, order.size)).round().astype(np.intp))
    return order[picks]


def extension_preview(
    votes: Any,
    nearest: Any,
    threshold: float,
    *,
    y: Any | None = None,
    texts: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    n_samples: int = 5,
) -> ExtensionPreview:
    """What extending one LF at ``threshold`` adds: "N more rows (+x% coverage), dev accuracy a%", with samples.

    Parameters
    ----------
    votes : array-like of shape (n_rows,)
        The LF's own votes (class indices, ``ABSTAIN`` = -1).
    nearest : NearestVoters
        The LF's nearest voters (one column: ``nearest_voters(L, graph).column(j)``, or any object with
        1-D / one-column ``index``, ``similarity``, ``vote`` and optionally ``exact``), computed for ``votes``.
    threshold : float
        Similarity threshold of the extension; ``+inf`` extends nothing.
    y : array-like of shape (n_rows,), optional
        Gold labels (``ABSTAIN`` = unlabeled), for the dev accuracies and a ``dev_label`` column.
    texts : sequence, optional
        The rows' texts: the samples then show each added row beside its nearest voter.
    class_names : sequence of str, optional
        Class names for the samples' ``vote`` and ``dev_label`` columns (class indices otherwise).
    n_samples : int, default 5
        Added rows to show, spread evenly over their similarity range (the weakest ones included).

    Returns
    -------
    ExtensionPreview

    Raises
    ------
    ValueError
        If the inputs disagree in length, ``nearest`` holds several LFs or was computed for other votes,
        or ``threshold`` is NaN.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> nv = SimpleNamespace(index=np.array([0, 0, 0, 1]), vote=np.array([1, 1, 1, 1]),
    ...                      similarity=np.array([np.inf, np.inf, 0.9, 0.5], dtype=np.float32))
    >>> p = extension_preview([1, 1, -1, -1], nv, 0.8, y=[1, -1, 0, 1], texts=["a", "b", "c", "d"])
    >>> p.added_rows, p.coverage_lift, p.added_accuracy, p.samples[["row", "voter_text", "similarity"]].values.tolist()
    (1, 0.25, 0.0, [[2, 'a', 0.8999999761581421]])
    """
    own, index, similarity, vote = _preview_inputs(votes, nearest)
    threshold = float(threshold)
    if math.isnan(threshold):
        raise ValueError("threshold must be a number (use +inf to preview no extension), not NaN.")
    n = own.shape[0]
    if n == 0:
        raise ValueError("The LF's votes have no rows; fractions of rows are undefined.")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}.")
    if texts is not None and len(texts) != n:
        raise ValueError(f"texts has {len(texts)} entries but the LF's votes have {n} rows.")
    # float64 comparison, as in extension.extend: a threshold just above a float32 similarity stays above it.
    extended = np.where(similarity >= np.float64(threshold), vote, ABSTAIN)
    voted = own != ABSTAIN
    added = ~voted & (extended != ABSTAIN)

    def counts(mask: npt.NDArray[np.bool_]) -> tuple[int, int, float]:
        if y is None:
            return 0, 0, math.nan
        on_dev = mask & dev
        correct = int(np.count_nonzero(extended[on_dev] == labels[on_dev]))
        incorrect = int(np.count_nonzero(on_dev)) - correct
        return correct, incorrect, (correct / (correct + incorrect) if correct + incorrect else math.nan)

    labels = check_labels(y, n_rows=n) if y is not None else np.full(n, ABSTAIN, dtype=np.int64)
    dev = labels != ABSTAIN
    own_counts, added_counts, extended_counts = counts(voted), counts(added), counts(voted | added)

    picks = _sample_spread(np.flatnonzero(added), similarity, int(n_samples))

    def named(classes: np.ndarray) -> list[Any]:
        if class_names is None:
            return [None if c == ABSTAIN else int(c) for c in classes]
        return [None if c == ABSTAIN else class_names[int(c)] for c in classes]

    samples: dict[str, Any] = {"row": picks.astype(np.int64)}
    if texts is not None:
        samples["text"] = [texts[int(i)] for i in picks]
    samples["vote"] = named(extended[picks])
    samples["nearest_voter"] = index[picks]
    if texts is not None:
        samples["voter_text"] = [texts[int(i)] for i in index[picks]]
    samples["similarity"] = similarity[picks].astype(np.float64)
    if y is not None:
        samples["dev_label"] = named(labels[picks])
    coverage = float(np.count_nonzero(voted) / n)
    extended_coverage = float(np.count_nonzero(voted | added) / n)
    return ExtensionPreview(
        threshold=threshold,
        n_rows=n,
        own_rows=int(np.count_nonzero(voted)),
        added_rows=int(np.count_nonzero(added)),
        coverage=coverage,
        extended_coverage=extended_coverage,
        coverage_lift=extended_coverage - coverage,
        correct=own_counts[0],
        incorrect=own_counts[1],
        accuracy=own_counts[2],
        added_correct=added_counts[0],
        added_incorrect=added_counts[1],
        added_accuracy=added_counts[2],
        extended_correct=extended_counts[0],
        extended_incorrect=extended_counts[1],
        extended_accuracy=extended_counts[2],
        samples=pd.DataFrame(samples),
        exact=bool(getattr(nearest, "exact", True)),
    )


def extension_curve(votes: Any, nearest: Any, thresholds: Any, *, y: Any | None = None) -> pd.DataFrame:
    """Rows added and their dev accuracy at each of several thresholds (for a threshold chart).

    Parameters
    ----------
    votes, nearest, y
        As in :func:`extension_preview`.
    thresholds : array-like of float
        Thresholds to evaluate (any order; NaN refused).

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold``, ``added_rows``, ``coverage_lift``, ``added_correct``,
        ``added_incorrect``, ``added_accuracy`` (NaN without dev rows among the added ones).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> nv = SimpleNamespace(index=np.array([0, 0, 0]), vote=np.array([1, 1, 1]),
    ...                      similarity=np.array([np.inf, 0.9, 0.6], dtype=np.float32))
    >>> curve = extension_curve([1, -1, -1], nv, [0.95, 0.8, 0.5], y=[1, 1, 0])
    >>> curve[["added_rows", "added_accuracy"]].values.tolist()
    [[0.0, nan], [1.0, 1.0], [2.0, 0.5]]
    """
    own, _, similarity, vote = _preview_inputs(votes, nearest)
    limits = np.asarray(thresholds, dtype=np.float64).ravel()
    if np.isnan(limits).any():
        raise ValueError("thresholds must be numbers, not NaN.")
    n = own.shape[0]
    candidates = np.flatnonzero((own == ABSTAIN) & (vote != ABSTAIN))
    order = candidates[np.argsort(-similarity[candidates].astype(np.float64), kind="stable")]
    sims = similarity[order].astype(np.float64)
    # Rows with similarity >= t are a prefix of the descending order: count them with one search per t.
    added = np.searchsorted(-sims, -limits, side="right")
    labels = check_labels(y, n_rows=n) if y is not None else np.full(n, ABSTAIN, dtype=np.int64)
    on_dev = labels[order] != ABSTAIN
    right = np.concatenate([[0], np.cumsum(on_dev & (vote[order] == labels[order]))])[added]
    seen = np.concatenate([[0], np.cumsum(on_dev)])[added]
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(seen > 0, right / np.maximum(seen, 1), np.nan)
    return pd.DataFrame(
        {
            "threshold": limits,
            "added_rows": added.astype(np.int64),
            "coverage_lift": added / max(n, 1),
            "added_correct": right.astype(np.int64),
            "added_incorrect": (seen - right).astype(np.int64),
            "added_accuracy": accuracy,
        }
    )

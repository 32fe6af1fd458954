"""Per-LF diagnostics: coverage, extension lift, overlaps, conflicts, accuracies (Snorkel's ``LFAnalysis``).

Every statistic here is a fraction of *all* rows (as in Snorkel) unless it is a count on the dev set
(rows whose gold label is not ``ABSTAIN``).  Definitions, for LF ``j``:

- **coverage**: rows where ``j`` votes.
- **overlaps**: rows where ``j`` votes and at least one other LF votes.
- **conflicts**: rows where ``j`` votes and some other LF votes a different class.  A row's voting LFs
  all conflict as soon as the row holds two distinct classes: whichever class ``j`` voted, another
  LF voted something else.  That is how conflicts are counted without a per-LF pass over rows.
- **correct** / **incorrect**: dev rows where ``j`` votes the gold class / another class.

Speed: :func:`lf_summary` runs on every threshold change in the app, on up to 1M rows x 20 LFs.
Column reductions of a row-major ``(rows, LFs)`` int8 matrix are slow in numpy (each of the ~20 lanes
is a strided 1M-element walk, ~30 ms per statistic), so the matrix is transposed once to an LF-major
``(LFs, rows)`` copy (~12 ms at 1M x 20), after which every per-LF count is a contiguous
``count_nonzero`` and every per-row statistic is a fast axis-0 reduction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from epoxy_core.labels import ABSTAIN, check_label_matrix, check_labels

__all__ = [
    "HasAccuracies",
    "label_coverage",
    "lf_conflicts",
    "lf_correct",
    "lf_coverages",
    "lf_empirical_accuracies",
    "lf_incorrect",
    "lf_overlaps",
    "lf_polarities",
    "lf_summary",
]

_MAX_CLASS_PASSES = 8
"""Above this span of classes, :meth:`_Votes.polarities` histograms each LF instead of scanning per class."""


class HasAccuracies(Protocol):
    """Anything with a fitted per-LF accuracy vector, such as ``TripletLabelModel``."""

    accuracies_: npt.NDArray[np.floating[Any]]


# --------------------------------------------------------------------------------------------------
# LF-major layout and the internal statistics every public function shares
# --------------------------------------------------------------------------------------------------


class _Votes:
    """A label matrix transposed to LF-major layout, with its vote mask.

    Built once per matrix so that :func:`lf_summary` pays for the transpose only once.
    """

    def __init__(self, L: Any, cardinality: int | None = None, what: str = "The label matrix") -> None:
        try:
            matrix = check_label_matrix(L, cardinality=cardinality)
        except ValueError as error:
            if what == "The label matrix":
                raise
            raise ValueError(f"{what}: {error}") from None
        if matrix.shape[0] == 0:
            raise ValueError(f"{what} has no rows; fractions of rows are undefined. Load a dataset first.")
        self.shape: tuple[int, int] = matrix.shape
        self.matrix = matrix
        # A no-op when the caller already holds a Fortran-ordered matrix.
        self.lf_major = np.ascontiguousarray(matrix.T)
        self.voted = self.lf_major != ABSTAIN

    @property
    def n_rows(self) -> int:
        return self.shape[0]

    @property
    def n_lfs(self) -> int:
        return self.shape[1]

    def vote_counts(self) -> npt.NDArray[np.int64]:
        """Number of rows each LF votes on."""
        return self.masked_vote_counts(None)

    def masked_vote_counts(self, rows: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.int64]:
        """Number of rows in ``rows`` (all rows if None) that each LF votes on."""
        counts = np.zeros(self.n_lfs, dtype=np.int64)
        buffer = np.empty(self.n_rows, dtype=bool)
        # A loop over LFs (~20), never over rows: each step is one contiguous SIMD pass.
        for j in range(self.n_lfs):
            if rows is None:
                counts[j] = np.count_nonzero(self.voted[j])
            else:
                np.logical_and(self.voted[j], rows, out=buffer)
                counts[j] = np.count_nonzero(buffer)
        return counts

    def rows_with_several_votes(self) -> npt.NDArray[np.bool_]:
        """Rows where at least two LFs vote."""
        if self.n_lfs < 2:
            return np.zeros(self.n_rows, dtype=bool)
        # uint8 accumulates without a cast (fast) but would wrap past 255 LFs.
        dtype = np.uint8 if self.n_lfs < 256 else np.int32
        return self.voted.view(np.uint8).sum(axis=0, dtype=dtype) >= 2

    def rows_with_disagreement(self) -> npt.NDArray[np.bool_]:
        """Rows where LFs vote at least two different classes."""
        if self.n_lfs < 2:
            return np.zeros(self.n_rows, dtype=bool)
        unsigned = self.lf_major.view(np.dtype(f"u{self.lf_major.itemsize}"))
        # Both extremes skip abstains: ABSTAIN (-1) is the largest value when read as unsigned, so it is
        # never the unsigned minimum, and the smallest when signed, so never the signed maximum.  A row
        # without votes has min = max = ABSTAIN: no conflict.
        highest = self.lf_major.max(axis=0).view(unsigned.dtype)
        return unsigned.min(axis=0) < highest

    def polarities(self) -> list[list[int]]:
        """Sorted classes each LF votes."""
        if self.n_lfs == 0:
            return []
        unsigned = self.lf_major.view(np.dtype(f"u{self.lf_major.itemsize}"))
        highest = self.lf_major.max(axis=1).astype(np.int64)
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
                for j in lfs[(self.lf_major[lfs] == c).any(axis=1)]:
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


def _dev_counts(votes: _Votes, y: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per-LF (correct, incorrect) counts on rows with a gold label."""
    labels = check_labels(y, n_rows=votes.n_rows)
    dev = labels != ABSTAIN
    # The dev set is usually tiny (~100 rows): gathering it first keeps this step negligible.
    dev_votes = votes.matrix[dev]
    voted = dev_votes != ABSTAIN
    hits = dev_votes == labels[dev, None]
    correct = hits.sum(axis=0, dtype=np.int64)
    incorrect = voted.sum(axis=0, dtype=np.int64) - correct
    return correct, incorrect


def _accuracy(correct: npt.NDArray[np.int64], incorrect: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """correct / (correct + incorrect), NaN where the denominator is 0."""
    total = correct + incorrect
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / np.maximum(total, 1), np.nan)


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
    return _Votes(L).polarities()


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
    votes = _Votes(L)
    return votes.vote_counts() / votes.n_rows


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
    votes = _Votes(L)
    return votes.masked_vote_counts(votes.rows_with_several_votes()) / votes.n_rows


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
    votes = _Votes(L)
    return votes.masked_vote_counts(votes.rows_with_disagreement()) / votes.n_rows


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
    return _dev_counts(_Votes(L), y)[0]


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
    return _dev_counts(_Votes(L), y)[1]


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
    correct, incorrect = _dev_counts(_Votes(L), y)
    return _accuracy(correct, incorrect)


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
    votes = _Votes(L)
    if votes.n_lfs == 0:
        return 0.0
    # As unsigned, ABSTAIN is the largest value: a row's minimum is ABSTAIN only if nobody voted.
    unsigned = votes.lf_major.view(np.dtype(f"u{votes.lf_major.itemsize}"))
    abstain = np.array(ABSTAIN, dtype=votes.lf_major.dtype).view(unsigned.dtype)
    return float(np.count_nonzero(unsigned.min(axis=0) != abstain) / votes.n_rows)


# --------------------------------------------------------------------------------------------------
# The summary table
# --------------------------------------------------------------------------------------------------


def _lf_names(names: Sequence[str] | None, n_lfs: int) -> list[str]:
    if names is None:
        return [f"lf_{j}" for j in range(n_lfs)]
    names = [str(name) for name in names]
    if len(names) != n_lfs:
        raise ValueError(f"names has {len(names)} entries but the label matrix has {n_lfs} LF columns.")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"LF names must be unique (they index the summary); repeated: {duplicates}.")
    return names


def lf_summary(
    L: Any,
    L_extended: Any | None = None,
    names: Sequence[str] | None = None,
    y: Any | None = None,
    model: HasAccuracies | None = None,
    class_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row of diagnostics per LF: coverage, extension lift, overlaps, conflicts and accuracies.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        The LFs' own votes (class indices, ``ABSTAIN`` = -1).
    L_extended : array-like of shape (n_rows, n_lfs), optional
        The same votes after Epoxy's extension to nearby rows.
    names : sequence of str, optional
        Unique LF names, the index of the result; default ``"lf_0"``, ``"lf_1"``, ...
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
    votes = _Votes(L, cardinality=cardinality)
    extended = None
    if L_extended is not None:
        extended = _Votes(L_extended, cardinality=cardinality, what="L_extended")
        if extended.shape != votes.shape:
            raise ValueError(
                f"L has shape {votes.shape} but L_extended has shape {extended.shape}; "
                "both must cover the same rows and LFs in the same order."
            )
    index = pd.Index(_lf_names(names, votes.n_lfs), name="lf")

    polarities: list[list[Any]] = votes.polarities()
    if class_names is not None:
        polarities = [[class_names[c] for c in classes] for classes in polarities]
    columns: dict[str, Any] = {"polarity": polarities}
    n = votes.n_rows
    columns["coverage"] = votes.vote_counts() / n
    if extended is not None:
        columns["extended_coverage"] = extended.vote_counts() / n
        columns["coverage_lift"] = columns["extended_coverage"] - columns["coverage"]
    seen = extended if extended is not None else votes
    columns["overlaps"] = seen.masked_vote_counts(seen.rows_with_several_votes()) / n
    columns["conflicts"] = seen.masked_vote_counts(seen.rows_with_disagreement()) / n

    if model is not None:
        accuracies = getattr(model, "accuracies_", None)
        if accuracies is None:
            raise ValueError("model has no accuracies_: fit the label model before summarising.")
        accuracies = np.asarray(accuracies, dtype=np.float64).ravel()
        if accuracies.shape[0] != votes.n_lfs:
            raise ValueError(
                f"model.accuracies_ has {accuracies.shape[0]} entries but there are {votes.n_lfs} LFs; "
                "refit the label model on the current LF set."
            )
        columns["estimated_accuracy"] = accuracies

    if y is not None:
        if np.ndim(y) != 1 or len(y) != n:
            raise ValueError(f"y has shape {np.shape(y)} but the label matrix has {n} rows; pass one label per row.")
        correct, incorrect = _dev_counts(votes, y)
        columns.update(correct=correct, incorrect=incorrect, empirical_accuracy=_accuracy(correct, incorrect))
        if extended is not None:
            correct, incorrect = _dev_counts(extended, y)
            columns.update(
                extended_correct=correct,
                extended_incorrect=incorrect,
                extended_empirical_accuracy=_accuracy(correct, incorrect),
            )
    return pd.DataFrame(columns, index=index)

"""What a label model needs to know about a label matrix, in one pass: vote counts and co-vote counts.

The triplet label model (:class:`~epoxy_core.model.triplet.TripletLabelModel`) estimates LF accuracies from
*sufficient statistics* of a label matrix: how often each LF votes each class, and how often two (LF, class)
votes fall on the same row (``class_balance="estimate"`` still reads a sample of the rows).
:class:`VoteStatistics` holds them, with what the LF summary needs beside them (rows where an LF votes with
another LF, rows where it conflicts with one, rows with a vote), so the interactive loop reads the label
matrix once per threshold change:

- :func:`vote_statistics` counts a label matrix;
- :func:`extend_and_count` extends one (Epoxy's threshold comparison on the nearest voters' similarities,
  LF-major) and counts the result, writing the extended matrix as it goes.  A caller that extends the same
  votes at many thresholds (the interactive session) packs them once with :func:`vote_bitsets` and passes
  the bitsets along: then a threshold change compares and packs only the similarities.

Both run compiled kernels (numba, :mod:`epoxy_core.model._kernels`) from :data:`COMPILED_FROM_ROWS` rows and
plain numpy below, with exactly the same integer results.  :meth:`TripletLabelModel.fit
<epoxy_core.model.triplet.TripletLabelModel.fit>` counts with :func:`vote_statistics`; the interactive session
calls :func:`extend_and_count` and hands the counts to ``TripletLabelModel.fit_counted`` and
:func:`~epoxy_core.analysis.lf_summary_from_statistics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN, LabelMatrix

__all__ = [
    "COMPILED_FROM_ROWS",
    "VoteStatistics",
    "extend_and_count",
    "vote_bitsets",
    "vote_statistics",
    "warm_up_kernels",
]

COMPILED_FROM_ROWS = 5_000
"""From this many rows the counts and the posterior run compiled (numba).

At 10,000 rows x 20 LFs extending and counting took 5.7 ms in numpy against ~0.3 ms compiled (one 64-row word
of bits per compare-and-pack); below this size numpy takes a few milliseconds, and a process that never sees
a bigger matrix spares numba's import (~1 s) and its first compilation.
"""


@dataclass(frozen=True)
class VoteStatistics:
    """Counts of one label matrix of ``n_rows`` rows and ``n_lfs`` LFs over ``cardinality`` classes.

    Feature ``f = j * cardinality + c`` is "LF j votes class c".

    Attributes
    ----------
    n_rows, n_lfs, cardinality : int
    counts : ndarray of int64, shape (n_lfs, cardinality)
        Rows on which each LF votes each class.
    co_votes : ndarray of int64, shape (n_lfs * cardinality, n_lfs * cardinality)
        Rows on which two features both hold (symmetric; the diagonal is ``counts``).
    overlaps : ndarray of int64, shape (n_lfs,)
        Rows on which the LF votes and at least one other LF votes too.
    conflicts : ndarray of int64, shape (n_lfs,)
        Rows on which the LF votes and the row holds votes for two different classes.
    n_covered : int
        Rows with at least one vote.
    """

    n_rows: int
    n_lfs: int
    cardinality: int
    counts: npt.NDArray[np.int64]
    co_votes: npt.NDArray[np.int64]
    overlaps: npt.NDArray[np.int64]
    conflicts: npt.NDArray[np.int64]
    n_covered: int

    @property
    def coverages(self) -> npt.NDArray[np.float64]:
        """Share of rows each LF votes on."""
        return self.counts.sum(axis=1) / max(self.n_rows, 1)


def _numpy_counts(L: np.ndarray, cardinality: int) -> VoteStatistics:
    """The counts of a (n_rows, n_lfs) matrix in plain numpy (any memory layout)."""
    n, m = L.shape
    onehot = L[:, :, None] == np.arange(cardinality, dtype=L.dtype)[None, None, :]  # (n, m, C)
    # Float32 products are exact for counts below 2**24 rows.
    V = onehot.reshape(n, m * cardinality).astype(np.float32 if n < 2**24 else np.float64)
    co = np.rint(V.T @ V).astype(np.int64)
    counts = onehot.sum(axis=0, dtype=np.int64)
    voted = L != ABSTAIN
    n_votes = voted.sum(axis=1)
    unsigned = L.view(np.dtype(f"u{L.itemsize}"))
    # As unsigned, ABSTAIN is the largest value (never the minimum of a row with a vote); signed, the smallest.
    disagree = unsigned.min(axis=1).astype(np.int64) < L.max(axis=1).astype(np.int64)
    overlaps = (voted & (n_votes >= 2)[:, None]).sum(axis=0, dtype=np.int64)
    conflicts = (voted & disagree[:, None]).sum(axis=0, dtype=np.int64)
    return VoteStatistics(n, m, cardinality, counts, co, overlaps, conflicts, int(np.count_nonzero(n_votes)))


def _bit_counts(bits: np.ndarray, n: int, m: int, cardinality: int) -> VoteStatistics:
    """The counts from per-feature bitsets (:mod:`epoxy_core.model._kernels`)."""
    from epoxy_core.model._kernels import kernel

    # Feature totals first: co-votes are counted only between features that occur (most LFs vote one class).
    totals = np.bitwise_count(bits).sum(axis=1, dtype=np.int64)
    present = np.flatnonzero(totals).astype(np.int64)
    a, b = np.triu_indices(present.size)
    upper = kernel("co_votes")(bits, present[a], present[b])
    co = upper + np.triu(upper, k=1).T
    overlaps, conflicts, covered = kernel("row_counts")(bits, m, cardinality)
    return VoteStatistics(n, m, cardinality, totals.reshape(m, cardinality), co, overlaps, conflicts, int(covered))


def vote_statistics(L: LabelMatrix, cardinality: int) -> VoteStatistics:
    """Count a validated label matrix (``ABSTAIN`` = -1, classes ``0..cardinality-1``), in any memory layout.

    Examples
    --------
    >>> stats = vote_statistics(np.array([[0, 0, -1], [0, 1, 1], [-1, -1, -1]], dtype=np.int8), 2)
    >>> stats.counts.tolist(), stats.overlaps.tolist(), stats.conflicts.tolist(), stats.n_covered
    ([[2, 0], [1, 1], [0, 1]], [2, 2, 1], [1, 1, 1], 2)
    >>> int(stats.co_votes[0, 2])  # LF 0 voting 0 and LF 1 voting 0 on the same row
    1
    """
    n, m = L.shape
    if n < COMPILED_FROM_ROWS or m == 0:
        return _numpy_counts(L, cardinality)
    from epoxy_core.model._kernels import kernel

    return _bit_counts(kernel("feature_bits")(L.T, cardinality), n, m, cardinality)


def _float32_thresholds(thresholds: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """The smallest float32 at or above each threshold: for a float32 ``s``, ``s >= t`` iff ``s >= t32``.

    So comparing float32 similarities with float32 thresholds gives the float64 comparison of
    :func:`epoxy_core.extension.extend` exactly, without promoting the similarities.

    >>> t = np.array([0.1, np.inf, -np.inf]); _float32_thresholds(t)[0] >= 0.1, _float32_thresholds(t)[1:].tolist()
    (np.True_, [inf, -inf])
    """
    low = thresholds.astype(np.float32)
    below = low.astype(np.float64) < thresholds
    return np.where(below, np.nextafter(low, np.float32(np.inf)), low).astype(np.float32)


def vote_bitsets(vote: LabelMatrix, cardinality: int) -> npt.NDArray[np.uint64] | None:
    """The (LF, class) bitsets of an LF-major vote matrix, for :func:`extend_and_count` (``vote_bits``).

    Row ``j * cardinality + c`` has bit ``r`` of word ``w`` set where row ``64 w + r`` votes ``c`` for LF ``j``.
    None below :data:`COMPILED_FROM_ROWS` rows, where counting runs in numpy and needs none.
    """
    m, n = vote.shape
    if n < COMPILED_FROM_ROWS or m == 0:
        return None
    from epoxy_core.model._kernels import kernel

    return kernel("feature_bits")(vote, cardinality)


def extend_and_count(
    similarity: npt.NDArray[np.float32],
    vote: LabelMatrix,
    thresholds: npt.NDArray[np.float64],
    cardinality: int,
    *,
    vote_bits: npt.NDArray[np.uint64] | None = None,
) -> tuple[LabelMatrix, VoteStatistics]:
    """Epoxy's extension at per-LF ``thresholds`` and the :class:`VoteStatistics` of the result.

    Parameters
    ----------
    similarity, vote : ndarrays of shape (n_lfs, n_rows)
        The nearest voters' similarities and votes, **LF-major** (``NearestVoters.similarity.T`` of an
        F-ordered matrix); own votes carry similarity ``+inf`` and are kept at any threshold.
    thresholds : ndarray of float64, shape (n_lfs,)
        Compared as :func:`epoxy_core.extension.extend` compares them (float64), so the extended matrix is the
        same cell for cell.
    cardinality : int
    vote_bits : ndarray of uint64, optional
        ``vote_bitsets(vote, cardinality)``, when the caller keeps it between threshold changes (computed
        here otherwise).

    Returns
    -------
    L_extended : ndarray of shape (n_lfs, n_rows), LF-major, the dtype of ``vote``
        ``L_extended.T`` is the (n_rows, n_lfs) extended label matrix.
    statistics : VoteStatistics
    """
    m, n = vote.shape
    limits = _float32_thresholds(np.asarray(thresholds, dtype=np.float64))
    if n < COMPILED_FROM_ROWS or m == 0:
        L_ext = np.where(similarity >= limits[:, None], vote, np.array(ABSTAIN, dtype=vote.dtype))
        return L_ext, _numpy_counts(L_ext.T, cardinality)
    from epoxy_core.model._kernels import kernel

    if vote_bits is None:
        vote_bits = vote_bitsets(vote, cardinality)
    L_ext = np.empty((m, n), dtype=vote.dtype)
    bits = kernel("extend_bits")(similarity, vote, vote_bits, limits, L_ext, cardinality)
    return L_ext, _bit_counts(bits, n, m, cardinality)


def warm_up_kernels() -> None:
    """Import numba and compile (or load from its disk cache) the counting and posterior kernels.

    Large inputs need them on their first fit; an interactive session calls this in the background when it
    opens a table of at least :data:`COMPILED_FROM_ROWS` rows.
    """
    from epoxy_core.model._kernels import warm_up

    warm_up()

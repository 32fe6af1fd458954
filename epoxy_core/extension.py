"""Epoxy extension: let each labeling function vote on rows near the rows it already labels.

Where LF ``j`` abstains on row ``i``, extension copies the vote of the *most similar row on which LF j
voted*, provided that similarity is at least LF ``j``'s threshold.  The work splits in two, as in the
Epoxy reference implementation:

1. :func:`nearest_voters` (expensive, cached): for every LF and row, the nearest voted row, its
   similarity and its vote.  It depends only on the LF's votes and the k-NN graph, so it is recomputed
   only for LFs whose votes changed (:class:`Extender` does that bookkeeping).
2. :func:`extend` (cheap): compare the cached similarities with the thresholds.  Moving a threshold
   slider costs one vectorised comparison over the matrix.

The nearest voter is read from the k-NN graph when one of the row's ``k`` neighbours voted.  Sparse LFs
(a few percent coverage) often have no voter among the ``k`` neighbours; then an exact search over that
LF's voted rows answers instead, when the graph carries its embeddings.  That search is skipped for rows
whose ``k``-th neighbour is already less similar than ``min_similarity``: no voter outside the list can
be closer than the listed neighbours, so such a row cannot be extended at any threshold at or above
``min_similarity``.  Thresholds below ``min_similarity`` therefore see graph-only answers for those rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN, LabelMatrix, check_label_matrix
from epoxy_core.neighbors import prepare_embeddings, similarity_block, squared_norms

__all__ = [
    "Extender",
    "NearestVoters",
    "extend",
    "extend_new_rows",
    "nearest_voters",
    "nearest_voters_for_new_rows",
    "thresholds_array",
]

# Cells per block in the exact fallback search: a (rows x voters) float32 similarity block of 16M cells
# is 64 MB, small enough for a laptop and large enough for BLAS to run at full speed.
_FALLBACK_BLOCK_CELLS = 16 * 2**20


class GraphLike(Protocol):
    """What extension needs of a k-NN graph (see :class:`epoxy_core.neighbors.KNNGraph`)."""

    indices: np.ndarray
    similarities: np.ndarray
    metric: str
    embeddings: np.ndarray | None


@dataclass(frozen=True)
class NearestVoters:
    """Per LF and row: the nearest row on which the LF voted, how similar it is, and its vote.

    Rows on which the LF votes itself hold their own index, similarity ``+inf`` and their own vote, so
    that extension keeps every original vote at any threshold.  Rows with no voter found hold index -1,
    similarity ``-inf`` and ``ABSTAIN``.

    Attributes
    ----------
    index : ndarray of int64, shape (n_rows, n_lfs)
    similarity : ndarray of float32, shape (n_rows, n_lfs)
    vote : ndarray of int8/int16, shape (n_rows, n_lfs)
    """

    index: npt.NDArray[np.int64]
    similarity: npt.NDArray[np.float32]
    vote: LabelMatrix

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_lfs)``."""
        return self.vote.shape  # type: ignore[return-value]

    def column(self, j: int) -> NearestVoters:
        """The nearest voters of LF ``j`` alone, as a one-column :class:`NearestVoters`."""
        return NearestVoters(self.index[:, [j]], self.similarity[:, [j]], self.vote[:, [j]])

    @staticmethod
    def hstack(parts: list[NearestVoters]) -> NearestVoters:
        """Join per-LF results column-wise (the app caches one column per LF definition)."""
        if not parts:
            raise ValueError("hstack needs at least one NearestVoters part.")
        return NearestVoters(
            np.hstack([p.index for p in parts]),
            np.hstack([p.similarity for p in parts]),
            np.hstack([p.vote for p in parts]),
        )


def _nearest_voter_column(
    votes: np.ndarray,
    graph: GraphLike,
    min_similarity: float | None,
    exact_fallback: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest voted row for one LF's vote column; see :func:`nearest_voters`."""
    n = votes.shape[0]
    index = np.full(n, -1, dtype=np.int64)
    similarity = np.full(n, -np.inf, dtype=np.float32)
    vote = np.full(n, ABSTAIN, dtype=votes.dtype)

    voted = votes != ABSTAIN
    voted_rows = np.flatnonzero(voted)
    if voted_rows.size == 0:  # an LF that votes nowhere never extends
        return index, similarity, vote
    index[voted_rows] = voted_rows
    similarity[voted_rows] = np.inf
    vote[voted_rows] = votes[voted_rows]

    if voted_rows.size == n:
        return index, similarity, vote

    k = graph.indices.shape[1]
    found = np.zeros(n, dtype=bool)
    if k:
        # Gather over the whole graph rather than the abstaining rows: copying their int64 neighbour
        # lists would cost far more than the bool gather (240 MB at 1M rows x 30 neighbours).
        neighbour_voted = voted[graph.indices]
        # Neighbours are listed most similar first, so the first voted one is the nearest voter;
        # argmax on booleans returns exactly that first True.
        first = neighbour_voted.argmax(axis=1)
        found = neighbour_voted[np.arange(n), first] & ~voted
        rows = np.flatnonzero(found)
        index[rows] = graph.indices[rows, first[rows]]
        similarity[rows] = graph.similarities[rows, first[rows]]
        vote[rows] = votes[index[rows]]

    embeddings = getattr(graph, "embeddings", None)
    if not exact_fallback or embeddings is None:
        return index, similarity, vote
    missing = np.flatnonzero(~voted & ~found)
    if k and min_similarity is not None:
        # A voter outside the k-list is at most as similar as the k-th neighbour.
        missing = missing[graph.similarities[missing, k - 1] >= min_similarity]
    if missing.size == 0:
        return index, similarity, vote
    # The voters are prepared once per LF and one buffer serves every block.
    voter_vectors = prepare_embeddings(embeddings[voted_rows], graph.metric)
    voter_norms = squared_norms(voter_vectors, graph.metric)
    block_rows = int(min(missing.size, max(1, _FALLBACK_BLOCK_CELLS // voted_rows.size)))
    buffer = np.empty((block_rows, voted_rows.size), dtype=np.float32)
    for start in range(0, missing.size, block_rows):
        block = missing[start : start + block_rows]
        queries = prepare_embeddings(embeddings[block], graph.metric)
        sims = similarity_block(queries, voter_vectors, graph.metric, voter_norms, buffer[: block.size])
        best = sims.argmax(axis=1)
        index[block] = voted_rows[best]
        similarity[block] = sims[np.arange(block.size), best]
        vote[block] = votes[index[block]]
    return index, similarity, vote


def nearest_voters(
    L: Any,
    graph: GraphLike,
    min_similarity: float | None = None,
    exact_fallback: bool = True,
) -> NearestVoters:
    """For every LF and every row where it abstains, find the most similar row on which it voted.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (``ABSTAIN`` = -1).
    graph : KNNGraph
        k-NN graph over the same rows (neighbours sorted most similar first, self excluded).
    min_similarity : float, optional
        Lowest threshold for which the result must be exact.  Rows with no voter among their ``k``
        neighbours are searched exactly only if their ``k``-th neighbour is at least this similar
        (otherwise no voter can reach the threshold).  ``None`` searches every such row: exact for any
        threshold, slower for sparse LFs on large data.
    exact_fallback : bool, default True
        Search an LF's voted rows directly where the graph lists no voter.  Needs ``graph.embeddings``;
        without them the answer is graph-only (a row with no voter among its neighbours never extends).

    Returns
    -------
    NearestVoters
        Arrays of shape (n_rows, n_lfs).  Ties in similarity go to the neighbour listed first by the
        graph, or to the lowest row index in the exact search.

    Raises
    ------
    ValueError
        If ``L`` is not a valid label matrix or its row count differs from the graph's.
    """
    L = check_label_matrix(L)
    if graph.indices.shape[0] != L.shape[0]:
        raise ValueError(f"The label matrix has {L.shape[0]} rows but the graph has {graph.indices.shape[0]}.")
    n, m = L.shape
    index = np.empty((n, m), dtype=np.int64)
    similarity = np.empty((n, m), dtype=np.float32)
    vote = np.empty((n, m), dtype=L.dtype)
    for j in range(m):
        index[:, j], similarity[:, j], vote[:, j] = _nearest_voter_column(
            np.ascontiguousarray(L[:, j]), graph, min_similarity, exact_fallback
        )
    return NearestVoters(index, similarity, vote)


def thresholds_array(thresholds: float | Any, n_lfs: int) -> npt.NDArray[np.float64]:
    """Broadcast a scalar or per-LF threshold to a float64 vector of length ``n_lfs``.

    Kept in float64 so that a threshold just above a float32 similarity is not rounded onto it.

    ``+inf`` means "never extend"; NaN is refused.

    >>> thresholds_array(0.8, 3).tolist()
    [0.8, 0.8, 0.8]
    """
    values = np.asarray(thresholds, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(n_lfs, float(values))
    if values.shape != (n_lfs,):
        raise ValueError(f"Expected one threshold or {n_lfs} (one per LF); got shape {values.shape}.")
    if np.isnan(values).any():
        raise ValueError("Thresholds must be numbers (use +inf to switch extension off for an LF), not NaN.")
    return values


def extend(
    L: Any,
    graph: GraphLike | None = None,
    thresholds: float | Any = 0.8,
    nearest: NearestVoters | None = None,
    min_similarity: float | None = None,
) -> LabelMatrix:
    """Extend each LF to the rows where it abstains, from its nearest voted row within its threshold.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix (``ABSTAIN`` = -1).
    graph : KNNGraph, optional
        Needed unless ``nearest`` is given.
    thresholds : float or array-like of shape (n_lfs,), default 0.8
        Minimum similarity to copy a vote, one for all LFs or one per LF; ``+inf`` disables an LF's
        extension.  With cosine similarity, values between 0.5 and 0.95 are typical.
    nearest : NearestVoters, optional
        The result of :func:`nearest_voters` for this same ``L`` and graph.  Pass it to make a threshold
        change cost only a comparison.
    min_similarity : float, optional
        Passed to :func:`nearest_voters` when ``nearest`` is not given.

    Returns
    -------
    numpy.ndarray
        The extended label matrix, same shape and dtype as ``L``.  Every original vote is kept.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> graph = SimpleNamespace(indices=np.array([[1], [0], [1]]), embeddings=None, metric="cosine",
    ...                         similarities=np.array([[0.9], [0.9], [0.6]], dtype=np.float32))
    >>> extend([[1], [-1], [-1]], graph, thresholds=0.8).ravel().tolist()
    [1, 1, -1]
    """
    L = check_label_matrix(L)
    if nearest is None:
        if graph is None:
            raise ValueError("extend() needs either a graph or precomputed nearest voters.")
        nearest = nearest_voters(L, graph, min_similarity=min_similarity)
    if nearest.shape != L.shape:
        raise ValueError(f"The nearest voters have shape {nearest.shape} but the label matrix has {L.shape}.")
    limits = thresholds_array(thresholds, L.shape[1])
    # Own votes carry similarity +inf, so one comparison keeps them and adds the extended ones.
    return np.where(nearest.similarity >= limits, nearest.vote, np.array(ABSTAIN, dtype=L.dtype))


def nearest_voters_for_new_rows(
    L_support: Any,
    support_embeddings: Any,
    new_embeddings: Any,
    metric: str = "cosine",
) -> NearestVoters:
    """For rows that are not in the graph, the most similar *support* row on which each LF voted.

    This is Epoxy's path for validation and test rows: they are extended from the voters of the rows the
    LFs were developed on (the support set), never from each other.  The search is exact (blocked BLAS).

    Parameters
    ----------
    L_support : array-like of shape (n_support, n_lfs)
        The LFs' own votes on the support rows (``ABSTAIN`` = -1).
    support_embeddings : array-like of shape (n_support, d)
    new_embeddings : array-like of shape (n_new, d)
    metric : {"cosine", "euclidean"}, default "cosine"

    Returns
    -------
    NearestVoters
        Shape (n_new, n_lfs); ``index`` refers to support rows (-1 where an LF has no voter at all).

    Examples
    --------
    >>> support = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> nv = nearest_voters_for_new_rows([[1, -1], [-1, 0]], support, [[0.9, 0.1]])
    >>> nv.index.tolist(), nv.vote.tolist()
    ([[0, 1]], [[1, 0]])
    """
    L_support = check_label_matrix(L_support)
    support = prepare_embeddings(support_embeddings, metric)
    queries = prepare_embeddings(new_embeddings, metric)
    if support.shape[0] != L_support.shape[0]:
        raise ValueError(f"L_support has {L_support.shape[0]} rows but the support embeddings have {support.shape[0]}.")
    if queries.shape[0] and queries.shape[1] != support.shape[1]:
        raise ValueError(f"New rows have dimension {queries.shape[1]} but the support rows {support.shape[1]}.")
    n, m = queries.shape[0], L_support.shape[1]
    index = np.full((n, m), -1, dtype=np.int64)
    similarity = np.full((n, m), -np.inf, dtype=np.float32)
    vote = np.full((n, m), ABSTAIN, dtype=L_support.dtype)
    for j in range(m):
        voted_rows = np.flatnonzero(L_support[:, j] != ABSTAIN)
        if voted_rows.size == 0 or n == 0:
            continue
        voters = support[voted_rows]
        norms = squared_norms(voters, metric)
        block_rows = int(min(n, max(1, _FALLBACK_BLOCK_CELLS // voted_rows.size)))
        buffer = np.empty((block_rows, voted_rows.size), dtype=np.float32)
        for start in range(0, n, block_rows):
            block = np.arange(start, min(start + block_rows, n))
            sims = similarity_block(queries[block], voters, metric, norms, buffer[: block.size])
            best = sims.argmax(axis=1)
            index[block, j] = voted_rows[best]
            similarity[block, j] = sims[np.arange(block.size), best]
            vote[block, j] = L_support[index[block, j], j]
    return NearestVoters(index, similarity, vote)


def extend_new_rows(L_new: Any, nearest: NearestVoters, thresholds: float | Any) -> LabelMatrix:
    """Extend new rows: keep each LF's own vote, else copy its nearest support voter's within the threshold.

    Parameters
    ----------
    L_new : array-like of shape (n_new, n_lfs)
        The LFs' own votes on the new rows.
    nearest : NearestVoters
        :func:`nearest_voters_for_new_rows` of those rows.
    thresholds : float or array-like of shape (n_lfs,)
        As in :func:`extend`; ``+inf`` disables an LF's extension.

    Examples
    --------
    >>> nv = NearestVoters(np.array([[0], [0]]), np.array([[0.9], [0.5]], np.float32), np.array([[1], [1]], np.int8))
    >>> extend_new_rows([[-1], [-1]], nv, 0.8).ravel().tolist()
    [1, -1]
    """
    L_new = check_label_matrix(L_new)
    if nearest.shape != L_new.shape:
        raise ValueError(f"The nearest voters have shape {nearest.shape} but the new rows' votes have {L_new.shape}.")
    limits = thresholds_array(thresholds, L_new.shape[1])
    copied = np.where(nearest.similarity >= limits, nearest.vote, np.array(ABSTAIN, dtype=nearest.vote.dtype))
    return np.where(L_new != ABSTAIN, L_new, copied).astype(L_new.dtype, copy=False)


def _column_key(column: np.ndarray) -> bytes:
    """A digest of one LF's votes: equal votes give equal nearest voters, whatever the LF's definition."""
    return hashlib.blake2b(np.ascontiguousarray(column).tobytes(), digest_size=16).digest()


class Extender:
    """Extension with a memory: recompute nearest voters only for LFs whose votes changed.

    Parameters
    ----------
    graph : KNNGraph
        The k-NN graph of the dataset.
    min_similarity : float, optional
        See :func:`nearest_voters`.
    max_cached_columns : int, default 256
        How many distinct LF vote columns to remember (oldest dropped first), so that undoing an edit is
        free too.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> graph = SimpleNamespace(indices=np.array([[1], [0], [1]]), embeddings=None, metric="cosine",
    ...                         similarities=np.array([[0.9], [0.9], [0.6]], dtype=np.float32))
    >>> ext = Extender(graph).update(np.array([[1, -1], [-1, -1], [-1, 0]]))
    >>> ext.extend(0.5).tolist()
    [[1, -1], [1, -1], [-1, 0]]
    >>> ext.last_recomputed_
    [0, 1]
    >>> ext.update(np.array([[1, 0], [-1, -1], [-1, -1]])).last_recomputed_
    [1]
    """

    def __init__(self, graph: GraphLike, min_similarity: float | None = None, max_cached_columns: int = 256):
        self.graph = graph
        self.min_similarity = min_similarity
        self.max_cached_columns = max_cached_columns
        self._cache: dict[bytes, NearestVoters] = {}
        self._keys: list[bytes] = []
        self.L_: LabelMatrix | None = None
        self.nearest_: NearestVoters | None = None
        self.last_recomputed_: list[int] = []

    def update(self, L: Any) -> Extender:
        """Set the current label matrix; nearest voters are computed only for LFs not seen before.

        Columns that did not change are left as they are in ``nearest_``, which is updated in place
        when the matrix keeps its shape (rebuilding it would copy ~260 MB per edit at 1M rows x 20 LFs).
        """
        L = check_label_matrix(L)
        n, m = L.shape
        keys = [_column_key(L[:, j]) + str(L.dtype).encode() for j in range(m)]
        previous = self.nearest_
        in_place = previous is not None and previous.shape == L.shape and previous.vote.dtype == L.dtype
        if in_place:
            target = previous
        else:
            target = NearestVoters(np.empty((n, m), np.int64), np.empty((n, m), np.float32), np.empty((n, m), L.dtype))
        recomputed: list[int] = []
        for j, key in enumerate(keys):
            if in_place and self._keys[j] == key:
                if key in self._cache:  # still in use: keep it out of the eviction's way
                    self._cache[key] = self._cache.pop(key)
                continue
            part = self._cache.get(key)
            if part is None:
                part = nearest_voters(L[:, [j]], self.graph, min_similarity=self.min_similarity)
                recomputed.append(j)
            self._cache[key] = self._cache.pop(key, part)  # most recently used last
            target.index[:, j] = part.index[:, 0]
            target.similarity[:, j] = part.similarity[:, 0]
            target.vote[:, j] = part.vote[:, 0]
        while len(self._cache) > self.max_cached_columns:
            self._cache.pop(next(iter(self._cache)))
        self._keys = keys
        self.L_ = L
        self.nearest_ = target
        self.last_recomputed_ = recomputed
        return self

    def extend(self, thresholds: float | Any) -> LabelMatrix:
        """The extended label matrix of the current ``L`` at these thresholds."""
        if self.L_ is None or self.nearest_ is None:
            raise ValueError("Call update(L) before extend(thresholds).")
        return extend(self.L_, thresholds=thresholds, nearest=self.nearest_)

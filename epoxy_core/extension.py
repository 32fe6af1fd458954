"""Epoxy extension: let each labeling function vote on rows near the rows it already labels.

Where LF ``j`` abstains on row ``i``, extension copies the vote of the *most similar row on which LF j
voted*, provided that similarity is at least LF ``j``'s threshold.  The work splits in two, as in the
Epoxy reference implementation:

1. :func:`nearest_voters` (expensive, cached): for every LF and row, the nearest voted row, its
   similarity and its vote.  It depends only on the LF's votes and the k-NN graph, so it is recomputed
   only for LFs whose votes changed (:class:`Extender` does that bookkeeping).
2. :func:`extend` (cheap): compare the cached similarities with the thresholds.  Moving a threshold
   slider costs one vectorised comparison over the matrix.

The nearest voter is read from the k-NN graph when one of the row's ``k`` neighbours voted (a compiled
gather, :mod:`epoxy_core.voter_search`, above 20,000 rows).  Sparse LFs (a few percent coverage) often
have no voter among the ``k`` neighbours; then an exact search over that LF's voted rows answers instead,
when the graph carries its embeddings.  ``exact_fallback=False, hops=1`` answers those rows from their
neighbours' nearest voters instead (multi-hop over the graph: approximate, ~30x cheaper; the result says
``exact=False``); :class:`epoxy_core.session.LabelingSession` shows that at once and swaps the exact answer
in when a background search finishes.  That search is skipped for rows
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
    "check_nearest_matches",
    "exact_voter_search",
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
    exact : bool, default True
        False when some row's voter came from the multi-hop search (``exact_fallback=False, hops>0``):
        a real voter with its true similarity, but a more similar voter may exist.
    """

    index: npt.NDArray[np.int64]
    similarity: npt.NDArray[np.float32]
    vote: LabelMatrix
    exact: bool = True

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_lfs)``."""
        return self.vote.shape  # type: ignore[return-value]

    def column(self, j: int) -> NearestVoters:
        """The nearest voters of LF ``j`` alone, as a one-column :class:`NearestVoters`."""
        return NearestVoters(self.index[:, [j]], self.similarity[:, [j]], self.vote[:, [j]], self.exact)

    @staticmethod
    def hstack(parts: list[NearestVoters]) -> NearestVoters:
        """Join per-LF results column-wise (the app caches one column per LF definition)."""
        if not parts:
            raise ValueError("hstack needs at least one NearestVoters part.")
        return NearestVoters(
            np.hstack([p.index for p in parts]),
            np.hstack([p.similarity for p in parts]),
            np.hstack([p.vote for p in parts]),
            all(p.exact for p in parts),
        )


# Above this many rows the graph gather runs compiled (numba); below, numpy is fast enough and spares
# the 1-2 s numba import in processes that never need it.
_COMPILED_GATHER_MIN_ROWS = 20_000


def _graph_gather(voted: np.ndarray, graph: GraphLike) -> tuple[np.ndarray, np.ndarray]:
    """Per row: itself if voted, else its first voted graph neighbour (-1 / -inf when none)."""
    n, k = graph.indices.shape
    if n >= _COMPILED_GATHER_MIN_ROWS and k:
        from epoxy_core.voter_search import first_voted_neighbour

        return first_voted_neighbour(voted, graph.indices, graph.similarities)
    index = np.full(n, -1, dtype=np.int64)
    similarity = np.full(n, -np.inf, dtype=np.float32)
    if k:
        # Gather over the whole graph rather than the abstaining rows: copying their int64 neighbour
        # lists would cost far more than the bool gather (240 MB at 1M rows x 30 neighbours).
        neighbour_voted = voted[graph.indices]
        # Neighbours are listed most similar first, so the first voted one is the nearest voter;
        # argmax on booleans returns exactly that first True.
        first = neighbour_voted.argmax(axis=1)
        rows = np.flatnonzero(neighbour_voted[np.arange(n), first] & ~voted)
        index[rows] = graph.indices[rows, first[rows]]
        similarity[rows] = graph.similarities[rows, first[rows]]
    voted_rows = np.flatnonzero(voted)
    index[voted_rows] = voted_rows
    similarity[voted_rows] = np.inf
    return index, similarity


def exact_voter_search(
    rows: np.ndarray, voted_rows: np.ndarray, embeddings: np.ndarray, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """The most similar of ``voted_rows`` for each of ``rows``, by blocked BLAS (ties to the lowest row id).

    Returns ``(index, similarity)`` of shape ``(rows.size,)``.  The voters are prepared once and one
    scratch buffer of at most 64 MB serves every block.
    """
    index = np.full(rows.size, -1, dtype=np.int64)
    similarity = np.full(rows.size, -np.inf, dtype=np.float32)
    if rows.size == 0 or voted_rows.size == 0:
        return index, similarity
    voter_vectors = prepare_embeddings(embeddings[voted_rows], metric)
    voter_norms = squared_norms(voter_vectors, metric)
    block_rows = int(min(rows.size, max(1, _FALLBACK_BLOCK_CELLS // voted_rows.size)))
    buffer = np.empty((block_rows, voted_rows.size), dtype=np.float32)
    for start in range(0, rows.size, block_rows):
        block = rows[start : start + block_rows]
        queries = prepare_embeddings(embeddings[block], metric)
        sims = similarity_block(queries, voter_vectors, metric, voter_norms, buffer[: block.size])
        best = sims.argmax(axis=1)
        index[start : start + block.size] = voted_rows[best]
        similarity[start : start + block.size] = sims[np.arange(block.size), best]
    return index, similarity


def _nearest_voter_column(
    votes: np.ndarray,
    graph: GraphLike,
    min_similarity: float | None,
    exact_fallback: bool,
    hops: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Nearest voted row for one LF's vote column; see :func:`nearest_voters`.  The last item: exact?"""
    n = votes.shape[0]
    voted = votes != ABSTAIN
    if not voted.any():  # an LF that votes nowhere never extends
        return (
            np.full(n, -1, dtype=np.int64),
            np.full(n, -np.inf, dtype=np.float32),
            np.full(n, ABSTAIN, dtype=votes.dtype),
            True,
        )
    index, similarity = _graph_gather(voted, graph)
    exact = True
    k = graph.indices.shape[1]
    embeddings = getattr(graph, "embeddings", None)
    missing = np.flatnonzero(index < 0)
    if missing.size and embeddings is not None:
        if k and min_similarity is not None:
            # A voter outside the k-list is at most as similar as the k-th neighbour.
            missing = missing[graph.similarities[missing, k - 1] >= min_similarity]
        if exact_fallback:
            found, found_similarity = exact_voter_search(missing, np.flatnonzero(voted), embeddings, graph.metric)
            index[missing], similarity[missing] = found, found_similarity
        elif hops > 0 and k and missing.size:
            if graph.metric != "cosine":
                raise ValueError("The multi-hop search (hops > 0) needs metric='cosine'.")
            from epoxy_core.voter_search import propagate_voters

            index, similarity = propagate_voters(embeddings, graph.indices, index, similarity, missing, hops=hops)
            exact = False
    vote = np.full(n, ABSTAIN, dtype=votes.dtype)
    has = index >= 0
    vote[has] = votes[index[has]]
    return index, similarity, vote, exact


def nearest_voters(
    L: Any,
    graph: GraphLike,
    min_similarity: float | None = None,
    exact_fallback: bool = True,
    *,
    hops: int = 0,
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
    hops : int, default 0
        With ``exact_fallback=False``: rows with no voter among their neighbours take the most similar of
        their neighbours' nearest voters, repeated ``hops`` times for rows still without one (cosine
        only, needs ``graph.embeddings``).  The result then has ``exact=False``.

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
    exact = True
    for j in range(m):
        index[:, j], similarity[:, j], vote[:, j], column_exact = _nearest_voter_column(
            np.ascontiguousarray(L[:, j]), graph, min_similarity, exact_fallback, hops
        )
        exact = exact and column_exact
    return NearestVoters(index, similarity, vote, exact)


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


def check_nearest_matches(L: LabelMatrix, nearest: NearestVoters) -> None:
    """Refuse nearest voters computed for other votes than ``L``'s (an exact check, a few ms at 1M x 20).

    Nearest voters mark every row an LF voted on with similarity ``+inf`` and that row's own vote, so
    they match ``L`` exactly when the ``+inf`` cells are the voted cells and their votes are ``L``'s.

    Raises
    ------
    ValueError
        On another shape, or votes that are not ``L``'s.
    """
    if nearest.shape != L.shape:
        raise ValueError(f"The nearest voters have shape {nearest.shape} but the label matrix has {L.shape}.")
    own = nearest.similarity == np.inf
    voted = L != ABSTAIN
    if not np.array_equal(own, voted) or not np.array_equal(nearest.vote[voted], L[voted]):
        bad = np.flatnonzero((own != voted).any(axis=0) | ((nearest.vote != L) & voted).any(axis=0))
        raise ValueError(
            f"These nearest voters were computed for other votes (LF column(s) {bad[:10].tolist()} differ from "
            "the label matrix): recompute them with nearest_voters(L, graph) for this L."
        )


def extend(
    L: Any,
    graph: GraphLike | None = None,
    *,
    thresholds: float | Any = None,
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
    thresholds : float or array-like of shape (n_lfs,)
        Keyword-only and required.  Minimum similarity to copy a vote, one for all LFs or one per LF; ``+inf``
        disables an LF's extension.  With cosine similarity, values between 0.5 and 0.95 are typical.
    nearest : NearestVoters, optional
        The result of :func:`nearest_voters` for this same ``L`` and graph.  Pass it to make a threshold
        change cost only a comparison.  Nearest voters of other votes are refused.
    min_similarity : float, optional
        Passed to :func:`nearest_voters` when ``nearest`` is not given.

    Returns
    -------
    numpy.ndarray
        The extended label matrix, same shape and dtype as ``L``.  Every original vote is kept.

    Raises
    ------
    ValueError
        Without a graph or nearest voters, for nearest voters of other votes, for a threshold passed
        positionally (``extend(L, 0.8)``), or invalid thresholds.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> graph = SimpleNamespace(indices=np.array([[1], [0], [1]]), embeddings=None, metric="cosine",
    ...                         similarities=np.array([[0.9], [0.9], [0.6]], dtype=np.float32))
    >>> extend([[1], [-1], [-1]], graph, thresholds=0.8).ravel().tolist()
    [1, 1, -1]
    """
    if graph is not None and not hasattr(graph, "indices"):
        raise ValueError(
            f"extend()'s second argument is the k-NN graph, got {type(graph).__name__}; pass the threshold by "
            "keyword: extend(L, graph, thresholds=0.8) or extend(L, thresholds=0.8, nearest=nearest)."
        )
    if thresholds is None:
        raise ValueError("extend() needs thresholds=<float or one per LF> (use +inf to switch an LF's extension off).")
    L = check_label_matrix(L)
    if nearest is None:
        if graph is None:
            raise ValueError("extend() needs either a graph or precomputed nearest voters.")
        nearest = nearest_voters(L, graph, min_similarity=min_similarity)
    check_nearest_matches(L, nearest)
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
    max_cache_bytes : int, default 256 MiB
        And at most this many bytes of them (13 MB per column at a million rows).

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

    def __init__(
        self,
        graph: GraphLike,
        min_similarity: float | None = None,
        max_cached_columns: int = 256,
        max_cache_bytes: int = 256 * 2**20,
    ):
        self.graph = graph
        self.min_similarity = min_similarity
        self.max_cached_columns = max_cached_columns
        self.max_cache_bytes = max_cache_bytes
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
        column_bytes = n * (8 + 4 + L.dtype.itemsize)
        while self._cache and (
            len(self._cache) > self.max_cached_columns or len(self._cache) * column_bytes > self.max_cache_bytes
        ):
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

"""Compiled kernels of the nearest-voter search: the graph gather and the multi-hop search over the graph.

:func:`epoxy_core.extension.nearest_voters` answers "for every row, which row that LF j voted on is the
most similar?" in up to three steps; this module holds the compiled (numba) kernels of the first two:

1. **graph gather** (:func:`first_voted_neighbour`): the first voted row among the row's ``k`` graph
   neighbours, which are listed most similar first.  Exact for the graph; about 3 ms at 100,000 rows.
2. **multi-hop search** (:func:`propagate_voters`): a row with no voter among its ``k`` neighbours takes the
   most similar of its neighbours' nearest voters (similarities computed exactly from the embeddings), and
   each further hop reaches one ring further out.  Approximate: the voter found is a real voter with its
   true similarity, but a more similar one may exist elsewhere.
3. the exact search over the LF's voted rows (blocked BLAS, in :mod:`epoxy_core.extension`), which the
   interactive session runs in the background and swaps in.

numba compiles the kernels on first use (about a second, cached on disk under ``data_dir()/numba_cache``).
They release the GIL, so a background refinement and the app's threads run alongside.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.neighbors import _import_numba

__all__ = ["first_voted_neighbour", "propagate_voters", "warm_up"]

_kernels: dict[str, Any] = {}


def _compiled() -> dict[str, Any]:
    """Compile (or load from numba's disk cache) the kernels once per process."""
    if _kernels:
        return _kernels
    numba = _import_numba()
    njit, prange = numba.njit, numba.prange

    @njit(parallel=True, nogil=True, cache=True)
    def gather(voted, indices, similarities, index, similarity):  # pragma: no cover - compiled
        n, k = indices.shape
        for i in prange(n):
            if voted[i]:
                index[i] = i
                similarity[i] = np.inf
                continue
            index[i] = -1
            similarity[i] = -np.inf
            for j in range(k):
                neighbour = indices[i, j]
                if neighbour >= 0 and voted[neighbour]:
                    index[i] = neighbour
                    similarity[i] = similarities[i, j]
                    break

    @njit(parallel=True, nogil=True, cache=True, fastmath=True)
    def hop(embeddings, indices, rows, index_in, similarity_in, index_out, similarity_out, max_candidates):
        # pragma: no cover - compiled
        k = indices.shape[1]
        d = embeddings.shape[1]
        for r in prange(rows.size):
            q = rows[r]
            best = index_in[q]
            best_sim = similarity_in[q]
            seen = np.empty(max_candidates + 1, dtype=np.int64)
            n_seen = 0
            if best >= 0:
                seen[0] = best
                n_seen = 1
            tried = 0
            for j in range(k):
                neighbour = indices[q, j]
                if neighbour < 0:
                    continue
                candidate = index_in[neighbour]
                if candidate < 0 or candidate == q:
                    continue
                duplicate = False
                for s in range(n_seen):
                    if seen[s] == candidate:
                        duplicate = True
                        break
                if duplicate:
                    continue
                seen[n_seen] = candidate
                n_seen += 1
                acc = np.float32(0.0)
                for c in range(d):
                    acc += embeddings[q, c] * embeddings[candidate, c]
                if acc > best_sim or (acc == best_sim and candidate < best):
                    best_sim = acc
                    best = candidate
                tried += 1
                if tried >= max_candidates:
                    break
            index_out[q] = best
            similarity_out[q] = best_sim

    _kernels.update(gather=gather, hop=hop)
    return _kernels


def first_voted_neighbour(
    voted: npt.NDArray[np.bool_], indices: npt.NDArray[np.int64], similarities: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """For every row, itself if voted, else its most similar graph neighbour that voted.

    Parameters
    ----------
    voted : ndarray of bool, shape (n_rows,)
    indices, similarities : ndarrays of shape (n_rows, k)
        The graph, neighbours most similar first (``-1`` entries are skipped).

    Returns
    -------
    index : ndarray of int64, shape (n_rows,)
        The row itself where it voted, the first voted neighbour, or -1 where no neighbour voted.
    similarity : ndarray of float32, shape (n_rows,)
        ``+inf`` for voted rows, the neighbour's similarity, or ``-inf``.

    Examples
    --------
    >>> index, sim = first_voted_neighbour(np.array([True, False, False]), np.array([[1], [0], [1]]),
    ...                                    np.array([[0.9], [0.8], [0.7]], np.float32))
    >>> index.tolist(), sim.tolist()
    ([0, 0, -1], [inf, 0.800000011920929, -inf])
    """
    n = voted.shape[0]
    index = np.empty(n, dtype=np.int64)
    similarity = np.empty(n, dtype=np.float32)
    _compiled()["gather"](
        np.ascontiguousarray(voted, dtype=np.bool_),
        np.ascontiguousarray(indices, dtype=np.int64),
        np.ascontiguousarray(similarities, dtype=np.float32),
        index,
        similarity,
    )
    return index, similarity


def propagate_voters(
    embeddings: npt.NDArray[np.float32],
    indices: npt.NDArray[np.int64],
    index: npt.NDArray[np.int64],
    similarity: npt.NDArray[np.float32],
    rows: npt.NDArray[np.int64],
    hops: int = 2,
    max_candidates: int = 12,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Multi-hop search: ``rows`` take the most similar of their neighbours' current nearest voters.

    The first hop visits every row of ``rows``; later hops only the rows still without a voter.  Each hop
    reads the previous hop's answers (double-buffered, so the result does not depend on thread
    scheduling) and computes the cosine (dot product) of each row with up to ``max_candidates`` distinct
    candidate voters, taken from its most similar neighbours first.  A row keeps its current voter unless a
    candidate is strictly more similar (ties go to the lower row index).

    Parameters
    ----------
    embeddings : ndarray of float32, shape (n_rows, d)
        L2-normalised vectors (the graph's ``embeddings`` for cosine).
    indices : ndarray of int64, shape (n_rows, k)
    index, similarity : ndarrays of shape (n_rows,)
        Current answers (from :func:`first_voted_neighbour`); not modified.
    rows : ndarray of int64
        The rows to improve (typically those with no voter among their neighbours).
    hops : int, default 2
    max_candidates : int, default 12

    Returns
    -------
    index, similarity : new arrays of shape (n_rows,)
    """
    kernel = _compiled()["hop"]
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    current_index, current_similarity = index.copy(), similarity.copy()
    for _ in range(max(0, hops)):
        if rows.size == 0:
            break
        next_index, next_similarity = current_index.copy(), current_similarity.copy()
        kernel(
            embeddings, indices, rows, current_index, current_similarity, next_index, next_similarity, max_candidates
        )
        current_index, current_similarity = next_index, next_similarity
        # Later hops only reach rows that still have no voter: the others already hold one of their
        # neighbours' voters, and revisiting them costs a full hop for a small gain (measured in the bench).
        rows = rows[current_index[rows] < 0]
    return current_index, current_similarity


def warm_up() -> None:
    """Compile (or load) the kernels on a tiny input, so the first LF edit does not wait for numba."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((64, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    indices = np.array([[(i + 1) % 64, (i + 2) % 64] for i in range(64)], dtype=np.int64)
    similarities = np.full((64, 2), 0.5, dtype=np.float32)
    voted = np.zeros(64, dtype=bool)
    voted[::16] = True
    index, similarity = first_voted_neighbour(voted, indices, similarities)
    propagate_voters(vectors, indices, index, similarity, np.flatnonzero(index < 0), hops=2)

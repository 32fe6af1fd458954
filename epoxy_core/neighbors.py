"""k-nearest-neighbour graphs over embeddings: an exact blocked search and PyNNDescent.

Epoxy extends a labeling function's vote from the rows it voted on to rows that are
close in embedding space.  Everything downstream (extension, threshold tuning, the
app's sliders) reads one structure, :class:`KNNGraph`: for every row, its ``k`` most
similar *other* rows, most similar first.

Similarity
----------
- ``metric="cosine"``: cosine similarity, in ``[-1, 1]``.  Vectors are L2-normalised
  first, so it is a dot product.  This is what the app's threshold sliders use.
- ``metric="euclidean"``: similarity is the *negative* Euclidean distance
  (``-||a - b||``, in ``(-inf, 0]``).  It is monotone in the distance, so "larger is
  more similar" holds for both metrics and every consumer can sort and threshold the
  same way.

Choice of search
----------------
Measured on a 2-core machine (see ``../shared/README.md``): an exact search with
blocked BLAS matrix products takes 0.5-0.7 s at 10,000 rows and needs no JIT, while
PyNNDescent costs ~25 s of numba compilation in every new process but only ~7 s at
100,000 rows once warm.  ``method="auto"`` therefore searches exactly below
:data:`EXACT_MAX_ROWS` rows and uses PyNNDescent above.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from epoxy_core.cache import content_key, load_array, save_array
from epoxy_core.config import data_dir
from epoxy_core.embed.normalize import l2_normalize

__all__ = [
    "EXACT_MAX_ROWS",
    "KNNGraph",
    "build_knn_graph",
    "cached_knn_graph",
    "exact_knn",
    "prepare_embeddings",
    "resolve_method",
    "similarity_block",
    "similarity_to",
    "squared_norms",
    "warm_up_jit",
]

Metric = Literal["cosine", "euclidean"]
Method = Literal["auto", "exact", "pynndescent"]

METRICS: tuple[str, ...] = ("cosine", "euclidean")
METHODS: tuple[str, ...] = ("auto", "exact", "pynndescent")

EXACT_MAX_ROWS: int = 20_000
"""Below this many rows ``method="auto"`` searches exactly (faster than PyNNDescent, no JIT)."""

# About 64 MB of float32 similarities per block: big enough for BLAS to run at full
# speed, small enough that a 1M-row exact search does not need gigabytes of scratch.
_BLOCK_BYTES = 64 * 1024 * 1024


# eq=False: a field-by-field == on numpy arrays is ambiguous; graphs compare (and hash) by identity.
@dataclass(frozen=True, eq=False)
class KNNGraph:
    """A k-nearest-neighbour graph over the rows of an embedding matrix.

    Attributes
    ----------
    indices : numpy.ndarray of int64, shape (n_rows, k)
        Neighbour row ids, most similar first.  A row never lists itself (duplicates of
        a row are listed: they are other rows).
    similarities : numpy.ndarray of float32, shape (n_rows, k)
        Similarity of each neighbour, sorted in descending order along each row: cosine
        similarity for ``metric="cosine"``, minus the Euclidean distance for
        ``metric="euclidean"``.
    metric : {"cosine", "euclidean"}
        The similarity used.
    method : {"exact", "pynndescent"}
        How the graph was built (``"auto"`` is resolved before building).
    embeddings : numpy.ndarray of float32, shape (n_rows, d), optional
        The vectors that were searched (L2-normalised for cosine), kept so that
        extension can run an exact search over an LF's voted rows beyond the graph.
    """

    indices: npt.NDArray[np.int64]
    similarities: npt.NDArray[np.float32]
    metric: str
    method: str
    embeddings: npt.NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        if self.indices.ndim != 2 or self.indices.shape != self.similarities.shape:
            raise ValueError(
                f"indices and similarities must be 2-D arrays of the same shape; "
                f"got {self.indices.shape} and {self.similarities.shape}."
            )
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}.")
        if self.embeddings is not None and self.embeddings.shape[0] != self.indices.shape[0]:
            raise ValueError(
                f"embeddings have {self.embeddings.shape[0]} rows but the graph has {self.indices.shape[0]}."
            )

    @property
    def n_neighbors(self) -> int:
        """Number of neighbours stored per row (``k``)."""
        return int(self.indices.shape[1])

    @property
    def n_rows(self) -> int:
        """Number of rows in the graph."""
        return int(self.indices.shape[0])


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}.")


def _check_matrix(embeddings: Any, what: str = "embeddings") -> npt.NDArray[np.float32]:
    """Validate a 2-D finite numeric matrix and return it as C-contiguous float32."""
    array = np.asarray(embeddings)
    if array.dtype == object or array.dtype.kind not in "fiu":
        raise ValueError(f"{what} must be a numeric (float or integer) array, got dtype {array.dtype}.")
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (rows, dimensions); got shape {array.shape}.")
    if array.shape[1] == 0:
        raise ValueError(f"{what} have 0 dimensions; every row needs at least one value.")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise ValueError(f"{what} contain NaN or infinite values (first at row {bad}); fix or drop those rows.")
    return array


def prepare_embeddings(embeddings: Any, metric: str = "cosine") -> npt.NDArray[np.float32]:
    """Validate embeddings and return the float32 vectors a search with ``metric`` runs on.

    For ``"cosine"`` the rows are L2-normalised (an all-zero row gets a deterministic
    random unit vector, see :func:`epoxy_core.embed.l2_normalize`, so it is similar
    to nothing rather than equally similar to everything); for ``"euclidean"`` they are
    returned unchanged (as float32).  Input that is already float32, C-contiguous and
    (for cosine) unit-length is returned as is, without a copy: at a million rows each
    copy costs 1.5 GB.  Do not modify it in place afterwards.

    Raises
    ------
    ValueError
        If the input is not a 2-D finite numeric array or ``metric`` is unknown.
    """
    _check_metric(metric)
    array = _check_matrix(embeddings)
    if metric == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", array, array))
        if not np.all(np.abs(norms - 1.0) <= 1e-4):
            return l2_normalize(array)
    return array


def squared_norms(prepared: npt.NDArray[np.float32], metric: str) -> npt.NDArray[np.float32] | None:
    """Row norms squared, which :func:`similarity_block` needs for ``"euclidean"`` (``None`` for cosine)."""
    return np.einsum("ij,ij->i", prepared, prepared) if metric == "euclidean" else None


def similarity_block(
    queries: npt.NDArray[np.float32],
    base: npt.NDArray[np.float32],
    metric: str,
    base_sq_norms: npt.NDArray[np.float32] | None,
    out: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Fill ``out`` with the similarity of every query to every base row, without checks.

    For loops over blocks: both inputs must come from :func:`prepare_embeddings` and
    ``base_sq_norms`` from :func:`squared_norms`, computed once outside the loop.
    :func:`similarity_to` is the checked, one-shot version.
    """
    np.matmul(queries, base.T, out=out)
    if metric == "euclidean":
        # ||q - b||^2 = |q|^2 + |b|^2 - 2 q.b, computed in place to keep one buffer.
        assert base_sq_norms is not None
        out *= -2.0
        out += base_sq_norms[None, :]
        out += np.einsum("ij,ij->i", queries, queries)[:, None]
        np.maximum(out, 0.0, out=out)
        np.sqrt(out, out=out)
        np.negative(out, out=out)
    return out


def similarity_to(embeddings_a: Any, embeddings_b: Any, metric: str = "cosine") -> npt.NDArray[np.float32]:
    """Dense similarity of every row of ``embeddings_a`` to every row of ``embeddings_b``.

    Uses the same definition as :class:`KNNGraph`: cosine similarity, or minus the
    Euclidean distance.

    Parameters
    ----------
    embeddings_a : array-like of shape (n_a, d)
    embeddings_b : array-like of shape (n_b, d)
    metric : {"cosine", "euclidean"}

    Returns
    -------
    numpy.ndarray of float32, shape (n_a, n_b)

    Examples
    --------
    >>> similarity_to([[1.0, 0.0]], [[2.0, 0.0], [0.0, 3.0]]).tolist()
    [[1.0, 0.0]]
    >>> similarity_to([[0.0, 0.0]], [[3.0, 4.0]], metric="euclidean").tolist()
    [[-5.0]]
    """
    a = prepare_embeddings(embeddings_a, metric)
    b = prepare_embeddings(embeddings_b, metric)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Both embedding matrices need the same dimension; got {a.shape[1]} and {b.shape[1]}.")
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.float32)
    return similarity_block(a, b, metric, squared_norms(b, metric), out)


def _top_k_rows(
    block: npt.NDArray[np.float32], k: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Top-``k`` columns of every row of ``block``, descending; ties go to the lower column id.

    A full ``argpartition`` over the block is the slow part of a naive exact search.
    Instead, the k-th largest value of each row over a random sample of columns is a
    lower bound on the row's true k-th largest value; one vectorised comparison keeps
    only the few candidates above it, and only those are sorted.
    """
    n_rows, n_cols = block.shape
    # A sample of ~1/16 of the columns keeps the candidates to a few hundred per row even
    # when k exceeds the rows a small sample draws from the query's own cluster.
    sample_size = min(n_cols, max(8 * k, 1024, n_cols // 16))
    if sample_size < n_cols:
        sample = rng.choice(n_cols, size=sample_size, replace=False)
        sampled = block[:, sample]
    else:
        sampled = block
    # k-th largest of the sample: every true top-k value is >= it, so candidates suffice.
    threshold = -np.partition(-sampled, k - 1, axis=1)[:, k - 1]
    rows, cols = np.nonzero(block >= threshold[:, None])
    # Pack each row's candidates left-aligned into a small (n_rows, max_count) matrix;
    # nonzero yields columns ascending within a row, so a stable sort keeps the lower
    # column id first among equal similarities: a deterministic tie-break.
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.zeros(n_rows, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    position = np.arange(rows.size) - starts[rows]
    packed_values = np.full((n_rows, int(counts.max())), -np.inf, dtype=np.float32)
    packed_values[rows, position] = block[rows, cols]
    packed_cols = np.zeros(packed_values.shape, dtype=np.int64)
    packed_cols[rows, position] = cols
    order = np.argsort(-packed_values, axis=1, kind="stable")[:, :k]
    indices = np.take_along_axis(packed_cols, order, axis=1)
    similarities = np.take_along_axis(packed_values, order, axis=1)
    return indices, similarities


def _exact_search(
    prepared: npt.NDArray[np.float32],
    k: int,
    metric: str,
    query_rows: npt.NDArray[np.int64] | None = None,
    block_rows: int | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Exact top-``k`` neighbours (self excluded) of ``query_rows`` among all prepared rows."""
    n = prepared.shape[0]
    queries = np.arange(n, dtype=np.int64) if query_rows is None else np.asarray(query_rows, dtype=np.int64)
    indices = np.empty((queries.size, k), dtype=np.int64)
    similarities = np.empty((queries.size, k), dtype=np.float32)
    if k == 0 or queries.size == 0:
        return indices, similarities
    if block_rows is None:
        block_rows = max(1, _BLOCK_BYTES // (4 * n))
    block_rows = int(min(block_rows, queries.size))
    buffer = np.empty((block_rows, n), dtype=np.float32)
    sq_norms = squared_norms(prepared, metric)
    # Fixed seed: the sample only sets a pruning threshold, results do not depend on it.
    rng = np.random.default_rng(0)
    for start in range(0, queries.size, block_rows):
        ids = queries[start : start + block_rows]
        block = similarity_block(prepared[ids], prepared, metric, sq_norms, buffer[: ids.size])
        # Exclude self by index, never by value: duplicates also have similarity 1.
        block[np.arange(ids.size), ids] = -np.inf
        indices[start : start + ids.size], similarities[start : start + ids.size] = _top_k_rows(block, k, rng)
    return indices, similarities


def _effective_k(n_rows: int, n_neighbors: int) -> int:
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}.")
    # A row has only n-1 other rows: clamp rather than fail, so tiny datasets still work.
    return int(min(n_neighbors, max(n_rows - 1, 0)))


def exact_knn(
    embeddings: Any,
    n_neighbors: int,
    metric: str = "cosine",
    block_rows: int | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Exact k-nearest neighbours of every row by blocked matrix products.

    Parameters
    ----------
    embeddings : array-like of shape (n_rows, d)
        Vectors; L2-normalised here for ``metric="cosine"``.
    n_neighbors : int
        Neighbours per row.  Clamped to ``n_rows - 1`` (so one row gives a ``k = 0`` graph).
    metric : {"cosine", "euclidean"}
        See the module docstring for the similarity of each metric.
    block_rows : int, optional
        Query rows per matrix product; by default about 64 MB of float32 scratch.

    Returns
    -------
    indices : numpy.ndarray of int64, shape (n_rows, k)
        Neighbour ids, self excluded, most similar first; ties go to the lower row id.
    similarities : numpy.ndarray of float32, shape (n_rows, k)
        Sorted descending along each row.

    Raises
    ------
    ValueError
        For non-2-D or non-finite input, an unknown metric or ``n_neighbors < 1``.

    Examples
    --------
    >>> indices, sims = exact_knn([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], n_neighbors=1)
    >>> indices.ravel().tolist()
    [1, 0, 1]
    """
    prepared = prepare_embeddings(embeddings, metric)
    k = _effective_k(prepared.shape[0], n_neighbors)
    if block_rows is not None and block_rows < 1:
        raise ValueError(f"block_rows must be at least 1, got {block_rows}.")
    return _exact_search(prepared, k, metric, block_rows=block_rows)


def resolve_method(n_rows: int, method: str = "auto") -> str:
    """The search ``build_knn_graph`` uses for ``n_rows`` rows: ``"exact"`` or ``"pynndescent"``.

    >>> resolve_method(1_000), resolve_method(50_000), resolve_method(10, "pynndescent")
    ('exact', 'pynndescent', 'pynndescent')
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if method == "auto":
        return "exact" if n_rows < EXACT_MAX_ROWS else "pynndescent"
    return method


def _point_numba_cache_at_data_dir() -> None:
    """Set ``NUMBA_CACHE_DIR`` to ``data_dir()/numba_cache`` unless numba is imported or the user set it.

    numba reads ``NUMBA_CACHE_DIR`` once, when it is first imported; the cache must be somewhere
    writable and persistent so compiled kernels survive restarts.
    """
    if "numba" not in sys.modules and not os.environ.get("NUMBA_CACHE_DIR"):
        cache = data_dir() / "numba_cache"
        try:
            cache.mkdir(parents=True, exist_ok=True)
            os.environ["NUMBA_CACHE_DIR"] = str(cache)
        except OSError:
            pass  # read-only data dir: numba falls back to its default cache location


def _import_numba() -> Any:
    """Import numba lazily (1-2 s), with its on-disk cache in the data directory."""
    _point_numba_cache_at_data_dir()
    import numba

    return numba


def _import_pynndescent() -> Any:
    """Import PyNNDescent lazily, pointing numba's on-disk cache at the data directory first.

    ``import pynndescent`` takes 13-15 s with a cold numba cache and 2-3 s with a warm
    one, so ``import epoxy_core`` must not pay it.
    """
    _point_numba_cache_at_data_dir()
    try:
        import pynndescent
    except ImportError as error:  # pragma: no cover - pynndescent is a runtime requirement
        raise ValueError(
            "method='pynndescent' needs the pynndescent package: pip install pynndescent, or use method='exact'."
        ) from error
    return pynndescent


def _pynndescent_search(
    prepared: npt.NDArray[np.float32], k: int, metric: str, random_state: int | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Approximate top-``k`` neighbours with PyNNDescent, self excluded, similarities descending."""
    pynndescent = _import_pynndescent()
    n = prepared.shape[0]
    # Cosine data is already L2-normalised, where Euclidean distance gives the same
    # neighbours as cosine, 10-12% faster and without the copy the cosine metric makes.
    index = pynndescent.NNDescent(
        prepared,
        metric="euclidean",
        n_neighbors=k + 1,  # the public graph lists each row as its own first neighbour
        random_state=random_state,
        low_memory=True,
        verbose=False,
    )
    raw_indices, raw_distances = index.neighbor_graph
    del index
    raw_indices = np.asarray(raw_indices, dtype=np.int64)
    distances = np.asarray(raw_distances, dtype=np.float32)
    # Drop each row's own entry wherever it appears (not assumed at column 0: duplicates
    # tie at distance 0); rows without one lose their farthest entry.  Missing
    # neighbours (-1) sort last too and are repaired below.
    key = np.where((raw_indices == np.arange(n)[:, None]) | (raw_indices < 0), np.inf, distances)
    order = np.argsort(key, axis=1, kind="stable")[:, :k]
    indices = np.take_along_axis(raw_indices, order, axis=1)
    distances = np.take_along_axis(distances, order, axis=1)
    if metric == "cosine":
        # Unit vectors: |a - b|^2 = 2 - 2 cos(a, b).
        similarities = 1.0 - 0.5 * distances * distances
    else:
        similarities = -distances
    similarities = similarities.astype(np.float32)
    incomplete = np.flatnonzero(((indices < 0) | (indices == np.arange(n)[:, None])).any(axis=1))
    if incomplete.size:
        # Tiny or degenerate inputs can leave rows short of k neighbours: search those exactly.
        indices[incomplete], similarities[incomplete] = _exact_search(prepared, k, metric, query_rows=incomplete)
    return indices, similarities


def build_knn_graph(
    embeddings: Any,
    n_neighbors: int = 30,
    metric: str = "cosine",
    method: str = "auto",
    random_state: int | None = 0,
) -> KNNGraph:
    """Build the k-nearest-neighbour graph of a set of embeddings.

    Parameters
    ----------
    embeddings : array-like of shape (n_rows, d)
        One vector per row.  For ``metric="cosine"`` they are L2-normalised here.
    n_neighbors : int, default 30
        Neighbours per row.  Clamped to ``n_rows - 1``: a row cannot have more other
        rows than exist, so 5 rows with ``n_neighbors=30`` give a ``k = 4`` graph and a
        single row gives a ``k = 0`` graph.
    metric : {"cosine", "euclidean"}, default "cosine"
        ``"cosine"`` similarity, or ``"euclidean"`` with similarity = minus the distance.
    method : {"auto", "exact", "pynndescent"}, default "auto"
        ``"auto"`` is exact below :data:`EXACT_MAX_ROWS` rows, PyNNDescent above.
    random_state : int or None, default 0
        Seed for PyNNDescent (the exact search is deterministic).

    Returns
    -------
    KNNGraph
        With ``embeddings`` set to the searched vectors (float32, normalised for cosine).

    Raises
    ------
    ValueError
        For non-2-D or non-finite embeddings, an unknown metric or method, or
        ``n_neighbors < 1``.
    """
    prepared = prepare_embeddings(embeddings, metric)
    resolved = resolve_method(prepared.shape[0], method)
    k = _effective_k(prepared.shape[0], n_neighbors)
    if resolved == "pynndescent" and k > 0:
        indices, similarities = _pynndescent_search(prepared, k, metric, random_state)
    else:
        indices, similarities = _exact_search(prepared, k, metric)
    return KNNGraph(indices=indices, similarities=similarities, metric=metric, method=resolved, embeddings=prepared)


_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None
_warm_done = threading.Event()


def _warm_up() -> None:
    try:
        rng = np.random.default_rng(0)
        # Big enough (2.25 MiB) for PyNNDescent 0.7's breadth-first forest splits, which it uses only on
        # nodes larger than 1 MiB of rows: a smaller warm-up left ~3.5 s of them to compile in the user's
        # first large graph.  k as the app's (30) for the same reason.
        sample = l2_normalize(rng.standard_normal((1536, 384)).astype(np.float32))
        _pynndescent_search(sample, 30, "cosine", random_state=0)
        from epoxy_core.voter_search import warm_up as warm_up_voter_search

        warm_up_voter_search()  # the session's nearest-voter kernels (a few seconds cold, < 1 s cached)
    finally:
        _warm_done.set()


def warm_up_jit(background: bool = True) -> threading.Thread | None:
    """Compile PyNNDescent's numba code, and the nearest-voter kernels, once per process, on a tiny input.

    The first ``NNDescent`` in every process spends ~25 s compiling; doing it at app
    start, in the background, hides that cost from the user's first large graph and
    first LF edit.
    Calling this again is cheap: the compilation runs at most once per process.

    Parameters
    ----------
    background : bool, default True
        Run in a daemon thread and return it; otherwise compile before returning.

    Returns
    -------
    threading.Thread or None
        The (possibly already finished) warm-up thread, or None when run in the foreground.
    """
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None and not _warm_done.is_set():
            if not background:
                _warm_up()
                return None
            _warm_thread = threading.Thread(target=_warm_up, name="epoxy-numba-warm-up", daemon=True)
            _warm_thread.start()
        thread = _warm_thread
    if not background:
        if thread is not None:
            thread.join()
        return None
    return thread


def cached_knn_graph(
    embeddings: Any,
    n_neighbors: int = 30,
    metric: str = "cosine",
    method: str = "auto",
    random_state: int | None = 0,
) -> KNNGraph:
    """:func:`epoxy_core.neighbors.build_knn_graph`, cached on disk by embeddings and settings.

    The key covers the embedding bytes, ``n_neighbors``, ``metric``, the resolved
    method and ``random_state``.  The returned graph's ``embeddings`` are prepared from
    the given ones (not stored twice on disk).
    """
    prepared = prepare_embeddings(embeddings, metric)
    resolved = resolve_method(prepared.shape[0], method)
    key = content_key("knn_graph", prepared, int(n_neighbors), metric, resolved, random_state)
    hit = load_array(key)
    if hit is not None:
        arrays = hit[0]
        if arrays["indices"].shape[0] == prepared.shape[0]:
            return KNNGraph(
                indices=arrays["indices"],
                similarities=arrays["similarities"],
                metric=metric,
                method=resolved,
                embeddings=prepared,
            )
    graph = build_knn_graph(
        prepared, n_neighbors=n_neighbors, metric=metric, method=resolved, random_state=random_state
    )
    save_array(
        key,
        {"indices": graph.indices, "similarities": graph.similarities},
        {"metric": metric, "method": resolved, "n_neighbors": graph.n_neighbors},
    )
    return graph

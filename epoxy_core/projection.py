"""A 2-D map of the rows for display: UMAP from the k-NN graph already built, PCA as the instant fallback.

UMAP's costly first step is the k-nearest-neighbour search; Epoxy has already built that graph for
extension, so :func:`umap_points` hands it to umap-learn (``precomputed_knn``) and only the layout is
computed.  PCA on a sample (:func:`pca_points`) takes well under a second and is what a page shows while
UMAP runs.  Both lay out rows and return a *sample* of at most ``max_points`` of them (a browser draws more
points poorly), always including the rows named in ``include`` (e.g. the dev rows), with their row ids so
that the caller can colour them by anything (see the ``map_*`` builders in :mod:`epoxy_core.charts`).

Results are deterministic for a given seed: the sample is drawn with ``numpy.random.default_rng(seed)``
and UMAP runs with ``random_state=seed`` (which makes umap-learn single-threaded: a deterministic map
matters more here than a few seconds).
"""

from __future__ import annotations

import importlib.util
import threading
import warnings
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["MAX_UMAP_ROWS", "map_points", "pca_points", "umap_available", "umap_points", "warm_up_umap"]

MAX_UMAP_ROWS = 200_000
"""Above this many rows ``method="auto"`` draws PCA: UMAP's layout of every row would take many minutes."""

# UMAP needs a few neighbours per row to build its fuzzy graph; tinier data is drawn with PCA.
_MIN_UMAP_ROWS = 10


def umap_available() -> bool:
    """Whether umap-learn is installed (checked without importing it: that import takes seconds)."""
    return importlib.util.find_spec("umap") is not None


def _check_max_points(max_points: Any) -> int:
    if isinstance(max_points, bool) or not isinstance(max_points, int | np.integer) or max_points < 1:
        raise ValueError(f"max_points must be a positive integer, got {max_points!r}.")
    return int(max_points)


def _sample_rows(n: int, max_points: int, include: Any, seed: int) -> npt.NDArray[np.int64]:
    """Sorted row ids: all of ``include`` plus a seeded random sample of the others, ``max_points`` in all."""
    forced = np.zeros(0, dtype=np.int64)
    if include is not None:
        forced = np.unique(np.asarray(include, dtype=np.int64).ravel())
        if forced.size and (forced[0] < 0 or forced[-1] >= n):
            raise ValueError(
                f"include holds row {int(forced[forced < 0][0] if forced[0] < 0 else forced[-1])}; rows are 0..{n - 1}."
            )
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    rest = np.setdiff1d(np.arange(n, dtype=np.int64), forced, assume_unique=True)
    extra = max(0, max_points - forced.size)
    drawn = np.random.default_rng(seed).choice(rest, size=min(extra, rest.size), replace=False)
    return np.sort(np.concatenate([forced, drawn]))


def _check_embeddings(embeddings: Any, n_rows: int | None = None) -> npt.NDArray[np.float32]:
    from epoxy_core.neighbors import prepare_embeddings

    vectors = prepare_embeddings(embeddings, "euclidean")  # validation only: PCA and UMAP want raw vectors
    if n_rows is not None and vectors.shape[0] != n_rows:
        raise ValueError(f"embeddings have {vectors.shape[0]:,} rows but the graph has {n_rows:,}.")
    return vectors


def _frame(rows: npt.NDArray[np.int64], xy: np.ndarray, method: str, n_rows: int, note: str = "") -> pd.DataFrame:
    frame = pd.DataFrame({"row": rows, "x": xy[:, 0].astype(np.float64), "y": xy[:, 1].astype(np.float64)})
    frame.attrs.update(method=method, n_rows=int(n_rows), note=note)
    return frame


def pca_points(
    embeddings: Any,
    *,
    max_points: int = 5000,
    include: Any = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Project a sample of at most ``max_points`` rows onto their first two principal components.

    Parameters
    ----------
    embeddings : array-like of shape (n_rows, d)
    max_points : int, default 5000
        Sample size cap; PCA fitted on the sample is faithful enough for a picture.
    include : array-like of int, optional
        Rows always in the sample (e.g. dev rows), on top of the random ones (within ``max_points``).
    seed : int, default 0
        Seed of the sample, so the map does not jump between reruns.

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``x``, ``y``, one row per sampled row, sorted by row id;
        ``attrs["method"] == "pca"``, ``attrs["n_rows"]`` = rows of the data.

    Examples
    --------
    >>> points = pca_points(np.eye(4), max_points=3, include=[0])
    >>> len(points), 0 in points["row"].tolist(), points.attrs["method"]
    (3, True, 'pca')
    """
    from sklearn.decomposition import PCA  # heavy import, only when a map is drawn

    vectors = _check_embeddings(embeddings)
    n = vectors.shape[0]
    rows = _sample_rows(n, _check_max_points(max_points), include, seed)
    sample = vectors[rows]
    if sample.shape[0] >= 2 and sample.shape[1] >= 2:
        xy = PCA(n_components=2, random_state=seed).fit_transform(sample)
    else:  # degenerate data: nothing to project, put the points on a line
        xy = np.column_stack([np.arange(sample.shape[0], dtype=float), np.zeros(sample.shape[0])])
    return _frame(rows, xy, "pca", n)


def _umap_knn(graph: Any, n_neighbors: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The graph in umap-learn's ``precomputed_knn`` form: each row first (distance 0), then its neighbours.

    Our graph excludes the row itself and stores similarities; UMAP wants the row as its own nearest
    neighbour and distances: ``1 - cosine`` (UMAP's cosine distance) or the Euclidean distance.  Fresh
    arrays are returned because umap-learn writes into them (it marks disconnected edges in place).

    >>> from types import SimpleNamespace
    >>> g = SimpleNamespace(indices=np.array([[1, 2], [0, 2], [1, 0]]), metric="cosine",
    ...                     similarities=np.array([[0.9, 0.5], [0.9, 0.8], [0.8, 0.5]], dtype=np.float32))
    >>> idx, dist = _umap_knn(g, 2)
    >>> idx.tolist(), dist.astype(float).round(2).tolist()
    ([[0, 1], [1, 0], [2, 1]], [[0.0, 0.1], [0.0, 0.1], [0.0, 0.2]])
    """
    indices = np.asarray(graph.indices)
    similarities = np.asarray(graph.similarities, dtype=np.float32)
    n = indices.shape[0]
    keep = max(0, min(n_neighbors - 1, indices.shape[1]))
    own = np.arange(n, dtype=np.int64)[:, None]
    knn_indices = np.hstack([own, indices[:, :keep].astype(np.int64)])
    if graph.metric == "cosine":
        distances = np.maximum(1.0 - similarities[:, :keep], 0.0)
    else:  # similarity = -distance
        distances = np.maximum(-similarities[:, :keep], 0.0)
    knn_distances = np.hstack([np.zeros((n, 1), dtype=np.float32), distances.astype(np.float32)])
    return np.ascontiguousarray(knn_indices), np.ascontiguousarray(knn_distances)


def umap_points(
    graph: Any,
    embeddings: Any = None,
    *,
    max_points: int = 5000,
    include: Any = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Lay every row out with UMAP from the k-NN graph already built, and return a sample for drawing.

    Parameters
    ----------
    graph : KNNGraph
        The dataset's k-NN graph (``indices``, ``similarities``, ``metric``; neighbours most similar first).
    embeddings : array-like of shape (n_rows, d), optional
        The rows' vectors; default ``graph.embeddings``.  UMAP reads them only to place disconnected parts of
        the graph relative to each other.
    max_points, include, seed
        As in :func:`pca_points`; ``seed`` also seeds UMAP.
    n_neighbors : int, default 15
        UMAP's neighbourhood size, at most the graph's neighbours + 1 (UMAP counts the row itself).
    min_dist : float, default 0.1
        UMAP's minimum distance between laid-out points.
    n_epochs : int, optional
        Optimisation epochs; umap-learn's default (200 above 10,000 rows, else 500) when None.

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``x``, ``y``; ``attrs["method"] == "umap"``, ``attrs["n_rows"]``.

    Raises
    ------
    ValueError
        Without embeddings, with fewer than 10 rows, or when the graph and embeddings disagree.
    ImportError
        When umap-learn is not installed.
    """
    vectors = _check_embeddings(graph.embeddings if embeddings is None else embeddings, int(graph.indices.shape[0]))
    n = vectors.shape[0]
    if n < _MIN_UMAP_ROWS:
        raise ValueError(f"UMAP needs at least {_MIN_UMAP_ROWS} rows; the data has {n}. Use pca_points.")
    if graph.indices.shape[1] < 1:
        raise ValueError("The graph lists no neighbours; build it with n_neighbors >= 2 for a UMAP map.")
    rows = _sample_rows(n, _check_max_points(max_points), include, seed)
    neighbours = int(min(max(2, n_neighbors), graph.indices.shape[1] + 1))
    knn_indices, knn_distances = _umap_knn(graph, neighbours)

    import umap  # several seconds (numba); only here

    reducer = umap.UMAP(
        n_neighbors=neighbours,
        n_components=2,
        metric="cosine" if graph.metric == "cosine" else "euclidean",
        min_dist=float(min_dist),
        n_epochs=n_epochs,
        random_state=int(seed),
        precomputed_knn=(knn_indices, knn_distances),
        low_memory=True,
        verbose=False,
    )
    with warnings.catch_warnings():
        # Expected, and nothing a user can act on: no NNDescent index (we never transform new rows), and
        # random_state forcing one thread.  Disconnected-graph warnings are expected on duplicate-heavy data.
        warnings.simplefilter("ignore")
        xy = reducer.fit_transform(vectors)
    return _frame(rows, np.asarray(xy)[rows], "umap", n)


def map_points(
    graph: Any = None,
    embeddings: Any = None,
    *,
    method: Literal["auto", "umap", "pca"] = "auto",
    max_points: int = 5000,
    include: Any = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """A 2-D map of the rows: UMAP from the k-NN graph when it can, else PCA.

    ``method="auto"`` uses UMAP when a graph is given, umap-learn is installed and the data has between 10
    and :data:`MAX_UMAP_ROWS` rows; otherwise PCA (``attrs["note"]`` says why).  Show :func:`pca_points`
    first when UMAP will take a while (seconds at 10k rows, a minute or more at 100k): it is the instant
    fallback.

    Parameters
    ----------
    graph : KNNGraph, optional
        The dataset's k-NN graph; needed for UMAP.
    embeddings : array-like of shape (n_rows, d), optional
        Default ``graph.embeddings``; needed for PCA without a graph.
    method : {"auto", "umap", "pca"}, default "auto"
    max_points, include, n_neighbors, min_dist, n_epochs, seed
        See :func:`umap_points` and :func:`pca_points`.

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``x``, ``y`` (a sample of at most ``max_points`` rows, sorted by row id);
        ``attrs``: ``method`` ("umap" or "pca"), ``n_rows``, ``note``.

    Raises
    ------
    ValueError
        For an unknown method, no embeddings at all, or ``method="umap"`` without a graph.

    Examples
    --------
    >>> points = map_points(embeddings=np.eye(3), method="pca")
    >>> list(points.columns), points.attrs["method"]
    (['row', 'x', 'y'], 'pca')
    """
    if method not in ("auto", "umap", "pca"):
        raise ValueError(f"method must be 'auto', 'umap' or 'pca', got {method!r}.")
    vectors = embeddings if embeddings is not None else getattr(graph, "embeddings", None)
    if vectors is None:
        raise ValueError("A map needs the rows' embeddings: pass embeddings= or a graph that carries them.")
    if method == "umap" and graph is None:
        raise ValueError("method='umap' lays out the k-NN graph: pass graph= (PCA needs only embeddings).")
    note = ""
    use_umap = method == "umap"
    if method == "auto":
        n = int(np.shape(vectors)[0])
        if graph is None:
            note = "PCA: no k-NN graph was given."
        elif not umap_available():
            note = "PCA: umap-learn is not installed."
        elif n < _MIN_UMAP_ROWS:
            note = f"PCA: UMAP needs at least {_MIN_UMAP_ROWS} rows."
        elif n > MAX_UMAP_ROWS:
            note = f"PCA: above {MAX_UMAP_ROWS:,} rows a UMAP layout would take many minutes."
        else:
            use_umap = True
    if use_umap:
        return umap_points(
            graph,
            vectors,
            max_points=max_points,
            include=include,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            n_epochs=n_epochs,
            seed=seed,
        )
    points = pca_points(vectors, max_points=max_points, include=include, seed=seed)
    points.attrs["note"] = note
    return points


_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


def _warm_up() -> None:
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    n, k = 64, 8
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    # A graph of random neighbours is enough to compile every kernel UMAP runs.
    indices = np.array([rng.choice(np.delete(np.arange(n), i), k, replace=False) for i in range(n)])
    similarities = np.sort(rng.uniform(0.2, 0.9, (n, k)).astype(np.float32), axis=1)[:, ::-1]
    graph = SimpleNamespace(indices=indices, similarities=np.ascontiguousarray(similarities), metric="cosine")
    umap_points(graph, vectors, max_points=10, n_neighbors=k, n_epochs=5)


def warm_up_umap(background: bool = True) -> threading.Thread | None:
    """Compile umap-learn's numba code once per process, on a tiny input, so the first real map is faster.

    umap-learn compiles its kernels without an on-disk cache, in every new process: the first
    :func:`umap_points` call pays that (about 20-30 s on a quiet 2-core machine, several minutes when it is
    busy; ``bench/umap_map.py`` prints it).  An app can start this at launch, beside
    :func:`epoxy_core.neighbors.warm_up_jit`, and show :func:`pca_points` until the map is ready.

    Parameters
    ----------
    background : bool, default True
        Run in a daemon thread and return it; otherwise compile before returning (None).

    Returns
    -------
    threading.Thread or None
        The warm-up thread (started once per process; later calls return the same one), or None in the
        foreground or when umap-learn is not installed.
    """
    global _warm_thread
    if not umap_available():
        return None
    if not background:
        _warm_up()
        return None
    with _warm_lock:
        if _warm_thread is None:
            _warm_thread = threading.Thread(target=_warm_up, name="epoxy-umap-warm-up", daemon=True)
            _warm_thread.start()
        return _warm_thread

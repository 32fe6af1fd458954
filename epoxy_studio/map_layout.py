"""The data map's UMAP layout: computed off the script thread, once per graph, kept on disk beside the graph.

:func:`epoxy_core.projection.map_points` lays out every row from the k-NN graph already built; that takes
seconds at 10,000 rows and a minute or more at 100,000.  This module runs it in the background and answers
"ready (here are the coordinates of every row)", "running" or "failed (why)" at once, so the page draws the
PCA map meanwhile and swaps the UMAP one in when it lands.

Where it runs depends on the size, because umap-learn's numba kernels hold the GIL while they work (they are
not compiled ``nogil``).  Measured here with a heartbeat thread beside ``umap_points`` (2 cores, load 2-6):
the longest stall of other threads was 40 ms at 10,000 rows and 83 ms at 20,000, but 2.4 s at 40,000 rows,
with 129 of the 141 s spent in stalls over 50 ms.  A Streamlit server whose script threads stall that long
does not answer the browser, so:

- up to :data:`THREAD_MAX_ROWS` rows the layout runs in a thread of this process, where
  :func:`epoxy_core.projection.warm_up_umap` (started at app launch, :func:`warm_up`) has compiled the
  kernels already;
- above, in a separate process (spawned, niced, one layout at a time, gone when done: it holds no memory
  while the app is idle), which pays the imports and numba's compilation (15-40 s) on top of the layout.

Layouts are stored with :func:`epoxy_core.cache.save_array` under a key made of the graph's key and the UMAP
settings: a project reopened later gets its UMAP map from disk at once.  Keys are strings; no array is ever
hashed.  Nothing here imports Streamlit.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.cache import content_key, load_array, save_array

__all__ = ["THREAD_MAX_ROWS", "LayoutState", "layout", "warm_up"]

THREAD_MAX_ROWS = 20_000
"""Largest table laid out in a thread of the app's process (see the module docstring for the measurements)."""

UMAP_SETTINGS: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1, "seed": 0}
"""What the layout depends on besides the graph (part of the disk cache key)."""

_MAX_KEPT = 8  # layouts kept in memory (2 float32 per row: 800 kB at 100,000 rows)


@dataclass(frozen=True)
class LayoutState:
    """Where the UMAP layout of one graph is.

    Attributes
    ----------
    status : {"ready", "running", "failed", "unavailable"}
        ``"unavailable"``: umap-learn is not installed, or the table is too small or too large for UMAP
        (``message`` says which); the map stays PCA.
    xy : numpy.ndarray of float32, shape (n_rows, 2), or None
        Coordinates of every row when ready.
    message : str
        Why it failed or is unavailable; empty otherwise.
    """

    status: str
    xy: npt.NDArray[np.float32] | None = None
    message: str = ""


def _layout_rows(indices: np.ndarray, similarities: np.ndarray, metric: str, embeddings: np.ndarray) -> np.ndarray:
    """UMAP coordinates of every row (runs in a thread or in the worker process)."""
    from epoxy_core.projection import map_points

    graph = SimpleNamespace(indices=indices, similarities=similarities, metric=metric, embeddings=embeddings)
    n_rows = int(indices.shape[0])
    points = map_points(
        graph,
        embeddings,
        method="umap",
        max_points=n_rows,
        n_neighbors=UMAP_SETTINGS["n_neighbors"],
        min_dist=UMAP_SETTINGS["min_dist"],
        seed=UMAP_SETTINGS["seed"],
    )
    xy = np.zeros((n_rows, 2), dtype=np.float32)
    xy[points["row"].to_numpy()] = points[["x", "y"]].to_numpy(dtype=np.float32)
    return xy


def _lower_priority() -> None:
    # The worker shares 2 cores with the app; the person clicking in the app comes first.
    try:
        os.nice(10)
    except OSError:  # not permitted: run at normal priority
        pass


class _Layouts:
    """Process-wide registry of layouts by key: in memory, on disk, or being computed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, concurrent.futures.Future[np.ndarray]] = {}
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="epoxy-umap")
        self._processes: concurrent.futures.ProcessPoolExecutor | None = None

    def _process_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._processes is None:
            # spawn, never fork: the app's process runs threads (Streamlit, the JIT warm-up) that fork would copy
            # mid-flight.  One task per child: the process (and its memory) goes away when the layout is done.
            self._processes = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
                max_tasks_per_child=1,
            )
        return self._processes

    def get(self, key: str, graph: Any, embeddings: np.ndarray) -> LayoutState:
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                hit = load_array(key)
                if hit is not None and hit[0]["xy"].shape == (graph.indices.shape[0], 2):
                    job = concurrent.futures.Future()
                    job.set_result(hit[0]["xy"])
                else:
                    job = self._submit(key, graph, embeddings)
                self._jobs[key] = job
                while len(self._jobs) > _MAX_KEPT:
                    oldest = next(iter(self._jobs))
                    if not self._jobs[oldest].done():
                        break
                    del self._jobs[oldest]
        if not job.done():
            return LayoutState("running")
        error = job.exception()
        if error is not None:
            with self._lock:  # a later look tries again (e.g. the worker process was killed)
                if self._jobs.get(key) is job:
                    del self._jobs[key]
            return LayoutState("failed", message=str(error) or type(error).__name__)
        return LayoutState("ready", xy=job.result())

    def _submit(self, key: str, graph: Any, embeddings: np.ndarray) -> concurrent.futures.Future[np.ndarray]:
        args = (np.asarray(graph.indices), np.asarray(graph.similarities), str(graph.metric), embeddings)
        if graph.indices.shape[0] <= THREAD_MAX_ROWS:
            job = self._threads.submit(_layout_rows, *args)
        else:
            job = self._process_pool().submit(_layout_rows, *args)

        def store(done: concurrent.futures.Future[np.ndarray]) -> None:
            if done.exception() is None:
                try:
                    save_array(key, {"xy": done.result()}, {"what": "umap layout", **UMAP_SETTINGS})
                except OSError:  # a full or read-only disk: the layout is still in memory
                    pass

        job.add_done_callback(store)
        return job


_LAYOUTS = _Layouts()


def layout(graph_key: str, graph: Any, embeddings: np.ndarray | None = None) -> LayoutState:
    """The UMAP layout of ``graph``: ready, or started in the background (returns at once either way).

    Parameters
    ----------
    graph_key : str
        What identifies the graph (the engine's graph key: embeddings' source and neighbours per row).
    graph : KNNGraph
        The graph; its ``embeddings`` are used unless ``embeddings`` is given.
    embeddings : numpy.ndarray, optional

    Returns
    -------
    LayoutState
    """
    from epoxy_core.projection import MAX_UMAP_ROWS, umap_available

    n_rows = int(graph.indices.shape[0])
    if not umap_available():
        return LayoutState("unavailable", message="umap-learn is not installed: the map is PCA.")
    if n_rows < 10:
        return LayoutState("unavailable", message="UMAP needs at least 10 rows: the map is PCA.")
    if n_rows > MAX_UMAP_ROWS:
        return LayoutState(
            "unavailable", message=f"Above {MAX_UMAP_ROWS:,} rows a UMAP layout takes too long: the map is PCA."
        )
    vectors = graph.embeddings if embeddings is None else embeddings
    if vectors is None:
        return LayoutState("unavailable", message="The graph carries no embeddings: the map is PCA.")
    key = content_key("umap_layout", graph_key, UMAP_SETTINGS)
    return _LAYOUTS.get(key, graph, np.asarray(vectors))


def warm_up() -> threading.Thread | None:
    """Compile umap-learn's kernels in this process, in the background (for the layouts run in a thread).

    Returns the warm-up thread (None without umap-learn).
    """
    from epoxy_core.projection import warm_up_umap

    return warm_up_umap(background=True)

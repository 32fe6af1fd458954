"""Benchmark the data map: UMAP from the k-NN graph already built vs the PCA fallback, at 10k and 100k rows.

What it prints (one run; the box may be shared, so every figure has its baseline from the same run):

- import cost in a fresh interpreter: ``import umap`` vs ``import sklearn.decomposition`` (what PCA needs);
- the first ``umap_points`` call in the process on 2,000 rows (numba compiles UMAP's layout then);
- at each size: ``pca_points`` (baseline) and ``umap_points`` wall time, both returning a 5,000-row sample;
- how well each map separates the data's clusters: leave-one-out 5-NN accuracy of the cluster label in the
  2-D map, over the 5,000 drawn points (chance = 1 / clusters).  A map that "tells the story" keeps
  neighbours together; PCA's two directions cannot separate 50 clusters in 384 dimensions.

The k-NN graph is built first (exact below 20,000 rows, PyNNDescent above, as the app does) and not timed
as part of the map: the app has it already.  Data: seeded clustered unit vectors, 384-d, 50 clusters.

Run from the project root (about 5-8 minutes on 2 cores, most of it the 100k graph and layout)::

    .venv/bin/python bench/umap_map.py
    .venv/bin/python bench/umap_map.py --sizes 10000   # quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / "data" / "numba_cache"))

import numpy as np  # noqa: E402

from epoxy_core.neighbors import build_knn_graph  # noqa: E402
from epoxy_core.projection import pca_points, umap_points  # noqa: E402

CLUSTERS = 50


def clustered(n: int, d: int = 384, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, d)).astype(np.float32)
    labels = rng.integers(0, CLUSTERS, n)
    vectors = centres[labels] + 1.5 * rng.standard_normal((n, d)).astype(np.float32)
    return vectors, labels


def import_seconds(module: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=os.environ.copy())
    return time.perf_counter() - start


def separation(points, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy of the cluster label in the 2-D map."""
    xy = points[["x", "y"]].to_numpy()
    truth = labels[points["row"].to_numpy()]
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    nearest = np.argpartition(d2, k, axis=1)[:, :k]
    votes = truth[nearest]
    predicted = np.array([np.bincount(row, minlength=CLUSTERS).argmax() for row in votes])
    return float((predicted == truth).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--max-points", type=int, default=5000)
    args = parser.parse_args()
    print(f"# {platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; 384-d, {CLUSTERS} clusters")

    print(f"import sklearn.decomposition (PCA), fresh process: {import_seconds('sklearn.decomposition'):6.1f} s")
    print(f"import umap, fresh process:                       {import_seconds('umap'):6.1f} s")

    warm, _ = clustered(2000, seed=1)
    start = time.perf_counter()
    umap_points(build_knn_graph(warm, n_neighbors=30), max_points=100)
    seconds = time.perf_counter() - start
    print(f"first umap_points in this process (2,000 rows, includes numba compilation): {seconds:6.1f} s")

    for n in args.sizes:
        vectors, labels = clustered(n)
        start = time.perf_counter()
        graph = build_knn_graph(vectors, n_neighbors=30)
        seconds = time.perf_counter() - start
        print(f"\n{n:,} rows: k-NN graph ({graph.method}, k=30) built in {seconds:.1f} s (not part of the map)")
        start = time.perf_counter()
        pca = pca_points(graph.embeddings, max_points=args.max_points)
        pca_seconds = time.perf_counter() - start
        start = time.perf_counter()
        umap = umap_points(graph, max_points=args.max_points)
        umap_seconds = time.perf_counter() - start
        print(f"  pca_points  (baseline): {pca_seconds:7.2f} s   cluster separation {separation(pca, labels):.3f}")
        print(
            f"  umap_points (all rows): {umap_seconds:7.2f} s   cluster separation {separation(umap, labels):.3f}"
            f"   ({umap_seconds / max(pca_seconds, 1e-9):.0f}x PCA; chance {1 / CLUSTERS:.3f})"
        )


if __name__ == "__main__":
    main()

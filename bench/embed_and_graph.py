"""Benchmark: k-NN graph build time and recall, and the cost of reopening a dataset (cached embeddings + graph).

Run from the project root (not a test; prints a table; about 5 minutes on 2 cores):

    .venv/bin/python bench/embed_and_graph.py [--quick]

Targets: graph 100k x 384 <= 60 s with recall@15 >= 0.95 and >= 2x faster than exact; second open
<= 2 s.  ``--quick`` uses 10x smaller inputs to check that the script runs.  Embedder quality and
throughput, side by side, are in ``bench/embedders.py``; MiniLM's settings in ``bench/minilm_profile.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Keep numba's compiled cache in the project (warm between runs) while the array cache
# goes to a throw-away directory, so the bench neither reads stale entries nor litters data/.
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / "data" / "numba_cache"))
os.environ["EPOXY_DATA_DIR"] = tempfile.mkdtemp(prefix="epoxy-bench-")

import numpy as np  # noqa: E402

from epoxy_core.embed import cached_embed_texts  # noqa: E402
from epoxy_core.neighbors import build_knn_graph, cached_knn_graph  # noqa: E402

ROWS: list[tuple[str, str, str]] = []
SYNTHETIC: dict[int, list[str]] = {}


CPU_SECONDS: list[float] = []


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Wall-clock seconds; the process CPU seconds go to CPU_SECONDS (the box may be shared)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    CPU_SECONDS.append(time.process_time() - cpu)
    return result, time.perf_counter() - start


def report(section: str, what: str, figure: str, cpu: float | None = None) -> None:
    if cpu is not None:
        figure = f"{figure}, cpu {cpu:.1f} s"
    ROWS.append((section, what, figure))
    print(f"  {section:<10} {what:<58} {figure}", flush=True)


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """Short comment-like texts: topic words plus common words, Zipf-distributed lengths."""
    if seed == 0 and n in SYNTHETIC:
        return SYNTHETIC[n]
    rng = np.random.default_rng(seed)
    common = "the a this is my you and to of it so i love check out video song great please".split()
    topics = [[f"t{t}w{w}" for w in range(30)] for t in range(200)]
    texts = []
    for _ in range(n):
        topic = topics[rng.integers(len(topics))]
        length = int(min(40, 3 + rng.zipf(1.6)))
        words = [
            topic[rng.integers(30)] if rng.random() < 0.4 else common[rng.integers(len(common))] for _ in range(length)
        ]
        texts.append(" ".join(words))
    return texts


def clustered_vectors(n: int, d: int = 384, n_clusters: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d)).astype(np.float32)
    labels = rng.integers(0, n_clusters, n)
    vectors = centres[labels] + 0.8 * rng.standard_normal((n, d)).astype(np.float32)
    return vectors


def recall_at(approx: np.ndarray, exact: np.ndarray, k: int) -> float:
    hits = sum(np.intersect1d(a[:k], b[:k]).size for a, b in zip(approx, exact, strict=True))
    return hits / (exact.shape[0] * k)


def bench_graphs(sizes: list[int], k: int) -> None:
    print(f"Graph build, d=384 clustered vectors, k={k} (PyNNDescent on L2-normalised, euclidean)", flush=True)
    for n in sizes:
        X = clustered_vectors(n)
        runs = ["cold (first in process, JIT)", "warm"] if n == sizes[0] else ["warm"]
        approx = None
        for label in runs:
            approx, seconds_nnd = timed(lambda X=X: build_knn_graph(X, n_neighbors=k, method="pynndescent"))
            report("graph", f"n={n:,} pynndescent {label}", f"{seconds_nnd:8.1f} s", CPU_SECONDS[-1])
        exact, seconds_exact = timed(lambda X=X: build_knn_graph(X, n_neighbors=k, method="exact"))
        report("graph", f"n={n:,} exact (blocked BLAS)", f"{seconds_exact:8.1f} s", CPU_SECONDS[-1])
        assert approx is not None
        report(
            "graph",
            f"n={n:,} recall@15 / recall@{k} vs exact; exact / pynndescent (warm)",
            f"{recall_at(approx.indices, exact.indices, 15):.3f} / {recall_at(approx.indices, exact.indices, k):.3f};"
            f" {seconds_exact / seconds_nnd:.1f}x",
        )


def bench_second_open(n: int, k: int) -> None:
    print(f"Second open of a {n:,}-row dataset (cache in a temporary EPOXY_DATA_DIR)", flush=True)
    texts = synthetic_texts(n)
    embeddings, seconds = timed(lambda: cached_embed_texts(texts, model="tfidf"))
    report("open", f"first open: tfidf embeddings of {n:,} texts + cache write", f"{seconds:8.1f} s", CPU_SECONDS[-1])
    _, seconds = timed(lambda: cached_knn_graph(embeddings, n_neighbors=k))
    report("open", f"first open: graph {embeddings.shape} + cache write", f"{seconds:8.1f} s", CPU_SECONDS[-1])

    def reopen() -> None:
        again = cached_embed_texts(texts, model="tfidf")
        cached_knn_graph(again, n_neighbors=k)

    _, seconds = timed(reopen)
    report("open", "second open: cached embeddings + cached graph (tfidf, d=256)", f"{seconds:8.2f} s")

    X = clustered_vectors(n, seed=2)
    cached_knn_graph(X, n_neighbors=k)
    _, seconds = timed(lambda: cached_knn_graph(X, n_neighbors=k))
    report("open", f"cached graph read for {n:,} x 384 (hash + read)", f"{seconds:8.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10x smaller inputs, to check the script runs")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    k = 30
    start = time.perf_counter()
    print(f"Load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (others may share the box)")
    bench_graphs([10_000 // scale, 100_000 // scale], k=k)
    bench_second_open(100_000 // scale, k=k)
    print(f"\nTotal {time.perf_counter() - start:.0f} s on {os.cpu_count()} cores\n")
    print(f"| {'part':<8} | {'measurement':<70} | {'result':<32} |")
    print(f"|{'-' * 10}|{'-' * 72}|{'-' * 34}|")
    for section, what, figure in ROWS:
        print(f"| {section:<8} | {what:<70} | {figure.strip():<32} |")


if __name__ == "__main__":
    main()

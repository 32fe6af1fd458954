"""Benchmark graph building, reopening and memory at 100k x 384: each step in a fresh process.

Run from the project root (about 3-6 minutes on the 2-core machine, < 2 GB)::

    .venv/bin/python bench/graph_build.py
    .venv/bin/python bench/graph_build.py --rows 20000      # quick look

Steps, each in its own Python process so that no step inherits another's compiled code or caches:

1. ``warm_up_jit(background=False)``: PyNNDescent's numba compilation (what the app pays once, in the
   background, at start), then ``build_knn_graph`` twice in the same process: the first build shows what
   the tiny warm-up left uncompiled, the second is the warm build (target <= 10 s at 100k).
   The warm build goes through ``cached_knn_graph``, which stores the graph on disk.
2. ``cached_knn_graph`` in a fresh process: reopens it (target <= 2 s), timed from the embeddings
   in memory to the graph (hashing the embeddings for the cache key included).
3. The library path's memory, in a fresh process: load the embeddings, reopen the graph, make a
   ``LabelingSession``, set 20 LFs and ask for results; RSS after that (target <= 1.5 GB at 100k).

The numba cache is the project's usual one (``data_dir()/numba_cache``), so step 1 shows the warm-cache
compile time after a first run; graphs go to a temporary data directory.  Load averages are printed with
every figure: the machine is shared, so compare ratios, and re-run on a quiet machine for final figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_WARM_BUILD_S = 10.0
TARGET_REOPEN_S = 2.0
TARGET_RSS_MB = 1536.0


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _step(name: str, work: Path) -> dict:
    """Run one step in this (fresh) process and return its figures."""
    import numpy as np

    embeddings = np.load(work / "embeddings.npy")
    out: dict = {"load": _load()}
    if name == "jit":
        from epoxy_core.neighbors import build_knn_graph, cached_knn_graph, warm_up_jit

        start = time.perf_counter()
        warm_up_jit(background=False)
        out["warm_up_s"] = time.perf_counter() - start
        start = time.perf_counter()
        build_knn_graph(embeddings, n_neighbors=30, method="pynndescent")
        out["first_build_s"] = time.perf_counter() - start
        start = time.perf_counter()
        cached_knn_graph(embeddings, n_neighbors=30, method="pynndescent")  # builds again, and stores it
        out["warm_build_s"] = time.perf_counter() - start
    elif name == "reopen":
        from epoxy_core.neighbors import cached_knn_graph

        start = time.perf_counter()
        graph = cached_knn_graph(embeddings, n_neighbors=30, method="pynndescent")
        out[f"{name}_s"] = time.perf_counter() - start
        out["graph_mb"] = (graph.indices.nbytes + graph.similarities.nbytes) / 2**20
    elif name == "memory":
        import pandas as pd
        from interactive_loop import make_lfs

        from epoxy_core.data import DatasetSpec, prepare_dataset
        from epoxy_core.neighbors import cached_knn_graph
        from epoxy_core.session import LabelingSession

        out["rss_embeddings_mb"] = _rss_mb()
        graph = cached_knn_graph(embeddings, n_neighbors=30, method="pynndescent")
        out["rss_graph_mb"] = _rss_mb()
        frame = pd.read_parquet(work / "texts.parquet")
        dataset = prepare_dataset(frame, DatasetSpec("text", class_names=["neg", "pos"]))
        session = LabelingSession(dataset, graph=graph, end_model=False)
        session.set_lfs(make_lfs())
        session.wait_exact()
        session.results(0.8, class_balance="uniform")
        out["rss_session_mb"] = _rss_mb()
        out["cache_mb"] = sum(session.cache_bytes().values()) / 2**20
    out["load_after"] = _load()
    return out


def _run(name: str, work: Path, env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--step", name, "--work", str(work)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"step {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(_step(args.step, Path(args.work))))
        return

    import interactive_loop
    import numpy as np

    from epoxy_core.config import data_dir

    print(f"Graph build / reopen / memory benchmark, {args.rows:,} rows x {interactive_loop.DIM} dims, k = 30")
    print(f"{os.cpu_count()} cores; load average {_load()} (1, 5, 15 min)")
    with tempfile.TemporaryDirectory(prefix="epoxy-graph-bench-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        data = interactive_loop.make_dataset(args.rows)
        np.save(work / "embeddings.npy", data.embeddings)
        data.df.to_parquet(work / "texts.parquet")
        print(f"data: {time.perf_counter() - start:.1f} s (synthetic, as in bench/interactive_loop.py)", flush=True)
        env = {
            **os.environ,
            "EPOXY_DATA_DIR": str(work / "data"),
            "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(data_dir() / "numba_cache")),
        }
        figures = {}
        for name in ("jit", "reopen", "memory"):
            figures[name] = _run(name, work, env)
            print(f"  {name}: {figures[name]}", flush=True)

    jit, reopen, memory = figures["jit"], figures["reopen"], figures["memory"]
    print("\nRESULTS (seconds; each step a fresh process; load average before -> after the step)")
    rows = [
        ("numba warm-up (warm_up_jit, foreground)", jit["warm_up_s"], None, jit),
        ("first build after warm-up", jit["first_build_s"], None, jit),
        ("warm build + store (second build, same process)", jit["warm_build_s"], TARGET_WARM_BUILD_S, jit),
        ("reopen from disk (cached_knn_graph, fresh process)", reopen["reopen_s"], TARGET_REOPEN_S, reopen),
    ]
    for label, value, target, step in rows:
        verdict = "" if target is None else f"  target <= {target:.0f} s: {'PASS' if value <= target else 'MISS'}"
        print(f"  {label:<52} {value:>7.1f} s   load {step['load']} -> {step['load_after']}{verdict}")
    rss = memory["rss_session_mb"]
    print(
        f"  RSS: embeddings {memory['rss_embeddings_mb']:,.0f} MB, + graph {memory['rss_graph_mb']:,.0f} MB, "
        f"+ session with 20 LFs and results {rss:,.0f} MB (caches {memory['cache_mb']:,.0f} MB); "
        f"target <= {TARGET_RSS_MB:,.0f} MB: {'PASS' if rss <= TARGET_RSS_MB else 'MISS'}"
    )


if __name__ == "__main__":
    main()

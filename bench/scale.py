"""Benchmark ``epoxy label`` at scale: 1M synthetic rows in 16 Parquet files, local engine vs Dask on 2 workers.

Run from the project root (one run < 10 min and < 6 GB on the 2-core machine; nice it, the machine is shared)::

    nice -n 5 .venv/bin/python bench/scale.py                        # 1M rows, 16 files (the issue's case)
    nice -n 5 .venv/bin/python bench/scale.py --rows 100000          # a quick look
    .venv/bin/python bench/scale.py --rows 1000000 --engines dask    # one engine only

What it does, in one process (the local engine's figures are the baseline of the Dask ones, same run):

1. writes ``--rows`` synthetic comments (two classes, words correlated with the class, 6-25 words each) into
   ``--files`` Parquet files under a temp folder, seeded;
2. fits a project on a ``--project-rows`` sample with 200 dev labels (WordLlama, exact graph, every LF's
   threshold at ``--threshold`` so that every LF extends: the support search then costs what it costs at
   most; ``--tune`` tunes instead, which on this synthetic data turns extension off), label model + end
   model, and saves its bundle with the default support cap;
3. labels all files with each engine (``epoxy_core.batch.label_files``; the Dask engine starts a 2-worker
   LocalCluster on 127.0.0.1, started outside the timed region), checks the two outputs agree (labels equal,
   probabilities to 1e-6), and prints wall time, rows/s, and each process's peak RSS;
4. times each labeling stage on one partition (read, embed, LFs, extension, label model, end model, write) to
   say where a worker's time goes;
5. projects the throughput to N machines from the measured rows/s per worker-second, with what stays central.

The load average is printed beside the figures: on a shared 2-core machine the two Dask workers compete with
other jobs, so the lead re-runs final figures on a quiet machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from epoxy_core.batch import label_files
from epoxy_core.batch.labeling import bundle_columns, peak_rss_bytes, process_bundle
from epoxy_core.batch.partitions import list_input_files, plan_partitions, read_partition
from epoxy_core.bundle import DEFAULT_MAX_VOTERS_PER_LF, load_bundle
from epoxy_core.data import DatasetSpec
from epoxy_core.fitting import fit_project
from epoxy_core.lf import KeywordLF, RegexLF

CLASS_NAMES = ["ham", "spam"]
SPAM_WORDS = (
    "subscribe channel check out free gift card click link win prize giveaway visit website promo code "
    "follow me discount offer cash money earn bonus deal"
).split()
HAM_WORDS = (
    "song love voice beautiful music melody lyrics singer amazing guitar beat chorus memories favourite "
    "listening classic talent concert album dance"
).split()


NEUTRAL_WORDS = (
    "the a and to of in is it you that was for on are with as i his they be at one have this from or had by "
    "but what some we can out other were all there when up use your how said an each she which do their time "
    "if will way about many then them write would like so these her long make thing see him two has look more "
    "day could go come did number sound no most people my over know water than call first who may down side "
    "been now find any new work part take get place made live where after back little only round man year "
    "came show every good me give our under name very through just form sentence great think say help low "
    "line differ turn cause much mean before move right boy old too same tell does set three want air well "
    "also play small end put home read hand port large spell add even land here must big high such follow "
    "act why ask men change went light kind off need house picture try us again animal point mother world "
    "near build self earth father head stand own page should country found answer school grow study still "
    "learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard "
    "start might story saw far sea draw left late run while press close night real life few north open seem "
    "together next white children begin got walk example ease paper group always those both mark often "
    "until mile river car feet care second book carry took science eat room friend began idea fish mountain "
    "stop once base hear horse cut sure watch color face wood main enough plain girl usual young ready above "
    "ever red list though feel talk bird soon body dog family direct pose leave song measure door product"
).split()
"""Common English words (real words tokenise like real comments: about 1.3 tokens per word)."""


def make_comments(n: int, seed: int, start_id: int = 0) -> pd.DataFrame:
    """``n`` synthetic comments: ``row_id``, ``text``, ``truth`` (class name), about half spam.

    Each word is one of the row's class words with probability 0.18, one of the other class's with 0.04, else
    one of ~450 common English words; texts have 6-25 words.  Vectorised: 1M rows take a few seconds.
    """
    rng = np.random.default_rng(seed)
    vocabulary = np.array([*HAM_WORDS, *SPAM_WORDS, *NEUTRAL_WORDS])
    first = {0: 0, 1: len(HAM_WORDS)}
    size = {0: len(HAM_WORDS), 1: len(SPAM_WORDS)}
    y = rng.integers(0, 2, size=n)
    lengths = rng.integers(6, 26, size=n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    label = np.repeat(y, lengths)
    u = rng.random(offsets[-1])
    own_first = np.where(label == 1, first[1], first[0])
    own_size = np.where(label == 1, size[1], size[0])
    other_first = np.where(label == 1, first[0], first[1])
    other_size = np.where(label == 1, size[0], size[1])
    neutral_first = len(HAM_WORDS) + len(SPAM_WORDS)
    pick = rng.random(offsets[-1])
    index = np.where(
        u < 0.18,
        own_first + (pick * own_size).astype(np.int64),
        np.where(
            u < 0.22,
            other_first + (pick * other_size).astype(np.int64),
            neutral_first + (pick * (len(vocabulary) - neutral_first)).astype(np.int64),
        ),
    )
    words = vocabulary[index].tolist()
    texts = [" ".join(words[a:b]) for a, b in itertools.pairwise(offsets)]
    return pd.DataFrame(
        {
            "row_id": np.arange(start_id, start_id + n, dtype=np.int64),
            "text": texts,
            "truth": np.array(CLASS_NAMES, dtype=object)[y],
        }
    )


def benchmark_lfs() -> list:
    return [
        KeywordLF("subscribe", 1, ["subscribe"]),
        KeywordLF("free gift", 1, ["free", "gift"]),
        KeywordLF("click link", 1, ["click", "link"]),
        KeywordLF("giveaway", 1, ["giveaway", "prize"]),
        KeywordLF("song", 0, ["song"]),
        KeywordLF("voice", 0, ["voice", "singer"]),
        KeywordLF("melody", 0, ["melody", "lyrics"]),
        RegexLF("check out", 1, r"check \w+ out|check out"),
    ]


def write_files(root: Path, rows: int, files: int, seed: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    bounds = np.linspace(0, rows, files + 1).astype(int)
    for i in range(files):
        frame = make_comments(int(bounds[i + 1] - bounds[i]), seed=seed + i, start_id=int(bounds[i]))
        path = root / f"comments-{i:02d}.parquet"
        pq.write_table(pa.Table.from_pandas(frame.drop(columns=["truth"]), preserve_index=False), path)
        paths.append(path)
    return paths


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def stage_times(bundle_path: Path, data: Path, rows: int) -> dict[str, float]:
    """Seconds per stage for the first ``rows`` rows of one partition (local process, bundle already loaded)."""
    bundle = process_bundle(bundle_path)
    partition = plan_partitions(list_input_files(data))[0]
    out: dict[str, float] = {}
    t = time.perf_counter()
    frame = read_partition(partition, bundle_columns(bundle, None, None)).iloc[:rows]
    out["read"] = time.perf_counter() - t
    t = time.perf_counter()
    embeddings = bundle.embed(frame["text"].tolist())
    out["embed"] = time.perf_counter() - t
    t = time.perf_counter()
    L = bundle._apply(frame, "text", embeddings)
    out["LFs"] = time.perf_counter() - t
    t = time.perf_counter()
    L_extended = bundle.extend(L, embeddings)
    out["extension"] = time.perf_counter() - t
    t = time.perf_counter()
    lm = bundle.label_model.predict_proba(L_extended)
    out["label model"] = time.perf_counter() - t
    t = time.perf_counter()
    em = bundle.end_model.predict_proba(embeddings) if bundle.end_model is not None else None
    out["end model"] = time.perf_counter() - t
    from epoxy_core.export import labels_arrow

    t = time.perf_counter()
    table = labels_arrow(
        bundle.class_names,
        label_model_proba=lm,
        end_model_proba=em,
        L=L,
        L_extended=L_extended,
        lf_names=bundle.lf_names,
        ids=frame["row_id"],
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    out["output"] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--project-rows", type=int, default=10_000, help="rows the bundle is fitted on")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engines", default="local,dask", help="comma-separated: local, dask")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.6,
        help="every LF's extension threshold (default 0.6: every LF extends, the support search's full cost)",
    )
    parser.add_argument("--tune", action="store_true", help="tune on the 200 dev labels instead (slow)")
    parser.add_argument("--stage-rows", type=int, default=20_000, help="rows of the per-stage timing")
    parser.add_argument("--keep", metavar="DIR", help="keep the data, bundle and outputs in DIR")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="epoxy-scale-"))
    print(f"epoxy label at scale: {args.rows:,} rows in {args.files} Parquet files; load average {load_average()}")
    try:
        t = time.perf_counter()
        data = root / "data"
        files = write_files(data, args.rows, args.files, args.seed)
        size = sum(p.stat().st_size for p in files)
        print(f"data: {len(files)} files, {mib(size)} on disk, written in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        project = make_comments(args.project_rows, seed=10_000 + args.seed, start_id=10_000_000)
        dev = np.random.default_rng(args.seed).choice(len(project), size=200, replace=False)
        project["label"] = None
        project.loc[dev, "label"] = project.loc[dev, "truth"]
        fitted = fit_project(
            project.drop(columns=["truth"]),
            DatasetSpec("text", "label", class_names=CLASS_NAMES),
            benchmark_lfs(),
            embedder="wordllama",
            threshold=args.threshold,
            tune=args.tune,
            class_balance="dev labels",
        )
        bundle_path = fitted.save_bundle(root / "bench.bundle", overwrite=True)
        bundle = load_bundle(bundle_path)
        fit_seconds = time.perf_counter() - t
        print(
            f"bundle: fitted on {args.project_rows:,} rows in {fit_seconds:.1f} s; {bundle.describe()}\n"
            f"  {fitted.tuning['message']} Coverage {100 * (fitted.L != -1).any(axis=1).mean():.1f}% -> "
            f"{100 * fitted.covered.mean():.1f}% with extension.\n"
            f"  support set {bundle.support.embeddings.shape[0]:,} rows (cap {DEFAULT_MAX_VOTERS_PER_LF:,} per LF; "
            f"voters per LF {bundle.support.voters.tolist()}, kept {bundle.support.kept.tolist()}); "
            f"bundle {mib(sum(p.stat().st_size for p in bundle_path.iterdir()))}\n"
            f"  exact support search: {int(bundle.support.kept.sum()):,} (row, voter) similarities per labeled row "
            f"= {2 * int(bundle.support.kept.sum()) * bundle.dim / 1e6:.1f} MFLOP per row"
        )

        times = stage_times(bundle_path, data, args.stage_rows)
        total = sum(times.values())
        print(f"stages on {args.stage_rows:,} rows of one partition (this process, BLAS threads default):")
        for name, seconds in times.items():
            share = 100 * seconds / total
            print(f"  {name:12s} {seconds:7.2f} s  {share:5.1f}%  {args.stage_rows / seconds:>12,.0f} rows/s")
        print(f"  {'total':12s} {total:7.2f} s         {args.stage_rows / total:>12,.0f} rows/s")

        runs = {}
        for name in engines:
            out = root / f"labels-{name}"
            engine_obj = None
            if name == "dask":
                from epoxy_core.batch.dask import DaskEngine

                engine_obj = DaskEngine(n_workers=args.workers)
                t = time.perf_counter()
                engine_obj.workers()  # start the cluster outside the timed region
                print(f"dask: LocalCluster of {args.workers} worker processes up in {time.perf_counter() - t:.1f} s")
            load_before = load_average()
            try:
                run = label_files(data, bundle_path, out, engine=engine_obj or "local", overwrite=True)
            finally:
                if engine_obj is not None:
                    engine_obj.close()
            runs[name] = run
            busy = sum(r.seconds for r in run.results)
            peaks = run.peak_rss_by_worker()
            print(
                f"{name}: {run.n_rows:,} rows in {run.seconds:.1f} s = {run.rows_per_second:,.0f} rows/s wall "
                f"({run.n_rows / busy:,.0f} rows per worker-second over {len(peaks)} process(es)); "
                f"load average before {load_before}, after {load_average()}"
            )
            for worker, peak in sorted(peaks.items()):
                print(f"  peak RSS {worker}: {mib(peak)}")
        if {"local", "dask"} <= runs.keys():
            a = pd.read_parquet(runs["local"].output)
            b = pd.read_parquet(runs["dask"].output)
            probabilities = [c for c in a.columns if "P(" in c]
            same_labels = bool((a["label"].astype(str) == b["label"].astype(str)).all())
            gap = float(np.abs(a[probabilities].to_numpy() - b[probabilities].to_numpy()).max())
            print(f"local vs dask: labels identical {same_labels}, max |dP| {gap:.2e}")
            speedup = runs["local"].seconds / runs["dask"].seconds
            print(f"dask ({args.workers} workers) / local wall-time speed-up: {speedup:.2f}x")

        reference = runs.get("dask") or runs.get("local")
        if reference is not None:
            per_worker = reference.n_rows / sum(r.seconds for r in reference.results)
            print(
                f"projection from {per_worker:,.0f} rows per worker-second (one core per worker, this machine):\n"
                "  machines x workers   rows/s      1M rows    100M rows"
            )
            for machines in (1, 4, 16, 64):
                for workers in (2, 8):
                    rate = machines * workers * per_worker
                    print(
                        f"  {machines:>8} x {workers:<7} {rate:>10,.0f}  {1e6 / rate:>8.1f} s  "
                        f"{1e8 / rate / 60:>8.1f} min"
                    )
            print(
                "  central: planning (Parquet footers, O(files)), the scheduler (~1 ms per partition task), the\n"
                "  bundle sent once per worker, and a single-file output's merge (a folder of parts avoids it).\n"
                f"  per worker: the bundle ({mib(sum(p.stat().st_size for p in bundle_path.iterdir()))}), "
                "epoxy-studio + wordllama installed, about the peak RSS above, and the input/output folders on a\n"
                "  shared file system."
            )
        print(f"this process (client, data generation, checks) peak RSS {mib(peak_rss_bytes())}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

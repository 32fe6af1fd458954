"""Label-model speed at the sizes users have: fit + predict_proba on 1,000,000 rows x 20 LFs.

Prints the current ``TripletLabelModel`` beside the previous implementation (read from git at
``--baseline``, by default the commit before the label-model rework) in the same run, interleaved, so the
ratio stays meaningful on a busy machine::

    .venv/bin/python bench/label_model_speed.py [--rows 1000000] [--lfs 20] [--repeats 3]

Votes are keyword-like one-class LFs, independent given the label, coverage 2-30%.  Each setting is timed
``--repeats`` times; the minimum is printed (the least disturbed run).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from epoxy_core.model.triplet import TripletLabelModel  # noqa: E402

BASELINE = "c2fdc3b"  # the last commit with the previous triplet.py


def previous_model(commit: str) -> type | None:
    """The TripletLabelModel class of ``commit``, or None when git cannot provide it."""
    try:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:epoxy_core/model/triplet.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "previous_triplet.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("previous_triplet", path)
    module: ModuleType = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.TripletLabelModel


def keyword_votes(n: int, m: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    balance = np.array([0.6, 0.4])
    y = rng.choice(2, size=n, p=balance)
    L = np.full((n, m), -1, dtype=np.int8)
    for j in range(m):
        c, coverage = j % 2, rng.uniform(0.02, 0.3)
        precision = min(0.95, balance[c] + rng.uniform(0.1, 0.3))
        fires = rng.random(n) < np.where(
            y == c, precision * coverage / balance[c], (1 - precision) * coverage / balance[1 - c]
        )
        L[fires, j] = c
    return L


def seconds(make: Any, L: np.ndarray, class_balance: Any) -> float:
    start = time.perf_counter()
    make().fit(L, class_balance=class_balance).predict_proba(L)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lfs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help="git commit of the previous implementation")
    args = parser.parse_args()

    L = keyword_votes(args.rows, args.lfs)
    previous = previous_model(args.baseline)
    settings = [
        ("new, default (estimate)", TripletLabelModel, None),
        ("new, fixed prior", TripletLabelModel, [0.6, 0.4]),
    ]
    if previous is not None:
        settings += [("previous, default (estimate)", previous, None), ("previous, fixed prior", previous, [0.6, 0.4])]
    else:
        print(f"(git show {args.baseline} failed: no baseline)")
    times: dict[str, list[float]] = {name: [] for name, _, _ in settings}
    for _name, make, balance in settings:  # warm-up: imports, BLAS threads, page faults
        seconds(make, L[:10_000], balance)
    for _ in range(args.repeats):
        for name, make, balance in settings:
            times[name].append(seconds(make, L, balance))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"fit + predict_proba, {args.rows:,} rows x {args.lfs} LFs, min of {args.repeats} (load {load:.1f})")
    for name, values in times.items():
        print(f"  {name:32s} {min(values):6.3f} s   (all: {', '.join(f'{v:.3f}' for v in values)})")


if __name__ == "__main__":
    main()

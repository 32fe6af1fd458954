"""The ``epoxy`` command line (also ``python -m epoxy_core``): fit a bundle, label tables of any size, report.

::

    epoxy fit DATA --lfs LFS.json --text-column text [--label-column label] [--sample N] --out spam.bundle
    epoxy label DATA --bundle spam.bundle --out labels.parquet [--engine local|dask] [--scheduler ADDR] [--workers N]
    epoxy report DATA --bundle spam.bundle --out report.html
    epoxy info spam.bundle

DATA is a CSV / TSV / JSON / Parquet file, a folder (searched recursively) or a glob (quote it).

Exit codes: 0 done; 2 bad command line; 3 bad input (unreadable file, missing column, bad LF file, unknown LF
type); 4 unusable bundle (incompatible version, damaged or edited file, embedder mismatch); 5 a missing optional
dependency (Dask); 130 interrupted; 1 an internal error (printed with its traceback: please report it).
User errors print one line, ``epoxy: error: <what to fix>``, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "EXIT_BAD_BUNDLE",
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_MISSING_DEPENDENCY",
    "build_parser",
    "bundle_report",
    "main",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_BAD_BUNDLE = 4
EXIT_MISSING_DEPENDENCY = 5
EXIT_INTERRUPTED = 130

log = logging.getLogger("epoxy")


class _Progress:
    """tqdm bars on stderr (rows, rate, ETA), or nothing with --quiet."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def bar(self, desc: str, total: int | None = None) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback driving one bar; the bar closes when done reaches total."""
        if self.quiet:
            return lambda done, total: None
        from tqdm import tqdm

        state: dict[str, Any] = {"bar": None}

        def update(done: int, size: int) -> None:
            bar = state["bar"]
            if bar is None:
                bar = state["bar"] = tqdm(
                    total=size or total, desc=desc, unit="rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True
                )
            bar.update(done - bar.n)
            if done >= (size or 0):
                bar.close()

        return update


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("epoxy: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def _threshold(text: str) -> float:
    if text.lower() in ("off", "none", "inf"):
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'off', got {text!r}") from None
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a cosine threshold lies in [-1, 1], got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _cap(text: str) -> int | str:
    return "all" if text.lower() in ("all", "none") else _positive_int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    # -q works before or after the command; SUPPRESS keeps a subcommand's default from undoing `epoxy -q fit`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings and errors; no bars"
    )

    parser = argparse.ArgumentParser(
        prog="epoxy",
        description="Epoxy Studio from the command line: develop LFs on a sample, label the whole table.",
        epilog="Exit codes: 0 ok, 2 usage, 3 bad input, 4 unusable bundle, 5 missing dependency, 1 internal error.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors; no progress bars")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        parents=[common],
        help="run the app's loop headless and write a bundle",
        description="Embed, build the k-NN graph, apply and extend the LFs, tune on the dev labels (if any), fit "
        "the label and end models, and write a bundle that labels new rows the same way.",
    )
    fit.add_argument("data", metavar="DATA", help="CSV / TSV / JSON / Parquet file, folder or glob")
    fit.add_argument("--lfs", required=True, metavar="LFS.json", help="LF set exported from the app (epoxy-lfs JSON)")
    fit.add_argument("--text-column", required=True, metavar="COL")
    fit.add_argument("--label-column", metavar="COL", help="gold labels (class names); labeled rows are the dev set")
    fit.add_argument("--class-names", metavar="A,B,...", help="classes in class-index order (default: from labels)")
    fit.add_argument(
        "--sample", type=_positive_int, metavar="N", help="fit on N rows: every dev row plus a seeded sample"
    )
    fit.add_argument("--seed", type=int, default=0, help="seed of --sample and of the support-set subsampling")
    fit.add_argument(
        "--model", default="wordllama", help="embedder: wordllama (default), minilm, st:<name>, onnx:<dir>"
    )
    fit.add_argument("--neighbors", type=_positive_int, default=None, metavar="K", help="k-NN graph neighbours")
    fit.add_argument(
        "--threshold", type=_threshold, default=None, metavar="T", help="threshold when not tuned (number or off)"
    )
    fit.add_argument("--class-balance", default=None, help="'dev labels', 'estimate', 'uniform' or p0,p1,...")
    fit.add_argument("--no-tune", action="store_true", help="do not tune on the dev labels")
    fit.add_argument("--no-end-model", action="store_true", help="final labels from the label model")
    fit.add_argument(
        "--max-voters-per-lf",
        type=_cap,
        default=None,
        metavar="N|all",
        help="support-set rows kept per LF (default 5000; all = exact)",
    )
    fit.add_argument("--labels-out", metavar="FILE.parquet", help="also write the in-project labels")
    fit.add_argument("--out", required=True, metavar="BUNDLE", help="bundle folder to write")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing bundle")

    label = commands.add_parser(
        "label",
        parents=[common],
        help="label every row of DATA with a bundle",
        description="Per partition: embed, apply the LFs, extend from the bundle's support set, label-model "
        "posterior, end-model prediction; write Parquet.",
    )
    label.add_argument("data", metavar="DATA", help="CSV / TSV / JSON / Parquet file, folder or glob")
    label.add_argument("--bundle", required=True, metavar="BUNDLE")
    label.add_argument("--out", required=True, metavar="OUT", help="a .parquet file, or a folder of part files")
    label.add_argument("--engine", choices=("local", "dask"), default="local")
    label.add_argument("--scheduler", metavar="ADDRESS", help="join a running Dask cluster (tcp://HOST:PORT)")
    label.add_argument("--workers", type=_positive_int, metavar="N", help="LocalCluster worker processes (default 2)")
    label.add_argument("--id-column", metavar="COL", help="row id copied to the output (default row_id if present)")
    label.add_argument("--text-column", metavar="COL", help="when the text column is not named as in the project")
    label.add_argument("--rows-per-partition", type=_positive_int, default=None, metavar="N")
    label.add_argument("--overwrite", action="store_true", help="replace an existing output")

    report = commands.add_parser(
        "report",
        parents=[common],
        help="write the stakeholder report (HTML) of a bundle on DATA",
        description="Label DATA with the bundle and write a self-contained HTML report (LF summary, comparison "
        "of models on the dev labels when DATA has them).",
    )
    report.add_argument("data", metavar="DATA")
    report.add_argument("--bundle", required=True, metavar="BUNDLE")
    report.add_argument("--out", required=True, metavar="report.html")
    report.add_argument("--label-column", metavar="COL", help="gold labels in DATA (default: the project's)")
    report.add_argument("--text-column", metavar="COL")
    report.add_argument("--title", default=None, help="project name in the report")
    report.add_argument("--overwrite", action="store_true")

    info = commands.add_parser("info", parents=[common], help="describe a bundle")
    info.add_argument("bundle", metavar="BUNDLE")
    return parser


# ---------------------------------------------------------------------------------------------- commands


def _read_data(data: str, columns: Sequence[str] | None = None) -> Any:
    """Every row of DATA as one DataFrame (fit and report hold their table in memory)."""
    import pandas as pd

    from epoxy_core.batch.partitions import list_input_files, plan_partitions, read_partition

    frames = [read_partition(p, columns) for p in plan_partitions(list_input_files(data), count_rows=False)]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _check_out(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise ValueError(f"{path} already exists; choose another --out or pass --overwrite.")


def _class_balance(text: str | None) -> Any:
    from epoxy_core.settings import DEFAULT_CLASS_BALANCE_MODE

    if text is None:
        return DEFAULT_CLASS_BALANCE_MODE
    if "," in text:
        try:
            return [float(part) for part in text.split(",")]
        except ValueError:
            raise ValueError(f"--class-balance {text!r}: probabilities must be numbers, e.g. 0.4,0.6.") from None
    return text


def _sample(df: Any, label_column: str | None, n: int, seed: int) -> Any:
    """Every labeled (dev) row plus a seeded uniform sample of the others, ``n`` rows in all, in table order."""
    import numpy as np

    from epoxy_core._cells import is_missing

    if n >= len(df):
        return df
    labeled = np.zeros(len(df), dtype=bool)
    if label_column is not None and label_column in df.columns:
        labeled = np.array([not is_missing(v) and str(v).strip() != "" for v in df[label_column].tolist()])
    others = np.flatnonzero(~labeled)
    room = max(0, n - int(labeled.sum()))
    if labeled.sum() > n:
        log.warning("--sample %d keeps all %d dev rows (more than N).", n, int(labeled.sum()))
    chosen = np.random.default_rng(seed).choice(others, size=min(room, others.size), replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(labeled), chosen]))
    return df.iloc[keep].reset_index(drop=True)


def _cmd_fit(args: argparse.Namespace, progress: _Progress) -> int:
    from epoxy_core.bundle import DEFAULT_MAX_VOTERS_PER_LF
    from epoxy_core.data import DatasetSpec
    from epoxy_core.fitting import fit_project
    from epoxy_core.lf import lfs_from_json
    from epoxy_core.settings import DEFAULT_N_NEIGHBORS, DEFAULT_THRESHOLD

    out = Path(args.out)
    _check_out(out, args.overwrite)
    labels_path = Path(args.labels_out) if args.labels_out else None
    if labels_path is not None:
        _check_out(labels_path, args.overwrite)  # before the fit, not after minutes of work
    lf_path = Path(args.lfs)
    if not lf_path.is_file():
        raise ValueError(f"No LF file at {lf_path}.")
    lfs = lfs_from_json(lf_path.read_bytes())
    start = time.perf_counter()
    df = _read_data(args.data)
    log.info("Read %s rows from %s", f"{len(df):,}", args.data)
    if args.sample:
        df = _sample(df, args.label_column, args.sample, args.seed)
        log.info("Fitting on a sample of %s rows (every dev row kept)", f"{len(df):,}")
    spec = DatasetSpec(
        text_column=args.text_column,
        label_column=args.label_column,
        class_names=[c.strip() for c in args.class_names.split(",")] if args.class_names else None,
    )
    step_start = [time.perf_counter()]

    def step(message: str) -> None:
        log.info("%s …", message)
        step_start[0] = time.perf_counter()

    fitted = fit_project(
        df,
        spec,
        lfs,
        embedder=args.model,
        n_neighbors=args.neighbors or DEFAULT_N_NEIGHBORS,
        threshold=DEFAULT_THRESHOLD
        if args.threshold is None
        else (None if math.isinf(args.threshold) else args.threshold),
        class_balance=_class_balance(args.class_balance),
        end_model=not args.no_end_model,
        tune=not args.no_tune,
        step=step,
        progress=progress.bar("Embedding"),
    )
    cap = {None: DEFAULT_MAX_VOTERS_PER_LF, "all": None}.get(args.max_voters_per_lf, args.max_voters_per_lf)
    fitted.save_bundle(out, max_voters_per_lf=cap, overwrite=args.overwrite, random_state=args.seed)
    covered = float(fitted.covered.mean())
    log.info(
        "Coverage %.1f%% after extension (%.1f%% before); %s",
        100 * covered,
        100 * float((fitted.L != -1).any(axis=1).mean()),
        fitted.tuning["message"],
    )
    if labels_path is not None:
        from epoxy_core.export import write_labels

        table = fitted.labels_table()
        write_labels(table, labels_path, "csv" if labels_path.suffix.lower() == ".csv" else "parquet")
        log.info("Wrote the in-project labels to %s", labels_path)
    log.info("Wrote bundle %s in %.1f s", out, time.perf_counter() - start)
    return EXIT_OK


def _format_bytes(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _cmd_label(args: argparse.Namespace, progress: _Progress) -> int:
    from epoxy_core.batch import label_files, make_engine
    from epoxy_core.batch.partitions import DEFAULT_ROWS_PER_PARTITION

    if args.engine == "local" and (args.scheduler or args.workers):
        raise ValueError("--scheduler and --workers are for --engine dask.")
    if args.scheduler and args.workers:
        log.warning("--workers is ignored with --scheduler: the cluster has the workers it has.")
    engine = make_engine(args.engine, scheduler=args.scheduler, workers=args.workers)
    try:
        if args.engine == "dask":
            log.info("Starting %s …", engine.describe())
        run = label_files(
            args.data,
            args.bundle,
            args.out,
            engine=engine,
            id_column=args.id_column,
            text_column=args.text_column,
            rows_per_partition=args.rows_per_partition or DEFAULT_ROWS_PER_PARTITION,
            overwrite=args.overwrite,
            progress=progress.bar("Labeling"),
        )
    finally:
        engine.close()
    peaks = run.peak_rss_by_worker()
    log.info(
        "Labeled %s rows in %d partitions in %.1f s (%s rows/s) with the %s; wrote %s",
        f"{run.n_rows:,}",
        run.n_partitions,
        run.seconds,
        f"{run.rows_per_second:,.0f}",
        run.engine,
        run.output,
    )
    log.info("Peak memory per process: %s", ", ".join(f"{w} {_format_bytes(b)}" for w, b in sorted(peaks.items())))
    return EXIT_OK


def _dev_labels(bundle: Any, df: Any, label_column: str | None, text_column: str | None) -> Any:
    """Gold class indices of DATA's labeled rows (ABSTAIN elsewhere), or None without a label column."""
    from epoxy_core.data import DatasetSpec, prepare_dataset

    column = label_column or bundle.info.get("label_column")
    if column is None or column not in df.columns:
        if label_column is not None:
            raise ValueError(f"The label column {label_column!r} is not in the data.")
        return None
    # The dataset's own reading of label cells (names, "1.0" for class "1", empty = unlabeled).
    spec = DatasetSpec(text_column or bundle.text_column, column, class_names=bundle.class_names)
    return prepare_dataset(df, spec).y


def bundle_report(
    bundle: Any,
    df: Any,
    *,
    label_column: str | None = None,
    text_column: str | None = None,
    title: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = 32_768,
) -> str:
    """The stakeholder report (:func:`epoxy_core.report.build_report`) of a bundle applied to a table.

    The rows are labeled as new rows (extension from the bundle's support set); with gold labels in
    ``label_column`` (default: the project's label column, when the data has it) the report scores the label
    model, majority vote and the end model on them, with the one headline convention.
    """
    import numpy as np

    from epoxy_core.analysis import lf_summary
    from epoxy_core.labels import ABSTAIN
    from epoxy_core.metrics import HEADLINE_CONVENTION, compare_models, headline_accuracy, label_model_metrics
    from epoxy_core.model import MajorityVote
    from epoxy_core.report import build_report

    parts = []
    if progress is not None:
        progress(0, len(df))
    for start in range(0, len(df), chunk_rows):
        parts.append(bundle.predict(df.iloc[start : start + chunk_rows], text_column=text_column))
        if progress is not None:
            progress(min(start + chunk_rows, len(df)), len(df))
    L = np.vstack([p.L for p in parts])
    L_ext = np.vstack([p.L_extended for p in parts])
    lm = np.vstack([p.label_model_proba for p in parts])
    em = None if bundle.end_model is None else np.vstack([p.end_model_proba for p in parts])
    covered = (L_ext != ABSTAIN).any(axis=1)
    final = em if em is not None else lm
    y = _dev_labels(bundle, df, label_column, text_column)
    names, classes = bundle.lf_names, bundle.class_names
    summary = lf_summary(L, L_ext, names=names, y=y, model=bundle.label_model, class_names=classes)
    comparison = headline = metrics = None
    n_dev = 0 if y is None else int((y != ABSTAIN).sum())
    if n_dev:
        dev = y != ABSTAIN
        balance = bundle.label_model.class_balance_
        majority = MajorityVote(cardinality=len(classes)).fit(L_ext, class_balance=balance).predict_proba(L_ext)
        scored = {"label model, extended": lm, "majority vote, extended": majority}
        if em is not None:
            scored["end model"] = em
        # Every model scored on all dev rows by the headline convention (an uncovered row gets the label
        # model's prior class, or the end model's label); coverage says how many dev rows some LF voted on.
        scores = {
            name: label_model_metrics(y[dev], proba=proba[dev], class_names=classes) for name, proba in scored.items()
        }
        for name in scores:
            scores[name]["coverage"] = 1.0 if name == "end model" else float(covered[dev].mean())
        comparison = compare_models(scores)
        result = headline_accuracy(y, final.argmax(axis=1), covered, prior=None if em is not None else balance)
        headline = result.text(classes)
        metrics = {"headline accuracy": result.accuracy, "coverage": result.coverage, "dev rows": n_dev}
    thresholds = {
        n: ("off" if not np.isfinite(t) else round(float(t), 4)) for n, t in zip(names, bundle.thresholds, strict=True)
    }
    method = {
        "labels from": f"bundle {bundle.path.name if bundle.path else ''} (created {bundle.info.get('created')})",
        "label model": type(bundle.label_model).__name__,
        "end model": "on (final labels)" if bundle.end_model is not None else "off",
        "extension": "from the bundle's support set, exact nearest voter: "
        + ", ".join(f"{k} {v}" for k, v in thresholds.items()),
        "support set": f"{bundle.support.embeddings.shape[0]:,} rows"
        + ("" if bundle.support.exact else " (subsampled)"),
        "tuning": (bundle.info.get("tuning") or {}).get("message", "not recorded"),
    }
    return build_report(
        project=title or (bundle.path.stem if bundle.path else "Epoxy bundle"),
        dataset={
            "rows": len(df),
            "dev labels": n_dev,
            "text column": text_column or bundle.text_column,
            "embedding": bundle.embedder.label,
            "project rows (bundle)": bundle.info.get("n_rows"),
        },
        lf_summary=summary,
        class_names=classes,
        comparison=comparison,
        class_balance=bundle.label_model.class_balance_,
        headline=headline,
        metrics=metrics,
        method=method,
        notes=[HEADLINE_CONVENTION, "Every row of the data was labeled as a new row with the bundle."],
        proba=final,
    )


def _cmd_report(args: argparse.Namespace, progress: _Progress) -> int:
    from epoxy_core.batch.labeling import process_bundle

    out = Path(args.out)
    _check_out(out, args.overwrite)
    bundle = process_bundle(args.bundle)
    df = _read_data(args.data)
    html = bundle_report(
        bundle,
        df,
        label_column=args.label_column,
        text_column=args.text_column,
        title=args.title,
        progress=progress.bar("Labeling"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    log.info("Wrote the report of %s rows to %s", f"{len(df):,}", out)
    return EXIT_OK


def _cmd_info(args: argparse.Namespace, progress: _Progress) -> int:
    from epoxy_core.bundle import load_bundle

    bundle = load_bundle(args.bundle)
    print(bundle.describe())
    summary = {
        "created": bundle.info.get("created"),
        "lfs": bundle.lf_names,
        "thresholds": [None if t == float("inf") else float(t) for t in bundle.thresholds],
        "class_names": bundle.class_names,
        "class_balance": [float(p) for p in bundle.label_model.class_balance_],
        "embedder": bundle.embedder.to_dict(),
        "support_rows": int(bundle.support.embeddings.shape[0]),
        "support_exact": bundle.support.exact,
        "project_rows": bundle.info.get("n_rows"),
        "tuning": bundle.info.get("tuning"),
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return EXIT_OK


_COMMANDS = {"fit": _cmd_fit, "label": _cmd_label, "report": _cmd_report, "info": _cmd_info}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exit_:  # argparse prints its own message
        return int(exit_.code or 0)
    _setup_logging(args.quiet)
    from epoxy_core.bundle import BundleError

    try:
        return _COMMANDS[args.command](args, _Progress(args.quiet))
    except KeyboardInterrupt:
        print("epoxy: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BundleError as error:
        print(f"epoxy: error: {error}", file=sys.stderr)
        return EXIT_BAD_BUNDLE
    except ImportError as error:
        print(f"epoxy: error: {error}", file=sys.stderr)
        return EXIT_MISSING_DEPENDENCY
    except (ValueError, OSError) as error:
        print(f"epoxy: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        traceback.print_exc()
        print("epoxy: internal error (the traceback above); please report it.", file=sys.stderr)
        return EXIT_INTERNAL

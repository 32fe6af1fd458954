"""One call to label files of any size with a bundle: plan partitions, run an engine, assemble the output."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow.parquet as pq

from epoxy_core.batch.labeling import (
    AtomicParquetWriter,
    PartitionResult,
    bundle_columns,
    part_name,
    process_bundle,
)
from epoxy_core.batch.local import LocalEngine
from epoxy_core.batch.partitions import (
    DEFAULT_ROWS_PER_PARTITION,
    Partition,
    list_input_files,
    plan_partitions,
)

__all__ = ["Engine", "LabelRun", "label_files", "make_engine"]

ProgressCallback = Callable[[int, int], None]


class Engine(Protocol):
    """What :func:`label_files` needs of an engine (:class:`LocalEngine`, :class:`DaskEngine`)."""

    name: str

    def run(
        self,
        bundle_path: str | os.PathLike[str],
        partitions: Sequence[Partition],
        out_dir: Path,
        *,
        id_column: str | None = None,
        text_column: str | None = None,
        on_rows: Callable[[int], None] | None = None,
    ) -> list[PartitionResult]: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LabelRun:
    """What :func:`label_files` did."""

    output: Path
    n_rows: int
    n_partitions: int
    seconds: float
    engine: str
    results: list[PartitionResult]

    @property
    def rows_per_second(self) -> float:
        return self.n_rows / self.seconds if self.seconds > 0 else float("nan")

    def peak_rss_by_worker(self) -> dict[str, int]:
        """Peak resident memory (bytes) of each process that labeled partitions."""
        peaks: dict[str, int] = {}
        for result in self.results:
            peaks[result.worker] = max(peaks.get(result.worker, 0), result.peak_rss_bytes)
        return peaks


def make_engine(
    engine: str = "local", *, scheduler: str | None = None, workers: int | None = None, chunk_rows: int | None = None
) -> Engine:
    """An engine by name: ``"local"`` or ``"dask"`` (a LocalCluster of ``workers`` processes, or ``scheduler``)."""
    extra: dict[str, Any] = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
    if engine == "local":
        if scheduler:
            raise ValueError("--scheduler needs --engine dask.")
        return LocalEngine(**extra)
    if engine == "dask":
        from epoxy_core.batch.dask import DaskEngine

        return DaskEngine(scheduler, n_workers=workers or 2, **extra)
    raise ValueError(f"Unknown engine {engine!r}; use 'local' or 'dask'.")


def _staging(target: Path, what: str) -> Path:
    folder = target.with_name(f".{target.name}.{what}-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _is_our_output(folder: Path) -> bool:
    return folder.is_dir() and all(p.name.startswith("part-") and p.suffix == ".parquet" for p in folder.iterdir())


def _merge_parts(parts: Sequence[Path], target: Path) -> None:
    """Concatenate part files into one Parquet file, one row group at a time (memory: one row group)."""
    with AtomicParquetWriter(target) as output:
        for part in parts:
            source = pq.ParquetFile(part)
            for g in range(source.num_row_groups):
                output.write(source.read_row_group(g))


def label_files(
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    bundle: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    engine: Engine | str = "local",
    id_column: str | None = None,
    text_column: str | None = None,
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> LabelRun:
    """Label every row of ``data`` with a bundle and write Parquet.

    Parameters
    ----------
    data : path, glob or sequence of them
        CSV / TSV / JSON / Parquet files, folders (searched recursively) or glob patterns.
    bundle : path
        A bundle folder (:func:`epoxy_core.bundle.save_bundle`).
    out : path
        A ``.parquet`` file (the parts are merged into it) or a folder of ``part-NNNNN.parquet`` files, one per
        partition, in input order (``pandas.read_parquet(folder)`` reads it back whole).
    engine : {"local", "dask"} or an engine object, default "local"
        :class:`~epoxy_core.batch.local.LocalEngine` or :class:`~epoxy_core.batch.dask.DaskEngine`; both
        write the same output.  An engine object passed in is left open (close it yourself).
    id_column : str, optional
        Column identifying rows (default ``row_id`` when the data has one, else the output's ``row`` column
        holds each row's position in the whole input).
    text_column : str, optional
        The text column, when not named as in the project.
    rows_per_partition : int, default 100_000
        See :func:`~epoxy_core.batch.partitions.plan_partitions`.
    overwrite : bool, default False
        Replace an existing output (a folder is replaced only if it holds nothing but part files).
    progress : callable, optional
        ``progress(done_rows, total_rows)`` as partitions (local engine: chunks) finish.

    Returns
    -------
    LabelRun

    Raises
    ------
    ValueError
        No input, an unreadable file, a missing column, an existing output, a bundle that cannot be used.
    """
    start = time.perf_counter()
    target = Path(out)
    single_file = target.suffix.lower() == ".parquet"
    if target.exists() and not overwrite:
        raise ValueError(f"{target} already exists; choose another output or allow overwriting (--overwrite).")
    if target.exists() and not single_file and not _is_our_output(target):
        raise ValueError(f"{target} exists and holds other files than labels parts; refusing to replace it.")
    if target.exists() and single_file and not target.is_file():
        raise ValueError(f"{target} is a folder; give a file name ending in .parquet or a folder name.")
    if not single_file and target.suffix.lower() in (".csv", ".json", ".jsonl", ".tsv"):
        raise ValueError(f"The labels are written as Parquet: give a .parquet file or a folder, not {target.name}.")

    files = list_input_files(data)
    bundle_path = Path(bundle)
    loaded = process_bundle(bundle_path)  # fails fast on a bad bundle or embedder, before any work
    required = bundle_columns(loaded, text_column, id_column)
    if id_column is None:
        required.remove("row_id")  # optional: positions are written without it
    partitions = plan_partitions(files, rows_per_partition=rows_per_partition, required_columns=required)
    total = sum(max(p.n_rows, 0) for p in partitions)
    runner = make_engine(engine) if isinstance(engine, str) else engine
    done = 0

    def on_rows(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging(target, "parts")
    try:
        results = runner.run(
            bundle_path, partitions, staging, id_column=id_column, text_column=text_column, on_rows=on_rows
        )
        parts = [staging / part_name(p.index) for p in partitions]
        if single_file:
            _merge_parts(parts, target)
        else:
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
    finally:
        if runner is not engine:
            runner.close()
        shutil.rmtree(staging, ignore_errors=True)
    return LabelRun(
        output=target,
        n_rows=sum(r.n_rows for r in results),
        n_partitions=len(partitions),
        seconds=time.perf_counter() - start,
        engine=runner.describe(),
        results=results,
    )

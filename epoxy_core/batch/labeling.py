"""Labeling one partition with a bundle, the same function in every engine.

:func:`label_partition` reads a partition, labels it in chunks of ``chunk_rows`` (so memory stays near one
chunk's embeddings and similarity block, whatever the partition size) and writes one Parquet file per
partition, atomically (a ``.part`` file renamed into place).  Bundles are loaded once per process and kept
(:func:`process_bundle`): a Dask worker therefore loads the embedder once and reuses it for every partition
it is given.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from epoxy_core.batch.partitions import Partition, read_partition
from epoxy_core.bundle import Bundle, load_bundle

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "AtomicParquetWriter",
    "PartitionResult",
    "bundle_columns",
    "label_partition",
    "part_name",
    "peak_rss_bytes",
    "process_bundle",
]

DEFAULT_CHUNK_ROWS = 32_768
"""Rows embedded, extended and written at a time inside a partition (one Parquet row group each)."""

_BUNDLES: dict[str, Bundle] = {}
_BUNDLES_LOCK = threading.Lock()


@dataclass(frozen=True)
class PartitionResult:
    """What labeling one partition did, for progress and the run summary."""

    index: int
    n_rows: int
    seconds: float
    output: str
    worker: str
    peak_rss_bytes: int


def peak_rss_bytes() -> int:
    """The peak resident memory of this process so far, in bytes.

    Linux's ``VmHWM`` (the high-water mark of this process's own memory).  ``getrusage``'s ``ru_maxrss`` is
    only the fallback: Linux carries it over ``fork`` and ``exec``, so a worker process spawned by a big
    parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _manifest_key(path: Path) -> str:
    # The manifest holds every file's checksum: equal manifests mean equal bundles.
    manifest = path / "manifest.json"
    stat = manifest.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def process_bundle(path: str | os.PathLike[str], *, key: str | None = None) -> Bundle:
    """The bundle at ``path``, loaded (and its embedder checked) once per process.

    ``key`` names an already registered bundle (a Dask worker plugin registers the bundle it received).
    """
    with _BUNDLES_LOCK:
        if key is not None and key in _BUNDLES:
            return _BUNDLES[key]
        folder = Path(path)
        if not (folder / "manifest.json").is_file():
            return load_bundle(folder)  # raises the reason: no folder, a file, no manifest
        cache_key = key or _manifest_key(folder)
        bundle = _BUNDLES.get(cache_key)
        if bundle is None:
            bundle = load_bundle(folder)
            bundle.check_embedder()  # loads the model: once per process, before the first partition
            _BUNDLES[cache_key] = bundle
        return bundle


def bundle_columns(bundle: Bundle, text_column: str | None, id_column: str | None) -> list[str]:
    """The input columns labeling reads: the text, every LF's columns, and the id column."""
    column = text_column or bundle.text_column
    needed = [column]
    for lf in bundle.lfs:
        needed += list(lf.required_columns(column))
    needed += [id_column or "row_id"]
    return list(dict.fromkeys(needed))


def part_name(index: int) -> str:
    """File name of partition ``index``'s output."""
    return f"part-{index:05d}.parquet"


class AtomicParquetWriter:
    """Append Arrow tables to a Parquet file as row groups; the file appears under its name only when complete.

    Used as a context manager: rows go to a hidden ``.part`` file that is renamed onto ``target`` when the
    block ends without an error (and removed when it does not), so a crashed worker or an interrupted merge
    never leaves a half-written file that a reader would take for labels.  Every table after the first is
    cast to the first one's schema (a column that is all-null in one chunk keeps the type of the others).
    """

    def __init__(self, target: str | os.PathLike[str]):
        self.target = Path(target)
        self.partial = self.target.with_name(f".{self.target.name}.{os.getpid()}.part")
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.partial, self._schema)
        else:
            try:
                table = table.cast(self._schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
                raise ValueError(
                    f"Rows written to {self.target.name} have other column types than the first ones ({error}); "
                    "the input files disagree on a column's type (the id column?)."
                ) from None
        self._writer.write_table(table)

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
                if kind is None:
                    os.replace(self.partial, self.target)
        finally:
            self.partial.unlink(missing_ok=True)


def label_partition(
    bundle: Bundle,
    partition: Partition,
    out_dir: str | os.PathLike[str],
    *,
    id_column: str | None = None,
    text_column: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_rows: Callable[[int], None] | None = None,
) -> PartitionResult:
    """Label one partition and write ``out_dir/part-NNNNN.parquet``.

    Parameters
    ----------
    bundle : Bundle
    partition : Partition
    out_dir : path
        An existing folder.
    id_column, text_column : str, optional
        See :meth:`epoxy_core.bundle.Bundle.label`.
    chunk_rows : int, default 32_768
        Rows labeled at a time.
    on_rows : callable, optional
        ``on_rows(n)`` after each chunk of ``n`` rows (progress bars).

    Returns
    -------
    PartitionResult

    Raises
    ------
    ValueError
        Unreadable input, a missing column, an LF that does not fit, an embedder mismatch.
    """
    start = time.perf_counter()
    frame = read_partition(partition, bundle_columns(bundle, text_column, id_column))
    if id_column is not None and id_column not in frame.columns:
        raise ValueError(f"{partition.name} has no id column {id_column!r}.")
    if partition.n_rows >= 0 and len(frame) != partition.n_rows:
        raise ValueError(f"{partition.name} has {len(frame)} rows, not the {partition.n_rows} planned: did it change?")
    target = Path(out_dir) / part_name(partition.index)
    with AtomicParquetWriter(target) as output:
        for begin in range(0, max(len(frame), 1), chunk_rows):  # an empty partition still writes its schema
            chunk = frame.iloc[begin : begin + chunk_rows]
            offset = partition.offset + begin if partition.offset >= 0 else begin
            output.write(bundle.label_arrow(chunk, id_column=id_column, text_column=text_column, row_offset=offset))
            if on_rows is not None:
                on_rows(len(chunk))
    return PartitionResult(
        index=partition.index,
        n_rows=len(frame),
        seconds=time.perf_counter() - start,
        output=str(target),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        peak_rss_bytes=peak_rss_bytes(),
    )

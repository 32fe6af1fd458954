"""Reading an input of any size in partitions: a file, a folder or a glob of CSV / Parquet / JSON files.

A :class:`Partition` is the unit of work of both engines: one Parquet row group or a run of small ones
(up to ``rows_per_partition`` rows), or one whole CSV / JSON file (those cannot be split without reading
them).  Partitions are listed in a fixed order (files sorted by path, row groups in file order), so every
engine labels the same rows in the same order and a row's position in the whole input is known up front:
Parquet row counts come from the file footers; CSV and JSON files are read once to count their rows, and
only when the output needs positions (the data has no id column).  Prefer Parquet at scale.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from epoxy_core.data import SUPPORTED_EXTENSIONS, read_table

__all__ = [
    "DEFAULT_ROWS_PER_PARTITION",
    "MAX_FILE_BYTES",
    "Partition",
    "list_input_files",
    "plan_partitions",
    "read_partition",
]

DEFAULT_ROWS_PER_PARTITION = 100_000
"""Rows per partition at most (Parquet row groups are never split): ~100 MB of 256-d vectors in flight."""

MAX_FILE_BYTES = 64 * 2**30
"""Largest single CSV / JSON file read (Parquet files are read by row group, whatever their size)."""

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Partition:
    """One unit of work: some rows of one input file.

    Attributes
    ----------
    index : int
        Position of the partition in the plan (names the output part).
    path : str
        The input file.
    row_groups : tuple of int, optional
        The Parquet row groups it covers; None for a whole (non-Parquet) file.
    offset : int
        Position of its first row in the whole input (-1 when not counted).
    n_rows : int
        Rows in the partition (-1 when not counted).
    """

    index: int
    path: str
    row_groups: tuple[int, ...] | None
    offset: int
    n_rows: int

    @property
    def name(self) -> str:
        """A short description for messages, e.g. ``part-00003 (data/b.parquet, row groups 0-1)``."""
        where = os.path.basename(self.path)
        if self.row_groups is not None and len(self.row_groups) > 0:
            groups = self.row_groups
            span = f"{groups[0]}" if len(groups) == 1 else f"{groups[0]}-{groups[-1]}"
            where += f", row group{'s' if len(groups) > 1 else ''} {span}"
        return f"part-{self.index:05d} ({where})"


def _is_data_file(path: Path) -> bool:
    # Hidden files and Spark/Hadoop markers (_SUCCESS, _metadata, .crc) are not data.
    return path.is_file() and not path.name.startswith((".", "_")) and path.suffix.lower() in SUPPORTED_EXTENSIONS


def list_input_files(data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The data files named by ``data``: a file, a folder (searched recursively) or a glob pattern.

    Raises
    ------
    ValueError
        When nothing matches, a file has an unsupported type, or a folder holds no data file.
    """
    if isinstance(data, str | os.PathLike):
        items: list[str | os.PathLike[str]] = [data]
    else:
        items = list(data)
    files: list[Path] = []
    for item in items:
        text = os.fspath(item)
        path = Path(text)
        if any(ch in _GLOB_CHARS for ch in text) and not path.exists():
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True))
            found = [p for p in matches if _is_data_file(p)]
            if not found:
                raise ValueError(f"No data file matches {text!r} (supported: {', '.join(SUPPORTED_EXTENSIONS)}).")
            files += found
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if _is_data_file(p))
            if not found:
                raise ValueError(
                    f"The folder {text} holds no data file (supported: {', '.join(SUPPORTED_EXTENSIONS)})."
                )
            files += found
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
                raise ValueError(
                    f"Cannot read {text}: unsupported file type {path.suffix or '(none)'!r}; "
                    f"supported: {', '.join(SUPPORTED_EXTENSIONS)}."
                )
            files.append(path)
        else:
            raise ValueError(f"No such file or folder: {text}.")
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ValueError(f"Cannot read {path}: not a readable Parquet file ({error}).") from None


def _check_columns(path: Path, available: Iterable[str], needed: Sequence[str]) -> None:
    names = set(available)
    missing = [c for c in needed if c not in names]
    if missing:
        shown = ", ".join(repr(c) for c in list(available)[:30])
        raise ValueError(
            f"{path} has no column {missing[0]!r}, which the bundle reads (columns: {shown}); "
            "name the right column with --text-column / --id-column."
        )


def plan_partitions(
    files: Sequence[str | os.PathLike[str]],
    *,
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
    count_rows: bool = True,
    required_columns: Sequence[str] = (),
) -> list[Partition]:
    """Split input files into partitions (see the module docstring).

    Parameters
    ----------
    files : sequence of path
        From :func:`list_input_files`.
    rows_per_partition : int, default 100_000
        Consecutive Parquet row groups are joined up to this many rows.
    count_rows : bool, default True
        Count the rows of CSV / JSON files (reads them) so that offsets are known.
    required_columns : sequence of str
        Columns every file must have; checked from Parquet schemas at once (CSV / JSON when counted).

    Returns
    -------
    list of Partition
    """
    if rows_per_partition < 1:
        raise ValueError(f"rows_per_partition must be at least 1, got {rows_per_partition}.")
    partitions: list[Partition] = []
    offset = 0
    for item in files:
        path = Path(item)
        if path.suffix.lower() == ".parquet":
            parquet = _parquet_file(path)
            _check_columns(path, parquet.schema_arrow.names, required_columns)
            metadata = parquet.metadata
            group: list[int] = []
            group_rows = 0
            for g in range(metadata.num_row_groups):
                rows = metadata.row_group(g).num_rows
                if group and group_rows + rows > rows_per_partition:
                    partitions.append(Partition(len(partitions), str(path), tuple(group), offset, group_rows))
                    offset += group_rows
                    group, group_rows = [], 0
                group.append(g)
                group_rows += rows
            if group:
                partitions.append(Partition(len(partitions), str(path), tuple(group), offset, group_rows))
                offset += group_rows
        elif count_rows and offset >= 0:
            frame = read_partition(Partition(len(partitions), str(path), None, offset, -1))
            _check_columns(path, [str(c) for c in frame.columns], required_columns)
            partitions.append(Partition(len(partitions), str(path), None, offset, len(frame)))
            offset += len(frame)
        else:
            partitions.append(Partition(len(partitions), str(path), None, -1, -1))
            offset = -1
    return partitions


def read_partition(partition: Partition, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of one partition as a DataFrame (only ``columns`` when given, for Parquet).

    CSV / TSV / JSON files go through :func:`epoxy_core.data.read_table`, the same reader (and the same
    rules: UTF-8, only empty cells missing) as an upload in the app.

    Raises
    ------
    ValueError
        For an unreadable or damaged file, naming it.
    """
    path = Path(partition.path)
    if partition.row_groups is not None:
        parquet = _parquet_file(path)
        wanted = None if columns is None else [c for c in dict.fromkeys(columns) if c in parquet.schema_arrow.names]
        try:
            table = parquet.read_row_groups(list(partition.row_groups), columns=wanted)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise ValueError(f"Cannot read {partition.name}: damaged Parquet data ({error}).") from None
        return table.to_pandas()
    frame = read_table(path, path.name, max_bytes=MAX_FILE_BYTES)
    if columns is not None:
        frame = frame[[c for c in dict.fromkeys(columns) if c in frame.columns]]
    return frame

"""The local engine: label partitions one after another in this process (the reference for every engine)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from epoxy_core.batch.labeling import DEFAULT_CHUNK_ROWS, PartitionResult, label_partition, process_bundle
from epoxy_core.batch.partitions import Partition

__all__ = ["LocalEngine"]


class LocalEngine:
    """Label partitions sequentially in the calling process; BLAS uses the machine's cores inside each step.

    Parameters
    ----------
    chunk_rows : int, default 32_768
        Rows labeled at a time inside a partition.

    Examples
    --------
    >>> from epoxy_core.batch import label_files
    >>> label_files("comments/", "spam.bundle", "labels.parquet", engine=LocalEngine())  # doctest: +SKIP
    """

    name = "local"

    def __init__(self, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        self.chunk_rows = chunk_rows

    def run(
        self,
        bundle_path: str | os.PathLike[str],
        partitions: Sequence[Partition],
        out_dir: Path,
        *,
        id_column: str | None = None,
        text_column: str | None = None,
        on_rows: Callable[[int], None] | None = None,
    ) -> list[PartitionResult]:
        """Label every partition into ``out_dir`` (one Parquet file each); returns one result per partition."""
        bundle = process_bundle(bundle_path)
        return [
            label_partition(
                bundle,
                partition,
                out_dir,
                id_column=id_column,
                text_column=text_column,
                chunk_rows=self.chunk_rows,
                on_rows=on_rows,
            )
            for partition in partitions
        ]

    def describe(self) -> str:
        return "local engine (this process)"

    def close(self) -> None:
        """Nothing to release (the bundle stays cached in the process)."""

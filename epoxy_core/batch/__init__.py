"""Labeling tables that outgrow a browser session: partitions, one labeling function, and engines.

Shaped like Snorkel's ``labeling/apply/``: the engines are siblings that run the same per-partition step.

- :mod:`.partitions`: which rows make a partition (Parquet row groups, whole CSV / JSON files) and reading them;
- :mod:`.labeling`: :func:`label_partition`, embed → LFs → extension from the bundle's support set → label
  model → end model → one Parquet part, with the bundle (and its embedder) loaded once per process;
- :mod:`.local`: :class:`LocalEngine`, partitions one after another in this process;
- :mod:`.dask`: :class:`DaskEngine`, partitions as tasks on a Dask cluster (a LocalCluster, or any
  cluster by its scheduler address);
- :mod:`.run`: :func:`label_files`, plan → engine → output (a ``.parquet`` file or a folder of parts).

Both engines write byte-for-byte the same labels for the same input and bundle.

>>> from epoxy_core.batch import label_files
>>> run = label_files("comments/*.parquet", "spam.bundle", "labels.parquet", engine="dask")  # doctest: +SKIP
>>> run.n_rows, round(run.rows_per_second)  # doctest: +SKIP
"""

from epoxy_core.batch.labeling import PartitionResult, label_partition
from epoxy_core.batch.local import LocalEngine
from epoxy_core.batch.partitions import Partition, list_input_files, plan_partitions, read_partition
from epoxy_core.batch.run import LabelRun, label_files, make_engine

__all__ = [
    "LabelRun",
    "LocalEngine",
    "Partition",
    "PartitionResult",
    "label_files",
    "label_partition",
    "list_input_files",
    "make_engine",
    "plan_partitions",
    "read_partition",
]

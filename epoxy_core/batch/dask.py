"""The Dask engine: label partitions on the workers of a Dask cluster, local or remote.

Design (the scheduler is Dask's; nothing here schedules):

- **Cluster.**  By default a :class:`distributed.LocalCluster` of worker *processes* on this machine (one
  thread each: the work is NumPy/BLAS and tokenisation, which a process per core serves best; Dask's nanny
  also sets ``OMP/MKL/OPENBLAS_NUM_THREADS=1`` in each worker).  With ``scheduler="tcp://HOST:PORT"`` the
  engine joins an existing cluster instead: that address is all the code needs, however the cluster was
  started (``dask scheduler`` + ``dask worker``, dask-jobqueue on a batch system, dask-kubernetes, a hosted
  service).
- **The bundle travels with the job.**  Its files (a few MB to a few hundred: the support set dominates)
  are sent once to every worker, present and future, in a :class:`distributed.WorkerPlugin`; the plugin
  writes them to the worker's local directory, loads the bundle and checks the embedder (which loads the
  model).  Each worker therefore loads the embedder once, and a worker without a usable embedder fails
  at setup with the bundle's own message instead of partway through a partition.
- **Tasks** are one per partition: :func:`epoxy_core.batch.labeling.label_partition`, the local engine's
  function, so the output is the same file for file.  Each task reads its partition and writes its
  Parquet part directly: the input and the output folder must be on a file system every worker sees (the
  local disk for a LocalCluster; NFS, Lustre or a mounted bucket on a real cluster).  Only the small
  :class:`~epoxy_core.batch.labeling.PartitionResult` records travel back to the client.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from epoxy_core.batch.labeling import DEFAULT_CHUNK_ROWS, PartitionResult, label_partition, process_bundle
from epoxy_core.batch.partitions import Partition
from epoxy_core.bundle import BUNDLE_FILES

__all__ = ["BundlePlugin", "DaskEngine", "require_distributed"]

log = logging.getLogger("epoxy")

try:  # the engine works only with distributed installed; the module imports without it
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - exercised where dask is not installed
    _WorkerPlugin = object  # type: ignore[assignment,misc]


def require_distributed() -> Any:
    """Import ``distributed``, or raise an ImportError that says what to install."""
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "--engine dask needs Dask's distributed scheduler: pip install 'epoxy-studio[dask]' "
            "(or pip install 'dask[distributed]')."
        ) from None
    return distributed


def _bundle_files(path: Path) -> tuple[str, dict[str, bytes]]:
    """The bundle's files as bytes, and a key naming this exact bundle (the manifest's digest)."""
    files = {name: (path / name).read_bytes() for name in BUNDLE_FILES if (path / name).is_file()}
    if "manifest.json" not in files:
        raise ValueError(f"{path} is not a bundle: it has no manifest.json.")
    return hashlib.sha256(files["manifest.json"]).hexdigest(), files


class BundlePlugin(_WorkerPlugin):
    """A worker plugin that writes the bundle into the worker's directory and loads it (embedder included) once.

    Defined at module level so that workers unpickle it by reference: they need ``epoxy-studio`` installed,
    as they need it to run the tasks.
    """

    def __init__(self, key: str, files: dict[str, bytes]):
        self.key = key
        self.files = files
        self.name = f"epoxy-bundle-{key[:16]}"

    def setup(self, worker: Any) -> None:
        folder = Path(worker.local_directory) / f"epoxy-bundle-{self.key[:16]}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (folder / name).write_bytes(content)
        process_bundle(folder, key=self.key)  # checks every checksum again, then the embedder
        self.files = {}  # loaded: free this copy (the scheduler keeps its own for workers that join later)


def _label_task(
    key: str,
    fallback_path: str,
    partition: Partition,
    out_dir: str,
    id_column: str | None,
    text_column: str | None,
    chunk_rows: int,
) -> PartitionResult:
    # The plugin registered the bundle under its key; a worker that missed it (an old worker that failed
    # setup, say) loads it from the path, which works on a shared file system.
    bundle = process_bundle(fallback_path, key=key)
    return label_partition(
        bundle, partition, out_dir, id_column=id_column, text_column=text_column, chunk_rows=chunk_rows
    )


class DaskEngine:
    """Label partitions on a Dask cluster: a new LocalCluster, or an existing one by its address.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:8786``).  None starts a LocalCluster.
    n_workers : int, default 2
        Worker processes of the LocalCluster (ignored with ``scheduler``).
    memory_limit : str or int, default "auto"
        Memory per LocalCluster worker, as Dask reads it ("auto" splits the machine's memory).
    chunk_rows : int, default 32_768
        Rows labeled at a time inside a partition.

    Examples
    --------
    >>> from epoxy_core.batch import label_files
    >>> label_files("comments/*.parquet", "spam.bundle", "labels/", engine=DaskEngine(n_workers=4))  # doctest: +SKIP
    >>> label_files("s/*.parquet", "b", "out/", engine=DaskEngine("tcp://10.0.0.5:8786"))  # doctest: +SKIP
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int = 2,
        memory_limit: str | int = "auto",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ):
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.memory_limit = memory_limit
        self.chunk_rows = chunk_rows
        self._client: Any = None
        self._cluster: Any = None

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        distributed = require_distributed()
        if self.scheduler:
            try:
                self._client = distributed.Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as error:
                raise ValueError(f"Cannot reach the Dask scheduler at {self.scheduler}: {error}") from None
        else:
            if int(self.n_workers) < 1:
                raise ValueError(f"--workers must be at least 1, got {self.n_workers}.")
            self._cluster = distributed.LocalCluster(
                n_workers=int(self.n_workers),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                memory_limit=self.memory_limit,
                silence_logs=logging.ERROR,
                env={
                    "OMP_NUM_THREADS": "1",
                    "OPENBLAS_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1",
                    "TOKENIZERS_PARALLELISM": "false",
                },
            )
            self._client = distributed.Client(self._cluster)
        return self._client

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask cluster at {self.scheduler}"
        return f"Dask LocalCluster ({self.n_workers} worker processes)"

    def workers(self) -> list[str]:
        """Addresses of the workers the client sees."""
        return sorted(self._connect().scheduler_info()["workers"])

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
        """Label every partition on the cluster into ``out_dir``; returns one result per partition, in order."""
        distributed = require_distributed()
        client = self._connect()
        key, files = _bundle_files(Path(bundle_path))
        client.register_plugin(BundlePlugin(key, files))
        futures = [
            client.submit(
                _label_task,
                key,
                str(Path(bundle_path).resolve()),
                partition,
                str(Path(out_dir).resolve()),
                id_column,
                text_column,
                self.chunk_rows,
                key=f"epoxy-label-{key[:12]}-{partition.index:05d}",
                pure=False,
            )
            for partition in partitions
        ]
        results: dict[int, PartitionResult] = {}
        try:
            for future in distributed.as_completed(futures):
                result = future.result()  # re-raises a task's error (a ValueError for bad input)
                results[result.index] = result
                if on_rows is not None:
                    on_rows(result.n_rows)
        except BaseException:
            client.cancel(futures)
            raise
        return [results[p.index] for p in partitions]

    def close(self) -> None:
        """Disconnect; a LocalCluster this engine started is shut down."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

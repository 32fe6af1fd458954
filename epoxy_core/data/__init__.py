"""Tables in, datasets out: reading uploads (:mod:`.io`), the dataset type (:mod:`.dataset`), demos (:mod:`.demos`)."""

from epoxy_core.data.dataset import Dataset, DatasetSpec, frame_hash, prepare_dataset
from epoxy_core.data.demos import Demo, list_demos, load_demo
from epoxy_core.data.io import DEFAULT_MAX_BYTES, SUPPORTED_EXTENSIONS, read_table

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "Dataset",
    "DatasetSpec",
    "Demo",
    "frame_hash",
    "list_demos",
    "load_demo",
    "prepare_dataset",
    "read_table",
]

"""Tables in, datasets out: reading uploads (:mod:`.io`), the dataset type (:mod:`.dataset`), demos (:mod:`.demos`),
and the sizes accepted (:mod:`.limits`)."""

from epoxy_core.data.dataset import DEFAULT_MISSING_LABELS, Dataset, DatasetSpec, frame_hash, prepare_dataset
from epoxy_core.data.demos import Demo, list_demos, load_demo
from epoxy_core.data.io import SUPPORTED_EXTENSIONS, read_table
from epoxy_core.data.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_DECOMPRESSED_BYTES, MAX_COLUMNS

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "DEFAULT_MISSING_LABELS",
    "MAX_COLUMNS",
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

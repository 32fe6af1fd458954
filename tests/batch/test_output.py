"""Writing labels (epoxy_core.batch.labeling.AtomicParquetWriter): complete files or none."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from epoxy_core.batch.labeling import AtomicParquetWriter


def test_a_failure_leaves_no_file_under_the_name(tmp_path):
    target = tmp_path / "labels.parquet"
    with pytest.raises(RuntimeError), AtomicParquetWriter(target) as output:
        output.write(pa.table({"row": [0, 1]}))
        raise RuntimeError("worker lost")
    assert list(tmp_path.iterdir()) == []


def test_row_groups_append_and_later_tables_take_the_first_schema(tmp_path):
    target = tmp_path / "labels.parquet"
    with AtomicParquetWriter(target) as output:
        output.write(pa.table({"row": [0, 1], "label": ["a", None]}))
        output.write(pa.table({"row": [2], "label": pa.array([None], pa.null())}))  # all-null chunk
    file = pq.ParquetFile(target)
    assert file.num_row_groups == 2 and file.read().column("label").to_pylist() == ["a", None, None]
    assert [p.name for p in tmp_path.iterdir()] == ["labels.parquet"]


def test_disagreeing_column_types_are_refused_with_a_message(tmp_path):
    with pytest.raises(ValueError, match="other column types"), AtomicParquetWriter(tmp_path / "x.parquet") as output:
        output.write(pa.table({"row_id": [1, 2]}))
        output.write(pa.table({"row_id": ["a", "b"]}))
    assert list(tmp_path.iterdir()) == []

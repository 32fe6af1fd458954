"""Partitions (epoxy_core.batch.partitions): which files, which row groups, which offsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from epoxy_core.batch.partitions import list_input_files, plan_partitions, read_partition


def _parquet(path, n, start=0, row_group_size=None):
    table = pa.table({"row_id": np.arange(start, start + n), "text": [f"t{i}" for i in range(start, start + n)]})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_folders_are_searched_recursively_in_sorted_order_skipping_markers(tmp_path):
    (tmp_path / "b").mkdir()
    _parquet(tmp_path / "b" / "x.parquet", 2)
    _parquet(tmp_path / "a.parquet", 2)
    pd.DataFrame({"text": ["c"]}).to_csv(tmp_path / "c.csv", index=False)
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".hidden.parquet").write_bytes(b"")
    (tmp_path / "notes.md").write_text("not data")
    names = [p.relative_to(tmp_path).as_posix() for p in list_input_files(tmp_path)]
    assert names == ["a.parquet", "b/x.parquet", "c.csv"]
    assert [p.name for p in list_input_files(str(tmp_path / "**" / "*.parquet"))] == ["a.parquet", "x.parquet"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.csv", "No such file or folder"), ("*.nothing", "No data file matches"), ("notes.md", "unsupported")],
)
def test_inputs_that_name_no_data_are_refused(tmp_path, name, message):
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(ValueError, match=message):
        list_input_files(tmp_path / name if "*" not in name else str(tmp_path / name))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no data file"):
        list_input_files(tmp_path / "empty")


def test_row_groups_are_joined_up_to_the_partition_size_and_offsets_run_across_files(tmp_path):
    first = _parquet(tmp_path / "a.parquet", 10, row_group_size=3)  # groups of 3, 3, 3, 1
    second = _parquet(tmp_path / "b.parquet", 4, start=10)
    csv = tmp_path / "c.csv"
    pd.DataFrame({"row_id": [14, 15], "text": ["u", "v"]}).to_csv(csv, index=False)
    plan = plan_partitions([first, second, csv], rows_per_partition=6)
    assert [(p.row_groups, p.offset, p.n_rows) for p in plan] == [
        ((0, 1), 0, 6),
        ((2, 3), 6, 4),
        ((0,), 10, 4),
        (None, 14, 2),
    ]
    rows = pd.concat([read_partition(p) for p in plan], ignore_index=True)
    assert rows["row_id"].tolist() == list(range(16))
    assert read_partition(plan[0], columns=["text", "absent"]).columns.tolist() == ["text"]


def test_a_missing_column_or_a_damaged_file_is_named(tmp_path):
    good = _parquet(tmp_path / "a.parquet", 3)
    with pytest.raises(ValueError, match="has no column 'body', which the bundle reads"):
        plan_partitions([good], required_columns=["body"])
    bad = tmp_path / "b.parquet"
    bad.write_bytes(b"PAR1" + b"\0" * 20 + b"PAR1")
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        plan_partitions([bad])

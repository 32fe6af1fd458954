"""Engines (epoxy_core.batch): the local engine and a 2-worker Dask LocalCluster write the same labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epoxy_core.batch import label_files
from epoxy_core.data import DatasetSpec
from epoxy_core.fitting import fit_project
from tests.batch._data import CLASS_NAMES, comments, lfs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    fitted = fit_project(
        comments(),
        DatasetSpec("text", "label", class_names=CLASS_NAMES),
        lfs(),
        threshold=0.6,
        tune=False,
        class_balance="dev labels",
    )
    return fitted.save_bundle(tmp_path_factory.mktemp("engines") / "spam.bundle")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Rows the project never saw, in three Parquet files, one of them in several row groups."""
    folder = tmp_path_factory.mktemp("inputs")
    rows = comments(900, seed=11, start_id=50_000).drop(columns=["label"])
    rows.iloc[:300].to_parquet(folder / "a.parquet", index=False, row_group_size=100)
    rows.iloc[300:700].to_parquet(folder / "b.parquet", index=False)
    rows.iloc[700:].to_parquet(folder / "c.parquet", index=False)
    return folder


def _probabilities(frame: pd.DataFrame) -> np.ndarray:
    return frame[[c for c in frame.columns if "P(" in c]].to_numpy()


def test_a_two_worker_local_cluster_writes_the_labels_of_the_local_engine(bundle, inputs, tmp_path):
    pytest.importorskip("distributed")
    from epoxy_core.batch.dask import DaskEngine

    local = label_files(inputs, bundle, tmp_path / "local.parquet", rows_per_partition=150)
    engine = DaskEngine(n_workers=2)  # what `epoxy label --engine dask --workers 2` runs
    try:
        distributed = label_files(inputs, bundle, tmp_path / "dask", engine=engine, rows_per_partition=150)
        workers = engine.workers()
        # `--scheduler ADDRESS`: join the running cluster by its address alone (a real cluster's case).
        joined = DaskEngine(scheduler=engine._cluster.scheduler_address)
        try:
            label_files(inputs / "c.parquet", bundle, tmp_path / "joined.parquet", engine=joined)
            assert joined.workers() == workers
        finally:
            joined.close()
    finally:
        engine.close()
    assert len(workers) == 2 and all(address.startswith("tcp://127.0.0.1:") for address in workers)
    assert local.n_partitions == distributed.n_partitions == 5  # a.parquet: 3 row groups of 100; b, c: 1 each
    assert len({r.worker for r in distributed.results}) == 2  # both workers labeled partitions
    a = pd.read_parquet(tmp_path / "local.parquet")
    b = pd.read_parquet(tmp_path / "dask")
    assert a["row_id"].tolist() == b["row_id"].tolist() == list(range(50_000, 50_900))
    assert a["label"].tolist() == b["label"].tolist()
    np.testing.assert_allclose(_probabilities(a), _probabilities(b), rtol=0, atol=1e-6)
    for column in ("voted_lfs", "extended_lfs"):
        assert a[column].map(list).tolist() == b[column].map(list).tolist()
    assert a["extended_lfs"].map(len).sum() > 0
    c = pd.read_parquet(tmp_path / "joined.parquet")
    pd.testing.assert_frame_equal(c, a[a["row_id"] >= 50_700].reset_index(drop=True), check_exact=False, atol=1e-6)


def test_a_single_file_and_a_folder_of_parts_hold_the_same_rows(bundle, inputs, tmp_path):
    one = label_files(inputs, bundle, tmp_path / "one.parquet")
    parts = label_files(str(inputs / "*.parquet"), bundle, tmp_path / "parts", rows_per_partition=200)
    assert one.output.is_file() and sorted(p.name for p in parts.output.iterdir())[0] == "part-00000.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(one.output), pd.read_parquet(parts.output))
    with pytest.raises(ValueError, match="already exists"):
        label_files(inputs, bundle, tmp_path / "one.parquet")
    label_files(inputs, bundle, tmp_path / "one.parquet", overwrite=True)


def test_positions_run_across_files_when_there_is_no_id_column(bundle, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rows = comments(30, seed=4).drop(columns=["row_id", "label"])
    rows.iloc[:10].to_csv(folder / "a.csv", index=False)
    rows.iloc[10:].to_parquet(folder / "b.parquet", index=False)
    run = label_files(folder, bundle, tmp_path / "out.parquet")
    assert pd.read_parquet(run.output)["row"].tolist() == list(range(30))

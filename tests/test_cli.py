"""The command line (epoxy_core.cli): fit -> label -> report end to end, and clear errors with exit codes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epoxy_core.cli import EXIT_BAD_BUNDLE, EXIT_BAD_INPUT, main
from tests.batch._data import comments, write_lf_document, write_lfs

pytestmark = pytest.mark.slow  # runs the whole pipeline (WordLlama, tuning) a few times


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def fitted(workdir) -> dict[str, Path]:
    """``epoxy fit`` on a 400-row project with 60 dev labels (tuned), with its in-project labels."""
    project = workdir / "project.csv"
    comments().to_csv(project, index=False)
    paths = {
        "project": project,
        "lfs": write_lfs(workdir / "lfs.json"),
        "bundle": workdir / "spam.bundle",
        "labels": workdir / "in_project.parquet",
    }
    code = main(
        [
            "fit",
            str(project),
            "--lfs",
            str(paths["lfs"]),
            "--text-column",
            "text",
            "--label-column",
            "label",
            "--class-balance",
            "dev labels",
            "--max-voters-per-lf",
            "all",
            "--labels-out",
            str(paths["labels"]),
            "--out",
            str(paths["bundle"]),
            "--quiet",
        ]
    )
    assert code == 0
    return paths


def test_fit_then_label_gives_the_in_project_labels_for_the_same_rows(fitted, workdir, capsys):
    # The project's rows, as new files in another order: same labels and probabilities as inside the project.
    table = pd.read_csv(fitted["project"]).drop(columns=["label"])
    shuffled = table.sample(frac=1.0, random_state=0)
    folder = workdir / "new_rows"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        shuffled.iloc[part].to_parquet(folder / f"part{i}.parquet", index=False)
    out = workdir / "labels.parquet"
    assert main(["label", str(folder), "--bundle", str(fitted["bundle"]), "--out", str(out)]) == 0
    labeled = pd.read_parquet(out).set_index("row_id").sort_index()
    reference = pd.read_parquet(fitted["labels"]).set_index("row_id").sort_index()
    assert labeled.columns.tolist() == reference.columns.tolist()
    assert labeled["label"].tolist() == reference["label"].tolist()
    probabilities = [c for c in reference.columns if "P(" in c]
    # float32 products over blocks of another size round differently in the last bits (~1e-8 here).
    np.testing.assert_allclose(labeled[probabilities], reference[probabilities], rtol=0, atol=1e-6)
    for column in ("voted_lfs", "extended_lfs"):
        assert labeled[column].map(list).tolist() == reference[column].map(list).tolist()
    err = capsys.readouterr().err
    assert "Labeled 400 rows" in err and "rows/s" in err


def test_the_bundle_records_how_it_was_tuned(fitted, capsys):
    assert main(["info", str(fitted["bundle"])]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{") :])
    assert summary["tuning"]["n_dev"] == 60 and summary["support_exact"] is True
    assert summary["embedder"] == {"kind": "model", "model": "wordllama"}


def test_label_without_ids_writes_positions_into_a_folder_of_parts(fitted, workdir):
    data = workdir / "no_ids.csv"
    comments(30, seed=5).drop(columns=["row_id"]).to_csv(data, index=False)
    out = workdir / "positions"
    code = main(["label", str(data), "--bundle", str(fitted["bundle"]), "--out", str(out), "--quiet"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.parquet"]
    assert pd.read_parquet(out)["row"].tolist() == list(range(30))


def test_report_writes_a_self_contained_html_page(fitted, workdir):
    pytest.importorskip("epoxy_core.report", reason="build_report (FEAT) is not in this checkout yet")
    out = workdir / "report.html"
    assert main(["report", str(fitted["project"]), "--bundle", str(fitted["bundle"]), "--out", str(out), "-q"]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "subscribe" in html


def _damage_probe(bundle: Path, target: Path) -> Path:
    copy = Path(shutil.copytree(bundle, target))
    with np.load(copy / "probe.npz", allow_pickle=False) as archive:
        rotated = np.roll(archive["embeddings"], 1, axis=1)
    with open(copy / "probe.npz", "wb") as handle:
        np.savez(handle, embeddings=rotated)
    manifest = json.loads((copy / "manifest.json").read_text())
    raw = (copy / "probe.npz").read_bytes()
    manifest["files"]["probe.npz"] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def _tamper(bundle: Path, target: Path) -> Path:
    copy = Path(shutil.copytree(bundle, target))
    document = json.loads((copy / "bundle.json").read_text())
    document["class_names"] = ["spam", "ham"]
    (copy / "bundle.json").write_text(json.dumps(document))
    return copy


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("missing text column", EXIT_BAD_INPUT, "has no column 'text', which the bundle reads"),
        ("unreadable file", EXIT_BAD_INPUT, "not a readable Parquet file"),
        ("no such input", EXIT_BAD_INPUT, "No such file or folder"),
        ("output exists", EXIT_BAD_INPUT, "already exists"),
        ("scheduler without dask", EXIT_BAD_INPUT, "--scheduler and --workers are for --engine dask"),
        ("embedder mismatch", EXIT_BAD_BUNDLE, "not the one the bundle was made with"),
        ("tampered bundle", EXIT_BAD_BUNDLE, "changed since the bundle was saved"),
        ("not a bundle", EXIT_BAD_BUNDLE, "no manifest.json"),
    ],
)
def test_label_refuses_bad_input_with_one_line_and_an_exit_code(fitted, tmp_path, capsys, case, code, message):
    data = tmp_path / "rows.csv"
    comments(10, seed=2).to_csv(data, index=False)
    bundle, out, extra = fitted["bundle"], tmp_path / "out.parquet", []
    if case == "missing text column":
        comments(10).rename(columns={"text": "body"}).to_csv(data, index=False)
    elif case == "unreadable file":
        data = tmp_path / "rows.parquet"
        data.write_bytes(b"PAR1 this is not parquet PAR1")
    elif case == "no such input":
        data = tmp_path / "missing.csv"
    elif case == "output exists":
        out.write_bytes(b"")
    elif case == "scheduler without dask":
        extra = ["--scheduler", "tcp://127.0.0.1:1"]
    elif case == "embedder mismatch":
        bundle = _damage_probe(bundle, tmp_path / "moved.bundle")
    elif case == "tampered bundle":
        bundle = _tamper(bundle, tmp_path / "tampered.bundle")
    elif case == "not a bundle":
        bundle = tmp_path
    assert main(["label", str(data), "--bundle", str(bundle), "--out", str(out), "-q", *extra]) == code
    err = capsys.readouterr().err
    assert message in err and err.startswith("epoxy: error: ") and "Traceback" not in err


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown LF type", "field 'type' must be one of"),
        ("missing LF file", "No LF file"),
        ("missing label column", "label column 'gold' is not in the table"),
        ("tfidf", "cannot carry the TF-IDF embedder"),
    ],
)
def test_fit_refuses_bad_input_with_one_line_and_an_exit_code(fitted, tmp_path, capsys, case, message):
    lfs, extra = fitted["lfs"], []
    if case == "unknown LF type":
        lfs = write_lf_document(
            tmp_path / "lfs.json",
            {"format": "epoxy-lfs", "version": 1, "lfs": [{"type": "sentiment", "name": "x", "label": 1}]},
        )
    elif case == "missing LF file":
        lfs = tmp_path / "nowhere.json"
    elif case == "missing label column":
        extra = ["--label-column", "gold"]
    elif case == "tfidf":
        extra = ["--model", "tfidf"]
    args = ["fit", str(fitted["project"]), "--lfs", str(lfs), "--text-column", "text", "--out", str(tmp_path / "b")]
    assert main([*args, "-q", *extra]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()


def test_usage_errors_exit_2(capsys):
    assert main(["label", "data.csv"]) == 2  # no --bundle / --out
    assert "required" in capsys.readouterr().err
    assert main(["fit", "x.csv", "--lfs", "l.json", "--text-column", "t", "--out", "b", "--threshold", "2"]) == 2


def test_python_dash_m_runs_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "epoxy_core", "label", str(tmp_path / "none.csv"), "--bundle", "b", "--out", "o"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stderr.startswith("epoxy: error: No such file or folder") and "Traceback" not in result.stderr


def test_sample_keeps_every_dev_row_and_is_seeded():
    from epoxy_core.cli import _sample

    table = comments(400, n_dev=60)
    sample = _sample(table, "label", 100, seed=0)
    assert len(sample) == 100 and sample["label"].notna().sum() == 60
    assert sample["row_id"].is_monotonic_increasing  # table order kept
    assert sample["row_id"].tolist() == _sample(table, "label", 100, seed=0)["row_id"].tolist()
    assert sample["row_id"].tolist() != _sample(table, "label", 100, seed=1)["row_id"].tolist()
    assert len(_sample(table, None, 1000, seed=0)) == 400

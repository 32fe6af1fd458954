"""Tests for epoxy_core.workspace: round trips, revisions, safe names and paths, schema version, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_core.labels import ABSTAIN
from epoxy_core.workspace import REMOVE, SCHEMA_VERSION, ConflictError, Workspace, WorkspaceError, validate_project_name

PROJECT = Path(__file__).resolve().parents[1]

FRAME = pd.DataFrame(
    {
        "text": ["buy cheap pills", "great song", "check out my channel", "love it"],
        "label": ["spam", None, None, "ham"],
        "split": ["train", "train", "test", "train"],
        "score": [0.5, 1.0, np.nan, 2.0],
    }
)
SPEC = DatasetSpec("text", "label", "split", ["ham", "spam"])
LFS = [
    {"type": "keyword", "name": "my", "label": 1, "keywords": ["my"], "whole_word": True, "case_sensitive": False},
    {"type": "column_rule", "name": "high score", "label": 0, "column": "score", "op": ">", "value": 1.5},
]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    ws.create_project("spam")
    return ws


# ----------------------------------------------------------------------------------- projects


def test_projects_are_created_listed_renamed_and_deleted(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    assert ws.list_projects() == []
    for name in ("beta", "Alpha", "gamma 2.0"):
        ws.create_project(name)
    assert ws.list_projects() == ["Alpha", "beta", "gamma 2.0"]
    ws.rename_project("beta", "delta")
    assert ws.list_projects() == ["Alpha", "delta", "gamma 2.0"]
    ws.delete_project("Alpha")
    assert ws.list_projects() == ["delta", "gamma 2.0"]


def test_project_names_are_unique_case_insensitively(workspace: Workspace) -> None:
    with pytest.raises(ValueError, match="'SPAM' already exists"):
        workspace.create_project("SPAM")
    workspace.create_project("other")
    with pytest.raises(ValueError, match="'Spam' already exists"):
        workspace.rename_project("other", "Spam")


def test_unknown_project_is_reported(workspace: Workspace) -> None:
    for call in (
        lambda: workspace.load_lfs("nope"),
        lambda: workspace.save_lfs("nope", []),
        lambda: workspace.load_dataset("nope"),
        lambda: workspace.delete_project("nope"),
        lambda: workspace.rename_project("nope", "x"),
    ):
        with pytest.raises(ValueError, match="no project named 'nope'"):
            call()


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("../x", "Invalid project name"),
        ("/etc/passwd", "Invalid project name"),
        ("a/../../b", "Invalid project name"),
        ("..", "Invalid project name"),
        ("a..b", "Invalid project name"),
        ("back\\slash", "Invalid project name"),
        ("nul\x00byte", "Invalid project name"),
        ("new\nline", "Invalid project name"),
        (".hidden", "cannot start with a dot"),
        (" padded", "cannot start or end with a space"),
        ("padded ", "cannot start or end with a space"),
        ("", "cannot be empty"),
        ("x" * 65, "too long (65 characters; at most 64)"),
        ("x" * 10_000, "too long"),
        (42, "must be a string"),
    ],
)
def test_bad_project_names_are_refused_everywhere(workspace: Workspace, name: object, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        workspace.create_project(name)  # type: ignore[arg-type]
    assert phrase in str(info.value)
    for call in (
        lambda: workspace.rename_project("spam", name),  # type: ignore[arg-type]
        lambda: workspace.load_lfs(name),  # type: ignore[arg-type]
        lambda: workspace.save_dataset(name, FRAME, SPEC, "x.csv"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError, match=r"(?i)project name|must be a string"):
            call()
    assert workspace.list_projects() == ["spam"]


def test_valid_names_with_allowed_punctuation_are_accepted() -> None:
    for name in ("a", "x" * 64, "My project_v1.2-final", "1"):
        assert validate_project_name(name) == name


def test_files_stay_inside_the_workspace_even_for_tampered_rows(workspace: Workspace) -> None:
    workspace.save_dataset("spam", FRAME, SPEC, "spam.csv")
    base = workspace.projects_folder.resolve()
    assert workspace.project_dir("spam").resolve().is_relative_to(base)
    assert all(path.resolve().is_relative_to(base) for path in workspace.folder.rglob("*.parquet"))
    # A file name written into the database by anything else is still confined.
    with sqlite3.connect(workspace.path) as connection:
        connection.execute("UPDATE datasets SET file = '../../../../etc/passwd'")
    with pytest.raises(ValueError, match="outside the workspace folder"):
        workspace.load_dataset("spam")


def test_project_folder_does_not_depend_on_the_name(workspace: Workspace) -> None:
    folder = workspace.project_dir("spam")
    workspace.rename_project("spam", "renamed")
    assert workspace.project_dir("renamed") == folder
    assert "spam" not in folder.name


# ----------------------------------------------------------------------------------- datasets


def test_dataset_round_trips_with_spec_and_hash(workspace: Workspace) -> None:
    assert workspace.load_dataset("spam") is None
    assert workspace.dataset_info("spam") is None
    assert workspace.dataset_revision("spam") == 0
    assert workspace.save_dataset("spam", FRAME, SPEC, "spam.csv") == 1
    content_hash = prepare_dataset(FRAME, SPEC).content_hash
    frame, spec = workspace.load_dataset("spam")
    assert spec == SPEC
    pd.testing.assert_frame_equal(frame, FRAME, check_dtype=False)
    assert prepare_dataset(frame, spec).content_hash == content_hash
    info = workspace.dataset_info("spam")
    assert (info["source_name"], info["n_rows"], info["content_hash"]) == ("spam.csv", 4, content_hash)
    assert info["revision"] == workspace.dataset_revision("spam") == 1


def test_replacing_a_dataset_removes_the_old_file(workspace: Workspace) -> None:
    workspace.save_dataset("spam", FRAME, SPEC, "v1.csv")
    workspace.save_dataset("spam", FRAME.iloc[:2], SPEC, "v2.csv")
    files = list(workspace.project_dir("spam").glob("*"))
    assert len(files) == 1 and files[0].suffix == ".parquet"
    frame, _ = workspace.load_dataset("spam")
    assert len(frame) == 2


def test_saving_a_dataset_that_does_not_fit_its_spec_is_refused(workspace: Workspace) -> None:
    with pytest.raises(ValueError, match="text column 'body' is not in the table"):
        workspace.save_dataset("spam", FRAME, DatasetSpec("body"), "x.csv")
    with pytest.raises(ValueError, match="cannot be stored as Parquet"):
        workspace.save_dataset("spam", FRAME.assign(mixed=[1, "a", 2.5, None]), SPEC, "x.csv")
    assert workspace.load_dataset("spam") is None
    assert not any(workspace.project_dir("spam").iterdir()), "no temporary file is left behind"


def test_missing_dataset_file_is_reported(workspace: Workspace) -> None:
    workspace.save_dataset("spam", FRAME, SPEC, "spam.csv")
    for path in workspace.project_dir("spam").glob("*.parquet"):
        path.unlink()
    with pytest.raises(ValueError, match="dataset file of project 'spam' is missing"):
        workspace.load_dataset("spam")


def test_deleting_a_project_removes_its_files_and_documents(workspace: Workspace) -> None:
    workspace.save_dataset("spam", FRAME, SPEC, "spam.csv")
    workspace.save_lfs("spam", LFS)
    folder = workspace.project_dir("spam")
    workspace.delete_project("spam")
    assert not folder.exists()
    workspace.create_project("spam")  # a new project never inherits the old one's files or LFs
    assert workspace.load_lfs("spam") == ([], 0)
    assert workspace.load_dataset("spam") is None
    assert workspace.project_dir("spam") != folder


# ----------------------------------------------------------------------------------- LFs and settings


def test_lfs_round_trip_and_revisions_count_up(workspace: Workspace) -> None:
    assert workspace.load_lfs("spam") == ([], 0)
    assert workspace.save_lfs("spam", LFS) == 1
    assert workspace.save_lfs("spam", LFS[:1], expected_revision=1) == 2
    assert workspace.load_lfs("spam") == (LFS[:1], 2)


def test_stale_revision_raises_a_conflict(workspace: Workspace) -> None:
    _, revision = workspace.load_lfs("spam")  # tab A loads revision 0
    workspace.save_lfs("spam", LFS)  # tab B saves revision 1
    with pytest.raises(
        ConflictError, match=r"changed in another tab or session \(saved revision 1; this page had revision 0\)"
    ):
        workspace.save_lfs("spam", LFS[:1], expected_revision=revision)
    assert workspace.load_lfs("spam") == (LFS, 1), "the losing save changed nothing"
    assert issubclass(ConflictError, ValueError)
    assert workspace.save_lfs("spam", LFS[:1]) == 2, "None means last write wins"


def test_concurrent_savers_with_the_same_revision_have_exactly_one_winner(tmp_path: Path) -> None:
    Workspace(tmp_path).create_project("p")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def save(i: int) -> None:
        ws = Workspace(tmp_path)
        barrier.wait()
        try:
            ws.save_lfs("p", [{"name": f"lf{i}"}], expected_revision=0)
            outcomes.append("won")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "won"]
    assert Workspace(tmp_path).load_lfs("p")[1] == 1


def test_lfs_must_be_a_list_of_json_dicts(workspace: Workspace) -> None:
    with pytest.raises(ValueError, match="list of dicts"):
        workspace.save_lfs("spam", {"name": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be saved as JSON"):
        workspace.save_lfs("spam", [{"name": "x", "f": print}])
    with pytest.raises(ValueError, match="NaN and infinity are not allowed"):
        workspace.save_lfs("spam", [{"name": "x", "value": float("nan")}])
    assert workspace.load_lfs("spam") == ([], 0)


def test_settings_round_trip_convert_numpy_and_merge(workspace: Workspace) -> None:
    assert workspace.load_settings("spam") == {}
    assert workspace.settings_revision("spam") == 0
    thresholds = np.array([0.8, 0.85], dtype=np.float32)
    revision = workspace.save_settings("spam", {"thresholds": thresholds, "embedder": "minilm", "k": np.int64(30)})
    assert revision == 1
    stored = workspace.load_settings("spam")
    assert stored["embedder"] == "minilm" and stored["k"] == 30
    np.testing.assert_allclose(stored["thresholds"], [0.8, 0.85], rtol=1e-6)
    assert workspace.save_settings("spam", {"k": 15}, merge=True) == 2
    assert workspace.load_settings("spam")["embedder"] == "minilm"
    assert workspace.save_settings("spam", {"k": 10}) == 3
    assert workspace.load_settings("spam") == {"k": 10}
    with pytest.raises(ConflictError, match="settings of project 'spam'"):
        workspace.save_settings("spam", {"k": 5}, expected_revision=2, merge=True)
    with pytest.raises(ConflictError, match="settings of project 'spam'"):
        workspace.save_settings("spam", {"k": 5}, expected_revision=2)
    assert workspace.settings_revision("spam") == 3


def test_state_survives_reopening(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.create_project("spam")
    ws.save_lfs("spam", LFS)
    ws.save_settings("spam", {"k": 30})
    ws.save_dataset("spam", FRAME, SPEC, "spam.csv")
    again = Workspace(tmp_path)
    assert again.list_projects() == ["spam"]
    assert again.load_lfs("spam") == (LFS, 1)
    assert again.load_settings("spam") == {"k": 30}
    assert again.load_dataset("spam")[1] == SPEC


def test_default_location_follows_epoxy_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPOXY_DATA_DIR", str(tmp_path / "elsewhere"))
    ws = Workspace()
    assert ws.path == (tmp_path / "elsewhere" / "workspace" / "workspace.sqlite3").resolve()
    assert ws.path.is_file()


# ----------------------------------------------------------------------------------- schema and file damage


def test_schema_version_and_wal_mode_are_recorded(workspace: Workspace) -> None:
    assert workspace.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(workspace.path) as connection:
        assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_newer_schema_version_is_refused(workspace: Workspace) -> None:
    with sqlite3.connect(workspace.path) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(ValueError, match=f"newer Epoxy Studio \\(schema version {SCHEMA_VERSION + 1}"):
        Workspace(workspace.root)


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "workspace.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValueError, match="damaged or not a SQLite file"):
        Workspace(tmp_path)


# ----------------------------------------------------------------------------------- crash safety

WRITER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from epoxy_core.data import DatasetSpec
    from epoxy_core.workspace import Workspace

    ws = Workspace(sys.argv[1])
    spec = DatasetSpec("text", class_names=["a", "b"])
    revision = 0
    while True:
        # Large documents make each transaction long enough that the kill lands mid-write now and then.
        lfs = [{"name": f"lf{i}", "revision": revision + 1, "keywords": ["w"] * 200} for i in range(300)]
        revision = ws.save_lfs("p", lfs, expected_revision=revision)
        if revision % 3 == 0:
            frame = pd.DataFrame({"text": [f"row {i} of revision {revision}" for i in range(2000)]})
            ws.save_dataset("p", frame, spec, f"rev{revision}.csv")
        print(revision, flush=True)
    """
)


@pytest.mark.slow
def test_a_writer_killed_mid_save_leaves_a_complete_earlier_state(tmp_path: Path) -> None:
    Workspace(tmp_path).create_project("p")
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env, cwd=PROJECT
    )
    try:
        seen = 0
        while seen < 8:  # wait until several revisions (and datasets) are on disk, then kill mid-loop
            line = process.stdout.readline()
            assert line, f"writer exited early with code {process.poll()}"
            seen = int(line)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    ws = Workspace(tmp_path)
    assert ws.integrity_problems() == [], "integrity check ok, and no leftover file after reopening"
    lfs, revision = ws.load_lfs("p")
    assert revision >= 8
    assert isinstance(lfs, list) and len(lfs) == 300
    assert {lf["revision"] for lf in lfs} == {revision}, "LFs come from one complete save"
    frame, spec = ws.load_dataset("p")
    assert len(frame) == 2000 and spec.class_names == ["a", "b"]
    saved_at = int(ws.dataset_info("p")["source_name"][3:-4])
    assert frame["text"].iloc[-1] == f"row 1999 of revision {saved_at}"
    assert ws.save_lfs("p", [], expected_revision=revision) == revision + 1, "the workspace is writable again"


# ----------------------------------------------------------------------------------- revisions on every write


def test_update_settings_merges_keys_and_thresholds_per_lf(workspace: Workspace) -> None:
    assert workspace.update_settings("spam", {"embedder": "minilm", "thresholds": {"my": 0.3}}) == 1
    assert workspace.update_settings("spam", {"thresholds": {"song": np.float32(0.5)}, "k": np.int64(30)}) == 2
    assert workspace.load_settings("spam") == {"embedder": "minilm", "k": 30, "thresholds": {"my": 0.3, "song": 0.5}}
    # None is a value (a threshold switched off), REMOVE deletes.
    workspace.update_settings("spam", {"thresholds": {"my": None, "song": REMOVE}, "k": REMOVE})
    assert workspace.load_settings("spam") == {"embedder": "minilm", "thresholds": {"my": None}}
    workspace.update_settings("spam", {"thresholds": REMOVE})
    assert workspace.load_settings("spam") == {"embedder": "minilm"}
    assert workspace.settings_revision("spam") == 4
    with pytest.raises(ConflictError, match="settings of project 'spam' changed in another tab") as info:
        workspace.update_settings("spam", {"k": 1}, expected_revision=3)
    assert (info.value.kind, info.value.expected_revision, info.value.current_revision) == ("settings", 3, 4)
    with pytest.raises(ValueError, match="must be a dict"):
        workspace.update_settings("spam", [("k", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN and infinity are not allowed"):
        workspace.update_settings("spam", {"thresholds": {"my": float("nan")}})
    assert workspace.load_settings("spam") == {"embedder": "minilm"}


def test_a_stale_dataset_save_is_refused_and_keeps_the_other_tabs_table(workspace: Workspace) -> None:
    assert workspace.save_dataset("spam", FRAME, SPEC, "v1.csv", expected_revision=0) == 1
    assert workspace.save_dataset("spam", FRAME.iloc[:3], SPEC, "v2.csv", expected_revision=1) == 2
    with pytest.raises(ConflictError, match="dataset of project 'spam' changed in another tab or session") as info:
        workspace.save_dataset("spam", FRAME.assign(votes=1), SPEC, "v1.csv", expected_revision=1)
    assert info.value.kind == "dataset"
    frame, _ = workspace.load_dataset("spam")
    assert len(frame) == 3 and "votes" not in frame.columns
    assert workspace.dataset_info("spam")["source_name"] == "v2.csv"
    assert workspace.integrity_problems() == []


def test_dataset_and_lfs_are_saved_in_one_transaction(workspace: Workspace) -> None:
    workspace.save_lfs("spam", LFS)
    assert workspace.save_dataset("spam", FRAME.assign(v=1), SPEC, "x.csv", lfs=LFS[:1], expected_lf_revision=1) == 1
    assert workspace.load_lfs("spam") == (LFS[:1], 2)
    with pytest.raises(ConflictError, match="labeling functions of project 'spam' changed"):
        workspace.save_dataset("spam", FRAME, SPEC, "y.csv", lfs=LFS, expected_lf_revision=1)
    assert workspace.revisions("spam") == {"dataset": 1, "lfs": 2, "settings": 0}, "neither part was written"
    assert "v" in workspace.load_dataset("spam")[0].columns
    assert workspace.integrity_problems() == []


def test_hand_labels_are_one_record_per_row_and_follow_the_rows(workspace: Workspace) -> None:
    with pytest.raises(ValueError, match="has no dataset yet"):
        workspace.save_hand_label("spam", 0, 1)
    assert workspace.load_hand_labels("spam") == {}
    workspace.save_dataset("spam", FRAME, SPEC, "spam.csv")
    workspace.save_hand_label("spam", 1, 0)
    workspace.save_hand_label("spam", 2, 1)
    workspace.save_hand_label("spam", 2, 0)  # relabel: the later wins
    assert workspace.load_hand_labels("spam") == {1: 0, 2: 0}
    workspace.save_hand_label("spam", 1, None)
    assert workspace.load_hand_labels("spam") == {2: 0}
    for row, label, phrase in (
        (4, 0, "numbered 0 to 3"),
        (-1, 0, "numbered"),
        (True, 0, "numbered"),
        (0, 2, "ham, spam"),
    ):
        with pytest.raises(ValueError, match=phrase):
            workspace.save_hand_label("spam", row, label)
    # A vote import adds a column: same rows, labels stay.  Reordered classes: labels keep their class name.
    workspace.save_dataset("spam", FRAME.assign(votes=1), DatasetSpec("text", "label", "split", ["spam", "ham"]), "v")
    assert workspace.load_hand_labels("spam") == {2: 1}
    # Other rows: set aside, back when the rows are.
    workspace.save_dataset("spam", FRAME.iloc[::-1].reset_index(drop=True), SPEC, "reversed.csv")
    assert workspace.load_hand_labels("spam") == {}
    workspace.save_dataset("spam", FRAME, SPEC, "spam.csv")
    assert workspace.load_hand_labels("spam") == {2: 0}
    with pytest.raises(ConflictError, match="dataset of project 'spam' changed"):
        workspace.save_hand_label("spam", 0, 0, expected_dataset_revision=1)


def test_hand_labels_join_the_dataset_labels() -> None:
    data = prepare_dataset(FRAME, SPEC)
    labeled = data.with_hand_labels({1: 1, 0: 0})
    assert labeled.y.tolist() == [0, 1, ABSTAIN, 0] and data.y.tolist() == [1, ABSTAIN, ABSTAIN, 0]
    assert labeled.hand_labeled.tolist() == [True, True, False, False]
    assert labeled.content_hash == data.content_hash and labeled.labels_key != data.labels_key
    assert labeled.rows_key == data.rows_key
    with pytest.raises(ValueError, match="class 2 is out of range"):
        data.with_hand_labels({0: 2})


def test_a_version_1_workspace_is_migrated_in_place(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.create_project("spam")
    ws.save_dataset("spam", FRAME, SPEC, "spam.csv")
    ws.save_lfs("spam", LFS)
    with sqlite3.connect(ws.path) as connection:  # make it look like a version-1 file
        connection.execute("DROP TABLE hand_labels")
        connection.execute(
            "CREATE TABLE d1 AS SELECT project_id, file, content_hash, spec_json, source_name, n_rows,"
            " saved_at FROM datasets"
        )
        connection.execute("DROP TABLE datasets")
        connection.execute("ALTER TABLE d1 RENAME TO datasets")
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    again = Workspace(tmp_path)
    assert again.schema_version() == SCHEMA_VERSION == 2
    assert again.revisions("spam") == {"dataset": 1, "lfs": 1, "settings": 0}
    again.save_hand_label("spam", 0, 1)
    assert again.load_hand_labels("spam") == {0: 1}
    assert again.load_lfs("spam") == (LFS, 1)


def test_a_data_dir_that_is_a_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkspaceError, match="must be a folder you can write to, not a file"):
        Workspace(tmp_path / "file")


def test_leftovers_of_an_interrupted_save_are_swept(workspace: Workspace) -> None:
    workspace.save_dataset("spam", FRAME, SPEC, "spam.csv")
    folder = workspace.project_dir("spam")
    stray = folder / ("dataset-" + "0" * 32 + ".parquet")  # renamed into place, transaction never committed
    stray.write_bytes(b"PAR1")
    temporary = folder / (".tmp-" + "1" * 32 + ".parquet")  # writer killed mid-write (no lock held)
    temporary.write_bytes(b"PAR1 half")
    other = folder / "embeddings.npy"  # files of other modules are never touched
    other.write_bytes(b"x")
    assert workspace.integrity_problems() == [
        f"{folder.name}: abandoned temporary file {temporary.name}",
        f"{folder.name}: unreferenced file {stray.name}",
    ]
    Workspace(workspace.root)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["embeddings.npy", f"dataset-{prepare_dataset(FRAME, SPEC).content_hash}.parquet"]
    )
    assert workspace.integrity_problems() == []


def test_a_temporary_file_being_written_is_not_swept(workspace: Workspace) -> None:
    folder = workspace.project_dir("spam")
    path, handle = Workspace._write_temporary(FRAME, folder)  # locked, as while another session writes it
    try:
        Workspace(workspace.root)
        assert path.exists() and workspace.integrity_problems() == []
    finally:
        handle.close()
    Workspace(workspace.root)
    assert not path.exists(), "once its writer is gone, it is swept"


def test_a_damaged_database_gives_a_message_a_user_can_act_on(workspace: Workspace) -> None:
    workspace.save_lfs("spam", LFS)
    with sqlite3.connect(workspace.path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = workspace.path.read_bytes()
    workspace.path.write_bytes(raw[: len(raw) // 2])  # a truncated file: pages missing
    for call in (
        lambda: Workspace(workspace.root),
        lambda: workspace.load_lfs("spam"),
        lambda: workspace.list_projects(),
    ):
        with pytest.raises(
            WorkspaceError, match=r"is damaged or not a SQLite file \(database disk image is malformed\)"
        ):
            call()


def test_a_fresh_database_never_reuses_the_folders_of_a_moved_aside_one(workspace: Workspace) -> None:
    workspace.save_dataset("spam", FRAME, SPEC, "spam.csv")
    old_folder = workspace.project_dir("spam")
    old_files = sorted(old_folder.iterdir())
    for suffix in ("", "-wal", "-shm"):  # what the damaged-database message tells the user to do
        Path(f"{workspace.path}{suffix}").unlink(missing_ok=True)
    fresh = Workspace(workspace.root)
    fresh.create_project("new")
    assert fresh.project_dir("new") != old_folder
    assert sorted(old_folder.iterdir()) == old_files, "the old dataset files are kept"
    assert fresh.integrity_problems() == []

"""Two sessions (browser tabs, processes) on one project, for every kind of write.

Each session is its own :class:`Workspace` on the same folder, as two Streamlit sessions or two app
processes are.  What is guaranteed: a write that started from a revision someone else has since replaced is
refused with a :class:`ConflictError` and writes nothing; settings merged with ``update_settings`` and hand
labels on different rows never conflict; no write ever deletes the other session's files.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from epoxy_core.data import prepare_dataset
from epoxy_core.workspace import ConflictError, Workspace
from tests._seeded import (
    PROJECT,
    SEED_FRAME,
    SEED_HAND_LABELS,
    SEED_LFS,
    SEED_SETTINGS,
    SEED_SPEC,
    VOTE_LF,
    copy_seeded,
    seed,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed(tmp_path_factory.mktemp("seeded")).root


@pytest.fixture
def tabs(template: Path, tmp_path: Path) -> tuple[Workspace, Workspace]:
    """Two sessions on one copy of the seeded workspace."""
    first = copy_seeded(template, tmp_path)
    return first, Workspace(tmp_path)


def conflict_phrase(what: str) -> str:
    return f"The {what} of project '{PROJECT}' changed in another tab or session"


def test_two_tabs_changing_different_thresholds_both_persist(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    a.update_settings(PROJECT, {"thresholds": {"my": 0.35}})
    b.update_settings(PROJECT, {"thresholds": {"song": 0.65}, "n_neighbors": 15})
    assert a.load_settings(PROJECT) == {**SEED_SETTINGS, "n_neighbors": 15, "thresholds": {"my": 0.35, "song": 0.65}}


def test_two_tabs_changing_the_same_threshold_keep_the_later(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    a.update_settings(PROJECT, {"thresholds": {"my": 0.35}})
    b.update_settings(PROJECT, {"thresholds": {"my": None}})  # "off"
    assert b.load_settings(PROJECT)["thresholds"] == {"my": None, "song": 0.6}
    assert a.settings_revision(PROJECT) == 3


def test_a_stale_whole_settings_save_is_refused(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    loaded = a.settings_revision(PROJECT)
    b.update_settings(PROJECT, {"embedder": "minilm"})
    with pytest.raises(ConflictError, match=conflict_phrase("settings")):
        a.save_settings(PROJECT, {"embedder": "tfidf"}, expected_revision=loaded)
    assert a.load_settings(PROJECT) == {**SEED_SETTINGS, "embedder": "minilm"}


def test_a_stale_lf_save_is_refused_and_the_other_tabs_lfs_stay(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    _, loaded = a.load_lfs(PROJECT)
    b.save_lfs(PROJECT, SEED_LFS[:1], expected_revision=loaded)
    with pytest.raises(ConflictError, match=conflict_phrase("labeling functions")) as info:
        a.save_lfs(PROJECT, [], expected_revision=loaded)
    assert (info.value.kind, info.value.current_revision) == ("lfs", 2)
    assert a.load_lfs(PROJECT) == (SEED_LFS[:1], 2)


def test_a_stale_dataset_save_is_refused_and_the_new_table_and_its_file_stay(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    loaded = b.dataset_revision(PROJECT)
    bigger = pd.DataFrame({"text": [f"row {i}" for i in range(500)], "label": [None] * 500})
    a.save_dataset(PROJECT, bigger, SEED_SPEC, "bigger.csv", expected_revision=loaded)
    with pytest.raises(ConflictError, match=conflict_phrase("dataset")):
        b.save_dataset(PROJECT, SEED_FRAME.iloc[:10], SEED_SPEC, "smaller.csv", expected_revision=loaded)
    frame, _ = b.load_dataset(PROJECT)
    assert len(frame) == 500 and b.dataset_info(PROJECT)["source_name"] == "bigger.csv"
    assert b.integrity_problems() == []


def test_a_vote_import_on_a_stale_table_is_refused_whole(tabs: tuple[Workspace, Workspace]) -> None:
    # Issue 12: tab A uploads a new 500-row table; tab B, still showing the 40-row one, imports a vote column.
    a, b = tabs
    revisions = b.revisions(PROJECT)
    bigger = pd.DataFrame({"text": [f"row {i}" for i in range(500)], "label": [None] * 500})
    a.save_dataset(PROJECT, bigger, SEED_SPEC, "bigger.csv", expected_revision=revisions["dataset"])
    with pytest.raises(ConflictError, match=conflict_phrase("dataset")):
        b.save_dataset(
            PROJECT,
            SEED_FRAME.assign(**{"votes: votes": 1}),
            SEED_SPEC,
            "seed.csv",
            expected_revision=revisions["dataset"],
            lfs=[*SEED_LFS, VOTE_LF],
            expected_lf_revision=revisions["lfs"],
        )
    frame, _ = a.load_dataset(PROJECT)
    assert len(frame) == 500 and "votes: votes" not in frame.columns
    assert a.load_lfs(PROJECT) == (SEED_LFS, 1), "the vote LF was not added either"
    assert a.integrity_problems() == [], "tab A's dataset file is still there"


def test_a_vote_import_conflicting_on_the_lfs_only_is_refused_whole(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    revisions = b.revisions(PROJECT)
    a.save_lfs(PROJECT, SEED_LFS[:2], expected_revision=revisions["lfs"])
    with pytest.raises(ConflictError, match=conflict_phrase("labeling functions")):
        b.save_dataset(
            PROJECT,
            SEED_FRAME.assign(**{"votes: votes": 1}),
            SEED_SPEC,
            "seed.csv",
            expected_revision=revisions["dataset"],
            lfs=[*SEED_LFS, VOTE_LF],
            expected_lf_revision=revisions["lfs"],
        )
    assert "votes: votes" not in a.load_dataset(PROJECT)[0].columns, "the table was not changed either"
    assert a.revisions(PROJECT)["dataset"] == 1


def test_hand_labels_from_two_tabs_on_different_rows_both_persist(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    a.save_hand_label(PROJECT, 10, 1)
    b.save_hand_label(PROJECT, 11, 0)
    b.save_hand_label(PROJECT, 1, 1)  # the same row as a seeded label: the later wins
    assert a.load_hand_labels(PROJECT) == {**SEED_HAND_LABELS, 1: 1, 10: 1, 11: 0}


def test_a_hand_label_for_a_replaced_table_is_refused(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    loaded = b.dataset_revision(PROJECT)
    a.save_dataset(PROJECT, SEED_FRAME.iloc[::-1].reset_index(drop=True), SEED_SPEC, "reversed.csv")
    with pytest.raises(ConflictError, match=conflict_phrase("dataset")):
        b.save_hand_label(PROJECT, 5, 1, expected_dataset_revision=loaded)
    assert a.load_hand_labels(PROJECT) == {}, "the reversed table has other rows: the seeded labels wait aside"
    a.save_dataset(PROJECT, SEED_FRAME, SEED_SPEC, "seed.csv")
    assert a.load_hand_labels(PROJECT) == SEED_HAND_LABELS


def test_sessions_saving_the_same_table_at_once_keep_its_file(tabs: tuple[Workspace, Workspace]) -> None:
    a, b = tabs
    same = pd.DataFrame({"text": ["x", "y"], "label": ["spam", "ham"]})
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(ws: Workspace) -> None:
        barrier.wait()
        try:
            ws.save_dataset(PROJECT, same, SEED_SPEC, "same.csv")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=save, args=(ws,)) for ws in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert prepare_dataset(*a.load_dataset(PROJECT)).content_hash == prepare_dataset(same, SEED_SPEC).content_hash
    assert a.integrity_problems() == []


def test_many_sessions_merging_settings_at_once_lose_nothing(template: Path, tmp_path: Path) -> None:
    copy_seeded(template, tmp_path)
    barrier = threading.Barrier(6)

    def tab(i: int) -> None:
        ws = Workspace(tmp_path)
        barrier.wait()
        ws.update_settings(PROJECT, {"thresholds": {f"lf{i}": i / 10}})

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ws = Workspace(tmp_path)
    assert ws.load_settings(PROJECT)["thresholds"] == {
        **SEED_SETTINGS["thresholds"],
        **{f"lf{i}": i / 10 for i in range(6)},
    }
    assert ws.settings_revision(PROJECT) == 7

"""SIGKILL during each kind of save: the earlier complete state survives (or the new one, once committed), the
database passes its integrity check, and whatever the kill left behind is swept when the workspace reopens.

The kills are exact: ``tests/_kill_helper.py`` forks one child per case, and the child kills itself at a named
point of the save (``Workspace._reached``), such as between writing the Parquet file and committing.  A save
killed at a random moment is in ``test_workspace.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from epoxy_core.data import prepare_dataset
from epoxy_core.workspace import Workspace
from tests._kill_helper import VOTES
from tests._seeded import (
    NEW_FRAME,
    PROJECT,
    SEED_HAND_LABELS,
    SEED_LFS,
    SEED_SETTINGS,
    SEED_SPEC,
    VOTE_LF,
    assert_seeded_state_survives,
    copy_seeded,
    seed,
    state,
)

ROOT = Path(__file__).resolve().parents[1]

# id: (save, kill point, what must be there afterwards, what the kill leaves until the next open)
KILLS: dict[str, tuple[str, str, str, str | None]] = {
    "dataset: Parquet written, not renamed": ("dataset", "dataset file written", "seeded", "temporary file"),
    "dataset: renamed into place, not committed": ("dataset", "dataset file renamed", "seeded", "unreferenced file"),
    "dataset: row written, not committed": ("dataset", "dataset: before commit", "seeded", "unreferenced file"),
    "dataset: committed, old file not removed": ("dataset", "dataset committed", "new table", "unreferenced file"),
    "dataset: during the sweep after it": ("dataset", "sweep: before commit", "new table", None),
    "vote import: not committed": ("votes", "dataset: before commit", "seeded", "unreferenced file"),
    "vote import: committed": ("votes", "dataset committed", "votes", "unreferenced file"),
    "LF set: not committed": ("lfs", "lfs: before commit", "seeded", None),
    "settings merge: not committed": ("settings", "settings: before commit", "seeded", None),
    "whole settings: not committed": ("whole settings", "settings: before commit", "seeded", None),
    "hand label: not committed": ("hand label", "hand label: before commit", "seeded", None),
    "project deletion: committed, files not removed": ("delete project", "project deleted", "deleted", "orphan folder"),
}


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict, list[str]]]:
    """Run every case in one helper process; per case: its workspace, how the child ended, the leftovers."""
    template = seed(tmp_path_factory.mktemp("seeded")).root
    roots = {case: tmp_path_factory.mktemp("kill") for case in KILLS}
    for root in roots.values():
        copy_seeded(template, root)
    cases = [{"root": str(roots[case]), "save": save, "point": point} for case, (save, point, *_) in KILLS.items()]
    completed = subprocess.run(
        [sys.executable, "-m", "tests._kill_helper"],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=True,
    )
    outcomes = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(outcomes) == len(KILLS), completed.stderr
    return {
        case: (roots[case], outcome, _leftovers(roots[case])) for case, outcome in zip(KILLS, outcomes, strict=True)
    }


def _leftovers(root: Path) -> list[str]:
    """What lies on disk that no committed state refers to, read before any Workspace opens (and sweeps)."""
    with sqlite3.connect(root / "workspace" / "workspace.sqlite3") as connection:
        referenced = {f"project-{p}/{f}" for p, f in connection.execute("SELECT project_id, file FROM datasets")}
        projects = {f"project-{p}" for (p,) in connection.execute("SELECT id FROM projects")}
    found = []
    for folder in sorted((root / "workspace" / "projects").iterdir()):
        if folder.name not in projects:
            found.append("orphan folder")
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".tmp-"):
                found.append("temporary file")
            elif f"{folder.name}/{path.name}" not in referenced:
                found.append("unreferenced file")
    return found


@pytest.mark.parametrize("case", KILLS, ids=list(KILLS))
def test_a_kill_during_a_save_loses_nothing_committed(killed: dict, case: str) -> None:
    _, point, expected, leftover = KILLS[case]
    root, outcome, leftovers = killed[case]
    assert outcome["killed"], f"the save never reached {point!r} (status {outcome['status']})"
    assert leftovers == ([leftover] if leftover else [])

    ws = Workspace(root)  # reopening after the crash sweeps the leftovers
    assert ws.integrity_problems() == []
    if expected == "seeded":
        assert_seeded_state_survives(ws)
    elif expected == "deleted":
        assert ws.list_projects() == []
        assert list((root / "workspace" / "projects").iterdir()) == []
    else:
        now = state(ws)
        frame = NEW_FRAME if expected == "new table" else VOTES
        assert now["dataset"] == (prepare_dataset(frame, SEED_SPEC).content_hash, len(frame))
        assert now["settings"] == SEED_SETTINGS
        if expected == "new table":
            assert now["lfs"] == (SEED_LFS, 1)
            assert now["hand_labels"] == {}, "other rows: the seeded hand labels are set aside"
            assert now["revisions"] == {"dataset": 2, "lfs": 1, "settings": 1}
        else:
            assert now["lfs"] == ([*SEED_LFS, VOTE_LF], 2), "the table and its vote LF came in one transaction"
            assert now["hand_labels"] == SEED_HAND_LABELS, "same rows: hand labels stay"
            assert now["revisions"] == {"dataset": 2, "lfs": 2, "settings": 1}
    # The workspace is usable again at once.
    ws.create_project("after the crash")
    assert ws.integrity_problems() == []
    assert PROJECT in ws.list_projects() or expected == "deleted"

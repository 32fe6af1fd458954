"""A project seeded with good work, and the check that a bad input or a fault left all of it intact.

Shared by the bad-input corpus (``tests/test_bad_input*.py``) and the fault-injection helper
(``tests/_kill_helper.py``), which must agree on what the seeded state and the interrupted saves are.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_core.workspace import Workspace

PROJECT = "seeded"

_WORDS = ("great song", "check out my channel", "subscribe please", "love this", "free money http")
SEED_FRAME = pd.DataFrame(
    {
        "text": [f"{_WORDS[i % len(_WORDS)]} {i}" for i in range(40)],
        "label": [("spam" if i % 5 in (1, 2, 4) else "ham") if i % 4 == 0 else None for i in range(40)],
        "score": np.linspace(0.0, 1.0, 40),
    }
)
SEED_SPEC = DatasetSpec("text", "label", class_names=["ham", "spam"])
SEED_LFS = [
    {"type": "keyword", "name": "my", "label": 1, "keywords": ["my"], "whole_word": True, "case_sensitive": False},
    {"type": "keyword", "name": "song", "label": 0, "keywords": ["song"], "whole_word": True, "case_sensitive": False},
    {"type": "column_rule", "name": "high score", "label": 1, "column": "score", "op": ">", "value": 0.8},
]
SEED_SETTINGS = {"embedder": "tfidf", "n_neighbors": 10, "thresholds": {"my": 0.3, "song": 0.6}}
SEED_HAND_LABELS = {1: 0, 3: 1}

# What the interrupted saves of the fault-injection tests write (never the seeded values).
NEW_FRAME = pd.DataFrame({"text": [f"new row {i}" for i in range(500)], "label": [None] * 500})
NEW_LFS = [{"type": "keyword", "name": "new", "label": 0, "keywords": ["new"]}]
VOTE_LF = {"type": "vote_column", "name": "votes", "column": "votes: votes"}


def seed(root: Path) -> Workspace:
    """A workspace at ``root`` with project :data:`PROJECT` holding the seeded dataset, LFs, settings and labels."""
    ws = Workspace(root)
    ws.create_project(PROJECT)
    ws.save_dataset(PROJECT, SEED_FRAME, SEED_SPEC, "seed.csv")
    ws.save_lfs(PROJECT, SEED_LFS)
    ws.update_settings(PROJECT, SEED_SETTINGS)
    for row, label in SEED_HAND_LABELS.items():
        ws.save_hand_label(PROJECT, row, label)
    return ws


def copy_seeded(template: Path, root: Path) -> Workspace:
    """A fresh copy of a workspace seeded once at ``template`` (seeding costs ~10 fsynced transactions)."""
    with sqlite3.connect(template / "workspace" / "workspace.sqlite3") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, so a copy is whole
    shutil.copytree(template / "workspace", root / "workspace")
    return Workspace(root)


def state(ws: Workspace) -> dict[str, Any]:
    """Everything a user would lose: the dataset's content, the LFs, the settings, the hand labels, revisions."""
    loaded = ws.load_dataset(PROJECT)
    dataset = None if loaded is None else prepare_dataset(*loaded)
    return {
        "dataset": None if dataset is None else (dataset.content_hash, len(dataset)),
        "source": (ws.dataset_info(PROJECT) or {}).get("source_name"),
        "lfs": ws.load_lfs(PROJECT),
        "settings": ws.load_settings(PROJECT),
        "hand_labels": ws.load_hand_labels(PROJECT),
        "revisions": ws.revisions(PROJECT),
    }


SEEDED_DATASET = (prepare_dataset(SEED_FRAME, SEED_SPEC).content_hash, len(SEED_FRAME))


def assert_seeded_state_survives(ws: Workspace) -> None:
    """The seeded work is all there, the database passes its integrity check and no file is left over."""
    reopened = Workspace(ws.root)  # a new session, as after a restart
    now = state(reopened)
    assert now["dataset"] == SEEDED_DATASET and now["source"] == "seed.csv"
    assert now["lfs"] == (SEED_LFS, 1)
    assert now["settings"] == SEED_SETTINGS
    assert now["hand_labels"] == SEED_HAND_LABELS
    assert now["revisions"] == {"dataset": 1, "lfs": 1, "settings": 1}
    assert reopened.integrity_problems() == []

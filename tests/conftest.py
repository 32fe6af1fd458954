"""Shared fixtures: an isolated data directory for every test session, and the optional ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    # Tests must never write into the user's data/ folder; numba's cache may live there between runs.
    if "EPOXY_DATA_DIR" not in os.environ:
        root = Path(config.rootpath) / ".pytest_data"
        root.mkdir(exist_ok=True)
        os.environ["EPOXY_DATA_DIR"] = str(root)
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the project root; tests using it skip cleanly on a machine without it."""
    if not SHARED_DIR.is_dir():
        pytest.skip("../shared is not present on this machine")
    return SHARED_DIR


@pytest.fixture(scope="session")
def spam_dir(shared_dir: Path) -> Path:
    """The YouTube spam benchmark folder in ``../shared``."""
    folder = shared_dir / "data" / "youtube_spam"
    if not (folder / "youtube_spam.csv").is_file():
        pytest.skip("../shared/data/youtube_spam is not present")
    return folder


@pytest.fixture(scope="session")
def spam_votes(spam_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 10 Snorkel spam-tutorial LF votes (ham = 0, spam = 1) and the dev labels (-1 = unlabeled)."""
    from epoxy_core.labels import ABSTAIN, from_signed

    frame = pd.read_csv(spam_dir / "youtube_spam.csv")
    L = from_signed(np.load(spam_dir / "lf_votes_signed.npy"), positive_class=1)
    y = frame["label"].map({"ham": 0, "spam": 1}).fillna(ABSTAIN).astype(np.int64).to_numpy()
    return L, y

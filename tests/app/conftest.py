"""Fixtures for the app tests: a fresh data dir per test and an AppTest factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "epoxy_studio" / "app.py"

# Graph builds and model loads take seconds; AppTest's default of 3 s would flake.
TIMEOUT = 120


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace for this test only (the app reads EPOXY_DATA_DIR on every run)."""
    root = tmp_path / "data"
    monkeypatch.setenv("EPOXY_DATA_DIR", str(root))
    return root


@pytest.fixture
def new_app(data_dir: Path) -> Callable[..., AppTest]:
    """Start a new browser-like session of the app (same data dir, fresh session state).

    ``new_app(page)`` makes ``page`` (e.g. ``"app_pages/results.py"``) the session's first request, as a
    bookmarked or reconnecting tab does; the default is the home page.
    """

    def start(page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        if page is not None:
            at.switch_page(page)
        return at.run()

    return start

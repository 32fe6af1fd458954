"""Tests for epoxy_core.config: where the data directory is, in a checkout, installed, and configured."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from epoxy_core import config
from epoxy_core.config import checkout_root, data_dir


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("EPOXY_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data_dir() == tmp_path / "elsewhere"


def test_a_checkout_keeps_its_data_beside_the_code(monkeypatch):
    monkeypatch.delenv("EPOXY_DATA_DIR")
    root = Path(config.__file__).resolve().parents[1]
    assert checkout_root() == root  # these tests run from the source checkout
    assert data_dir() == root / "data"


def test_an_installed_package_uses_the_user_data_dir(monkeypatch):
    monkeypatch.delenv("EPOXY_DATA_DIR")
    monkeypatch.setattr(config, "checkout_root", lambda: None)
    assert data_dir() == Path(platformdirs.user_data_dir("epoxy-studio", appauthor=False))


def test_a_data_dir_that_is_a_file_is_refused_with_a_message(tmp_path, monkeypatch):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    monkeypatch.setenv("EPOXY_DATA_DIR", str(target))
    with pytest.raises(ValueError, match="is a file, not a folder"):
        data_dir()

"""Guarantees that hold for the whole code base: nothing a user supplies is run as code or unpickled,
markdown never renders raw HTML, and the server listens on localhost unless told otherwise.

(The LF preview's ``st.html`` is built from escaped pieces; tests/app/test_support.py checks that.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [
        *(ROOT / "epoxy_studio").rglob("*.py"),
        *(ROOT / "epoxy_core").rglob("*.py"),
    ]
)

FORBIDDEN = {
    r"\beval\(": "eval() runs text as code",
    r"\bexec\(": "exec() runs text as code",
    r"pickle\.loads?\(": "unpickling runs code embedded in the data",
    r"allow_pickle\s*=\s*True": "np.load with allow_pickle=True unpickles object arrays",
    r"unsafe_allow_html\s*=\s*True": "raw HTML lets user text inject markup and scripts",
    r"\bshell\s*=\s*True": "a shell would interpret user text",
}


@pytest.mark.parametrize("pattern", list(FORBIDDEN))
def test_no_code_path_runs_or_unpickles_user_input(pattern: str):
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in SOURCES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(pattern, line.split("#", 1)[0])
    ]
    assert not offenders, f"{FORBIDDEN[pattern]}: {offenders}"


def test_the_sources_are_found():
    # Guards the guard: an empty file list would make the test above pass vacuously.
    assert len(SOURCES) >= 15
    assert any(path.parts[-2:] == ("lf", "serialize.py") for path in SOURCES)
    assert any(path.parts[-2:] == ("app_pages", "labeling_functions.py") for path in SOURCES)


def test_server_binds_to_localhost_and_limits_uploads():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["maxUploadSize"] == 200
    assert config["browser"]["gatherUsageStats"] is False


def test_the_installed_command_passes_the_same_server_options():
    from epoxy_studio.launcher import STREAMLIT_OPTIONS

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    as_text = {
        f"{section}.{key}": str(value).lower() for section, keys in config.items() for key, value in keys.items()
    }
    assert as_text == {key: value.lower() for key, value in STREAMLIT_OPTIONS.items()}

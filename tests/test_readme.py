"""The README's Python example runs as written, outside the checkout, and its commands name real CLI options."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


@pytest.mark.slow
def test_the_python_example_runs_from_another_folder(tmp_path):
    (example,) = _blocks("python")
    env = {**os.environ, "EPOXY_DATA_DIR": str(tmp_path / "data")}  # the installed package, not the checkout
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "extended_empirical_accuracy" in done.stdout  # the LF summary was printed
    accuracy = float(re.search(r"dev accuracy (\d\.\d\d) at coverage", done.stdout)[1])
    assert 0.0 <= accuracy <= 1.0


def test_every_epoxy_command_in_the_readme_uses_options_the_cli_has():
    from epoxy_core.cli import build_parser

    parser = build_parser()
    commands = [line.strip() for block in _blocks("bash") for line in block.splitlines()]
    commands = [c.split("#")[0].split() for c in commands if c.startswith("epoxy ")]
    assert len(commands) >= 5
    for words in commands:
        words = [w.strip("'") for w in words[1:]]
        parser.parse_args(words)  # exits (SystemExit) on an unknown command or option

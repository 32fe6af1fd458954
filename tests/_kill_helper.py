"""Fault injection: each save runs in a forked child that SIGKILLs itself at a named point inside the save.

Run as ``python -m tests._kill_helper`` with a JSON list of cases on stdin, each
``{"root": ..., "save": ..., "point": ...}``; prints one JSON line per case with how the child ended.  The
modules are imported once, here, and every case is a ``fork`` of this process, so a dozen kills cost one
interpreter start.  The points are the names :meth:`Workspace._reached` is called with.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import types
from pathlib import Path

if __name__ == "__main__" and "epoxy_core" not in sys.modules:
    # epoxy_core/__init__.py imports the whole engine (numba's JIT among it: 3-15 s here); the workspace needs
    # none of it, so the package is registered without running its __init__ and only the submodules load.
    _package = types.ModuleType("epoxy_core")
    _package.__path__ = [str(Path(__file__).resolve().parents[1] / "epoxy_core")]
    sys.modules["epoxy_core"] = _package

from epoxy_core.workspace import Workspace
from tests._seeded import NEW_FRAME, NEW_LFS, PROJECT, SEED_FRAME, SEED_LFS, SEED_SPEC, VOTE_LF

VOTES = SEED_FRAME.assign(**{"votes: votes": [1, -1] * (len(SEED_FRAME) // 2)})

SAVES = {
    "dataset": lambda ws: ws.save_dataset(PROJECT, NEW_FRAME, SEED_SPEC, "new.csv", expected_revision=1),
    "votes": lambda ws: ws.save_dataset(
        PROJECT, VOTES, SEED_SPEC, "seed.csv", expected_revision=1, lfs=[*SEED_LFS, VOTE_LF], expected_lf_revision=1
    ),
    "lfs": lambda ws: ws.save_lfs(PROJECT, NEW_LFS, expected_revision=1),
    "settings": lambda ws: ws.update_settings(PROJECT, {"thresholds": {"my": 0.9}, "embedder": "minilm"}),
    "whole settings": lambda ws: ws.save_settings(PROJECT, {"embedder": "minilm"}, expected_revision=1),
    "hand label": lambda ws: ws.save_hand_label(PROJECT, 2, 1, expected_dataset_revision=1),
    "delete project": lambda ws: ws.delete_project(PROJECT),
}


class _KilledAt(Workspace):
    """A workspace that kills its own process the first time a save reaches ``kill_at``."""

    kill_at: str | None = None

    def _reached(self, point: str) -> None:
        if point == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def _child(case: dict) -> None:
    ws = _KilledAt(case["root"])
    ws.kill_at = case["point"]  # armed after opening: opening runs transactions of its own
    SAVES[case["save"]](ws)


def main() -> None:
    for number, case in enumerate(json.load(sys.stdin)):
        pid = os.fork()
        if pid == 0:  # the child: never returns into the loop
            try:
                _child(case)
                code = 0
            except BaseException as error:
                print(f"case {number}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                code = 3
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        print(json.dumps({"case": number, "killed": killed, "status": status}), flush=True)


if __name__ == "__main__":
    main()

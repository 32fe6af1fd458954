"""Garbage collection for a long-running interactive server: full passes at moments the user already waits.

The app turns off Streamlit's full collection after every script run (``runner.postScriptGC``, see
:mod:`epoxy_studio.launcher`): it walked every object the process holds, 350,000-400,000 once the libraries
are imported and compiled, for 200-350 ms on each slider move or keystroke on this 2-core machine.  Python's
own collector still makes full passes now and then (when the objects that survived two young collections grow
by a quarter), at random moments of an interaction and just as slow.

Most of what a full pass walks lives as long as the process: the libraries' module-level objects and numba's
compiled functions.  :func:`collect_and_freeze` collects everything once and then moves every survivor out of
the collector's sight (``gc.freeze``), so later passes walk only what was created since.  It runs where a
pause is already expected: the app's first script run, the end of the background JIT warm-ups, and each
project session's load.  Each call first unfreezes, so garbage that was frozen at one call (a session dropped
since) is freed at the next.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable

__all__ = ["collect_and_freeze", "freeze_at_start"]

_LOCK = threading.Lock()
_started: threading.Thread | None = None


def collect_and_freeze() -> int:
    """Run a full collection over every object, frozen ones included, then freeze the survivors.

    Returns
    -------
    int
        How many objects are frozen now (``gc.get_freeze_count()``).
    """
    with _LOCK:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        return gc.get_freeze_count()


def freeze_at_start(warm_ups: Iterable[threading.Thread | None]) -> threading.Thread:
    """Once per process: :func:`collect_and_freeze` now (the imports), and again when ``warm_ups`` have finished.

    ``warm_ups`` are the background JIT compilations (None entries are ignored); the objects they leave
    behind (numba's compiled functions) live as long as the process.  Later calls return the same waiting
    thread and do nothing else.
    """
    global _started
    with _LOCK:
        if _started is not None:
            return _started
        waiting = [thread for thread in warm_ups if thread is not None]

        def wait_then_freeze() -> None:
            for thread in waiting:
                thread.join()
            collect_and_freeze()

        _started = threading.Thread(target=wait_then_freeze, name="epoxy-freeze-after-warm-ups", daemon=True)
    collect_and_freeze()
    _started.start()
    return _started

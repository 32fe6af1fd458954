"""The app's garbage-collection policy (epoxy_studio/memory.py): freeze long-lived objects, still free cycles."""

from __future__ import annotations

import gc
import threading
import weakref

from epoxy_studio import memory


class _Node:
    """A container that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_collect_and_freeze_hides_survivors_from_later_passes():
    kept = [_Node() for _ in range(1000)]
    frozen = memory.collect_and_freeze()
    try:
        assert frozen >= len(kept)
        tracked = {id(o) for o in gc.get_objects()}
        assert not any(id(node) in tracked for node in kept)  # a full pass no longer walks them
    finally:
        gc.unfreeze()


def test_a_cycle_frozen_while_alive_is_freed_by_the_next_call():
    watched = _cycle()  # unreachable at once, but frozen before any collection looks at it
    gc.freeze()
    try:
        gc.collect()
        assert watched() is not None  # frozen garbage survives ordinary passes...
        memory.collect_and_freeze()
        assert watched() is None  # ...and the next collect_and_freeze unfreezes it first
    finally:
        gc.unfreeze()


def test_runner_does_not_collect_after_every_script_run():
    from epoxy_studio.launcher import STREAMLIT_OPTIONS

    assert STREAMLIT_OPTIONS["runner.postScriptGC"] == "false"


def test_freeze_at_start_freezes_again_after_the_warm_ups(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(memory, "_started", None)
    monkeypatch.setattr(memory, "collect_and_freeze", lambda: calls.append("freeze") or 0)
    release = threading.Event()
    warm_up = threading.Thread(target=release.wait)
    warm_up.start()
    waiter = memory.freeze_at_start([warm_up, None])
    assert calls == ["freeze"]  # the imports, at once
    assert memory.freeze_at_start([]) is waiter and calls == ["freeze"]  # once per process
    release.set()
    waiter.join(10)
    assert calls == ["freeze", "freeze"]  # and again once the warm-up finished

"""Work that can take seconds runs off the script thread, with a time limit on how long the page waits.

Streamlit runs a session's script on one thread; a draft preview that takes a minute would keep that tab from
drawing anything else for a minute.  :func:`run` hands the work to a small process-wide thread pool and waits
at most ``timeout`` seconds.  If the work is done by then, its result (or its exception) comes back as if the
call had been made directly.  If not, :class:`Pending` comes back at once: the page says so and stays usable,
the work goes on, and the next rerun that asks for the same ``key`` picks up the finished result.

Each session keeps one piece of work per ``slot`` ("draft preview", "highlighting"...): asking a slot for a
new key forgets the old one, so a user typing fast never queues up stale work for themselves.  The pool is
small on purpose: if it is busy, new work waits its turn and the page shows :class:`Pending`.

The functions given must not call Streamlit (worker threads have no script context) and must not mutate
shared state without a lock.  numpy, pyarrow and BLAS release the GIL while they work, so the script thread
keeps running meanwhile; pure-Python loops share the interpreter with it, which is why the work itself is
also bounded where it is written (e.g. highlighting looks at a window of each text, never a whole 1 MB cell).
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["DEFAULT_TIMEOUT", "Pending", "run"]

T = TypeVar("T")

DEFAULT_TIMEOUT = 3.0
"""Seconds a page waits for a preview before it says "still computing"."""

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="epoxy-timebox")


@dataclass(frozen=True)
class Pending:
    """The work is still running; ``seconds`` since it started."""

    seconds: float

    def describe(self, what: str) -> str:
        """One sentence for the page, e.g. ``Pending(4.2).describe("The preview")``."""
        return (
            f"{what} is still being computed ({self.seconds:.0f} s so far). The page stays usable; "
            "it shows up on the next change, or press the button below to look again."
        )


@dataclass
class _Job:
    key: str
    future: Future[Any]
    started: float


def run(
    registry: MutableMapping[str, Any],
    slot: str,
    key: str,
    work: Callable[[], T],
    *,
    timeout: float | None = None,
) -> T | Pending:
    """Run ``work()`` off the calling thread, waiting at most ``timeout`` seconds for it.

    Parameters
    ----------
    registry : mutable mapping
        Where this session's jobs are kept between reruns (``st.session_state[state.TIMEBOX]``).
    slot : str
        What the work is for; one job per slot is remembered.
    key : str
        What the work computes (a digest of its inputs).  The same key in the same slot reuses the job.
    work : callable
        The computation; no Streamlit calls inside.
    timeout : float, optional
        Seconds to wait; default :data:`DEFAULT_TIMEOUT`.

    Returns
    -------
    The result of ``work()``, or :class:`Pending`.

    Raises
    ------
    Exception
        Whatever ``work()`` raised (once it has finished).

    Examples
    --------
    >>> jobs = {}
    >>> run(jobs, "sum", "1+2", lambda: 1 + 2)
    3
    >>> import time
    >>> isinstance(run(jobs, "nap", "0.3 s", lambda: time.sleep(0.3) or "awake", timeout=0.01), Pending)
    True
    >>> time.sleep(0.5); run(jobs, "nap", "0.3 s", lambda: "not run again")
    'awake'
    """
    job = registry.get(slot)
    if not isinstance(job, _Job) or job.key != key:
        job = _Job(key, _POOL.submit(work), time.monotonic())
        registry[slot] = job
    try:
        return job.future.result(timeout=DEFAULT_TIMEOUT if timeout is None else timeout)
    except FutureTimeout:
        return Pending(time.monotonic() - job.started)

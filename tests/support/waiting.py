"""Waiting for an event, never for a length of time: the fast poll, `eventually`, and `settle`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nanobanana import PollPolicy

# Polls quickly so tests of tasks that finish at once do not wait; tests never rely on its exact intervals.
FAST_POLL = PollPolicy(initial=0.01, multiplier=1.5, maximum=0.05, jitter=0.0)
# The same for the command line, whose option sets one interval.
CLI_FAST_POLL = ("--poll-interval", str(FAST_POLL.maximum))

# Only a guard against a hang: a condition that holds is seen as soon as it holds, however loaded the machine.
_GIVE_UP_AFTER = 60.0


def _expired(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise AssertionError(f"timed out waiting for {what}")


async def eventually(
    predicate: Callable[[], object], *, what: str = "the condition", timeout: float = _GIVE_UP_AFTER
) -> None:
    """Wait, in the event loop, until ``predicate()`` holds (for state that has no event to await)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        _expired(deadline, what)
        await asyncio.sleep(0.002)


def eventually_blocking(
    predicate: Callable[[], object], *, what: str = "the condition", timeout: float = _GIVE_UP_AFTER
) -> None:
    """Wait, blocking the thread, until ``predicate()`` holds (for synchronous tests and subprocesses)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        _expired(deadline, what)
        time.sleep(0.01)


async def settle(task: asyncio.Future[object], *, turns: int = 100) -> None:
    """Let the event loop run ``turns`` times, then require ``task`` to be done.

    "At once" counted in turns of the loop, not in seconds: nothing that waits on a timer or on a socket can
    finish this way, so a task done after it was not held up by either.
    """
    for _ in range(turns):
        if task.done():
            return
        await asyncio.sleep(0)
    assert task.done(), f"{task!r} was still running after {turns} turns of the event loop"

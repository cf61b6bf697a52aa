"""The deadlines of many waits on one event-loop timer.

``asyncio.timeout`` arms a loop timer for each use. A wait lasts minutes (its timeout is ten minutes by default),
so with thousands of waits at once their timers fill the event loop's heap: every other timer (each poll's sleep,
each request's own timeout) then costs more to schedule, and cancelled ones stay in the heap instead of being
purged. Here the deadlines go into one heap of our own, with a single loop timer set for the earliest. Each wait
still enters its own ``asyncio.timeout``, with no delay; when its deadline passes, that context is rescheduled to
now, so it expires exactly as if it had held the timer: the same TimeoutError, the same handling of cancellation.

Python 3.11 and later only: 3.10's ``async_timeout`` looks up its task when rescheduled, which from a loop
callback finds none, so there each wait keeps its own timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import weakref
from typing import Any, Protocol


class Reschedulable(Protocol):
    """A timeout context that can be told to expire: ``asyncio.Timeout``."""

    def reschedule(self, when: float | None, /) -> None: ...


# [deadline, sequence number, the timeout or None once it is done with]: a list, so the heap compares deadlines
# (then unique sequence numbers) in C, and an entry can be voided in place.
Entry = list[Any]

# Voided entries are purged once they are this many and more than half the heap.
_PURGE_AT = 64


class Deadlines:
    """Expires each watched timeout at its deadline, with one loop timer for all of them."""

    # No reference to the loop of its own, and none through its timer once nothing is watched: the registry below
    # maps each loop to its Deadlines weakly, and a value holding on to its key would keep every loop alive.
    __slots__ = ("_armed_for", "_heap", "_sequence", "_timer", "_voided")

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._sequence = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self._voided = 0

    def watch(self, deadline: float, timeout: Reschedulable) -> Entry:
        """Expire ``timeout`` at ``deadline`` (loop time), unless `forget` is called first."""
        entry: Entry = [deadline, next(self._sequence), timeout]
        heapq.heappush(self._heap, entry)
        if self._timer is None or deadline < self._armed_for:
            self._arm(deadline)
        return entry

    def forget(self, entry: Entry) -> None:
        """Stop watching; the entry stays in the heap, voided, until its deadline or the next purge."""
        if entry[2] is None:
            return
        entry[2] = None
        self._voided += 1
        if self._voided == len(self._heap):
            # Nothing left to watch: drop the heap and the loop timer (which refers to the loop).
            self._heap.clear()
            self._voided = 0
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        elif self._voided >= _PURGE_AT and self._voided * 2 > len(self._heap):
            self._heap = [live for live in self._heap if live[2] is not None]
            heapq.heapify(self._heap)
            self._voided = 0

    def __len__(self) -> int:
        """The timeouts still watched."""
        return len(self._heap) - self._voided

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(deadline, self._expire)
        self._armed_for = deadline

    def _expire(self) -> None:
        self._timer = None
        # The loop may run a timer a clock tick early: everything due by the time it was set for is due now.
        now = max(asyncio.get_running_loop().time(), self._armed_for)
        heap = self._heap
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            timeout = entry[2]
            if timeout is None:
                self._voided -= 1
                continue
            entry[2] = None
            # One that expired or exited some other way meanwhile refuses, and needs nothing more.
            with contextlib.suppress(RuntimeError):
                timeout.reschedule(now)
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
            self._voided -= 1
        if heap:
            self._arm(heap[0][0])


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = weakref.WeakKeyDictionary()


def deadlines() -> Deadlines:
    """The running loop's `Deadlines` (one per loop, as the loop's own timers are)."""
    loop = asyncio.get_running_loop()
    try:
        found = _BY_LOOP.get(loop)
        if found is None:
            found = _BY_LOOP[loop] = Deadlines()
    except TypeError:  # a loop that cannot be weakly referenced: a heap of its own for each wait still works
        found = Deadlines()
    return found

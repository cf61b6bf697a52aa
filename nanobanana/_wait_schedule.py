"""When the wait loop looks at a task next: the interface between the wait and the schedules it can follow."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from ._config import PollPolicy
from .types import TaskStatus


@dataclass(frozen=True, slots=True)
class Finished:
    """What one wait saw of a task that reached a terminal state, for a schedule that learns from it.

    Times are seconds on the client's monotonic clock since the task was created (or, for a wait on a task this
    client did not create, since the wait started).

    Attributes:
        last_pending: When a status call last saw the task unfinished; None if none did.
        first_done: When a status call first saw it finished: the task ended between the two.
        status: That first finished status (the server's ``createdDate``/``updatedDate`` are on it).
        calls: Status calls the wait made.
    """

    last_pending: float | None
    first_done: float
    status: TaskStatus
    calls: int


class WaitSchedule(Protocol):
    """The schedule of one wait: how long to sleep before each status call, and what it learns at the end."""

    def next_delay(self, elapsed: float, calls: int) -> float:
        """Seconds to sleep before the next status call.

        Args:
            elapsed: Seconds since the task was created (see `Finished` for the clock).
            calls: Status calls made so far in this wait.
        """
        ...

    def finished(self, seen: Finished) -> None:
        """Called once when the wait sees the task finished."""
        ...


class FixedSchedule:
    """A `PollPolicy` followed as it is: growing intervals with jitter, learning nothing."""

    __slots__ = ("_policy", "_rng")

    def __init__(self, policy: PollPolicy, rng: random.Random) -> None:
        self._policy = policy
        self._rng = rng

    def next_delay(self, elapsed: float, calls: int) -> float:
        """The policy's interval after ``calls`` calls, with its jitter."""
        interval = self._policy.interval(max(1, calls))
        return interval * (1.0 + self._rng.uniform(0.0, self._policy.jitter))

    def finished(self, seen: Finished) -> None:
        """A fixed schedule learns nothing."""

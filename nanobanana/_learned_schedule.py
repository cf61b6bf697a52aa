"""The default wait schedule: status calls placed where the learned run times say a task is likely to finish.

From the run-time distribution of a kind (`_timing`), a plan of nominal look times is laid out once: after a look
at ``t``, the next comes after the longest gap ``g`` for which

    P(finishes within g | still running at t) * g  <=  BUDGET

so gaps are long where a task is unlikely to finish (each call there would rarely be the one that sees it done)
and short where it is likely. ``BUDGET`` trades calls for lag: for a run time spread evenly over a window, the
gaps come out near ``sqrt(BUDGET * time left in the window)``. Past the plan's end (the tail), gaps grow gently
from `TAIL_GAP` to `TAIL_MAX_GAP`. Each sleep is jittered so that waits started together never poll in lockstep.
"""

from __future__ import annotations

import bisect
import random
from datetime import datetime

from ._timing import Distribution, Kind, Span, TaskTimings
from ._wait_schedule import Finished

BUDGET = 0.3
"""Seconds of expected lag one status call is worth (see the module docstring)."""
PRIOR_BUDGET = 0.45
"""The budget of a plan from the prior alone: a guess is followed more sparingly than what was seen."""
MIN_GAP = 0.25
"""The shortest gap between looks, seconds."""
MAX_GAP = 60.0
"""The longest gap between looks, seconds."""
TAIL_SHARE = 0.01
"""The plan ends where this share of run times is still to come."""
TAIL_GAP = 1.0
"""The gap just past the plan's end, seconds; it grows by `TAIL_GROWTH` per second waited past it."""
TAIL_GROWTH = 0.3
TAIL_MAX_GAP = 4.0
"""The longest gap in the tail: a task that outlives every forecast is still noticed within about 4 s."""
JITTER = 0.1
"""Each sleep varies by up to this share of itself (of at most `JITTER_SPAN` seconds), either way."""
JITTER_SPAN = 4.0
SERVER_CLOCK_SLACK = 2.0
"""How far the server's run time may fall outside what the client saw and still be believed, seconds."""
REPLAN_EVERY = 8
"""A kind's plan is laid out again after at most this many new observations (fewer while history is short)."""


def plan_looks(distribution: Distribution, budget: float = BUDGET) -> tuple[float, ...]:
    """The nominal look times, seconds after creation, up to where `TAIL_SHARE` of run times remain."""
    looks: list[float] = []
    t = 0.0
    while 1.0 - distribution.cdf(t) > TAIL_SHARE and len(looks) < 1000:
        t += _gap(distribution, t, budget)
        looks.append(t)
    return tuple(looks)


def _gap(distribution: Distribution, t: float, budget: float) -> float:
    """The longest gap after ``t`` whose chance of catching the end, times its length, stays within ``budget``."""
    at_t = distribution.cdf(t)
    left = 1.0 - at_t
    low, high = MIN_GAP, MAX_GAP
    if (distribution.cdf(t + high) - at_t) * high <= budget * left:
        return high
    for _ in range(30):
        middle = (low + high) / 2
        if (distribution.cdf(t + middle) - at_t) * middle <= budget * left:
            low = middle
        else:
            high = middle
    return low


def delay_after(looks: tuple[float, ...], elapsed: float) -> float:
    """Seconds from ``elapsed`` to the next nominal look (or the tail's next gap), without jitter."""
    i = bisect.bisect_right(looks, elapsed)
    # A jittered sleep may wake a little before its look: the look it was meant as counts as made.
    while i < len(looks) and looks[i] - elapsed < 0.5 * (looks[i] - (looks[i - 1] if i else 0.0)):
        i += 1
    if i < len(looks):
        return max(MIN_GAP, looks[i] - elapsed)
    past = elapsed - (looks[-1] if looks else 0.0)
    return min(TAIL_MAX_GAP, TAIL_GAP + TAIL_GROWTH * max(0.0, past))


def observed_span(seen: Finished) -> Span:
    """The run time a finished wait shows: the server's, when it agrees with what the client saw."""
    low, high = seen.last_pending or 0.0, seen.first_done
    generation = seen.status.generation
    created = generation.created_date if generation is not None else None
    updated = generation.updated_date if generation is not None else None
    # Both dates must carry a time zone, or neither: a mix cannot be subtracted.
    if (
        isinstance(created, datetime)
        and isinstance(updated, datetime)
        and (created.tzinfo is None) == (updated.tzinfo is None)
    ):
        run_time = (updated - created).total_seconds()
        if low - SERVER_CLOCK_SLACK <= run_time <= high + SERVER_CLOCK_SLACK:
            return run_time, run_time
    return low, high


class Planner:
    """The plans of every kind, laid out from one `TaskTimings` and kept until it has learned enough more.

    Args:
        timings: The model the plans come from and the waits teach.
    """

    def __init__(self, timings: TaskTimings) -> None:
        self.timings = timings
        self._plans: dict[Kind, tuple[int, tuple[float, ...]]] = {}

    def looks(self, kind: Kind) -> tuple[float, ...]:
        """The current plan of ``kind``."""
        version = self.timings.version
        cached = self._plans.get(kind)
        if cached is not None and version - cached[0] < min(REPLAN_EVERY, 1 + self.timings.count(kind) // 4):
            return cached[1]
        budget = BUDGET if self.timings.version else PRIOR_BUDGET
        looks = plan_looks(self.timings.distribution(kind), budget)
        self._plans[kind] = (version, looks)
        return looks

    def schedule(self, kind: Kind, rng: random.Random) -> LearnedSchedule:
        """A schedule for one wait on a task of ``kind``."""
        return LearnedSchedule(self, kind, rng)


class LearnedSchedule:
    """One wait's `WaitSchedule`: follows its kind's plan, and teaches the model the run time it saw.

    Args:
        planner: Where the plan comes from.
        kind: The kind of the task's request.
        rng: The source of jitter.
    """

    __slots__ = ("_kind", "_planner", "_rng")

    def __init__(self, planner: Planner, kind: Kind, rng: random.Random) -> None:
        self._planner = planner
        self._kind = kind
        self._rng = rng

    def next_delay(self, elapsed: float, calls: int) -> float:
        """Seconds until the next look the plan has after ``elapsed``, jittered."""
        delay = delay_after(self._planner.looks(self._kind), elapsed)
        return delay + JITTER * min(delay, JITTER_SPAN) * self._rng.uniform(-1.0, 1.0)

    def finished(self, seen: Finished) -> None:
        """Teach the model this task's run time."""
        self._planner.timings.observe(self._kind, observed_span(seen))

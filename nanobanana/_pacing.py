"""Client-wide pacing: a cap on requests in flight and an adaptive requests-per-second limit.

Every request of a client passes through one `Pacer`, so a thousand coroutines sharing the client share its
limits. The rate limit is adaptive in the spirit of botocore's adaptive retry mode: a 429 halves the allowed
rate for the whole client (multiplicative decrease, at most once per cool-down so a burst of 429s counts once),
and the rate then recovers gradually, growing a fraction per second while no 429 arrives, up to the limit the
user set (or back to unlimited, once it is well past the rate that drew the 429).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from types import TracebackType

from ._exceptions import InvalidInputError

logger = logging.getLogger("nanobanana")

_DECREASE = 0.5
_RECOVERY_PER_SECOND = 0.1
_COOLDOWN = 1.0
_MIN_RATE = 0.5
_UNLIMITED_FACTOR = 4.0
# The rate meter's window, and the shortest span it divides by (so a first burst is not taken for infinity).
_WINDOW = 1.0
_MIN_SPAN = 0.1
# The most start times the meter keeps. The rate is then measured over the last second or the last this many
# requests, whichever is shorter: the same rate, and the hot path (one tick per request) is a bare append.
_METER_SAMPLES = 1024


class _RateMeter:
    """Requests started per second, over a sliding window of the last second.

    When the client has sent for less than a second (a batch just starting), the count is divided by the time
    it has been sending, not by a whole second: a 429 in the first moments of a burst must halve the rate the
    client was actually sending at, not a fraction of it. Above `_METER_SAMPLES` requests a second, the window
    is the span of the last `_METER_SAMPLES` starts.
    """

    def __init__(self) -> None:
        self._starts: deque[float] = deque(maxlen=_METER_SAMPLES)

    def tick(self, now: float) -> None:
        self._starts.append(now)

    def rate(self, now: float) -> float:
        starts = self._starts
        while starts and starts[0] <= now - _WINDOW:
            starts.popleft()
        if not starts:
            return 0.0
        span = min(_WINDOW, max(_MIN_SPAN, now - starts[0]))
        return len(starts) / span


class Pacer:
    """Admits requests: at most ``max_in_flight`` at once, and their attempts no faster than the current rate."""

    def __init__(self, *, max_in_flight: int, requests_per_second: float | None) -> None:
        if requests_per_second is not None and not requests_per_second > 0:
            raise InvalidInputError(f"requests_per_second must be positive or None, got {requests_per_second!r}")
        self._semaphore = asyncio.Semaphore(max_in_flight)
        self.in_flight = 0
        self.ceiling = requests_per_second
        self.rate: float | None = requests_per_second
        self._throttled_at = -math.inf
        self._recovered_at = 0.0
        self._next_start = 0.0
        self._unthrottled_rate = math.inf
        self._meter = _RateMeter()
        self.throttle_count = 0

    def slot(self) -> asyncio.Semaphore:
        """One of the in-flight places, held by a request across its attempts and the waits between them.

        Use as ``async with pacer.slot():`` around a request's retry loop, each attempt inside taking its
        `turn`. A request waiting for its place has built nothing yet, which matters with thousands queued.
        """
        return self._semaphore

    def turn(self) -> Pacer:
        """One attempt's turn: waits for it under the current rate, and counts the attempt while it is out.

        Use as ``async with pacer.turn():`` around one attempt. One pacer serves every attempt at once (it keeps
        no state per attempt).
        """
        return self

    async def __aenter__(self) -> None:
        if self.rate is not None:
            await self._wait_turn()
        self.in_flight += 1

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.in_flight -= 1
        # Counted as it ends: for a client whose requests are answered in milliseconds, the rate of answers is
        # the rate it sends at.
        self._meter.tick(time.monotonic())

    async def _wait_turn(self) -> None:
        now = time.monotonic()
        self._recover(now)
        if self.rate is not None:
            # Reserve the next start time (a virtual schedule), so waiters are spaced 1/rate apart.
            start = max(now, self._next_start)
            self._next_start = start + 1.0 / self.rate
            if start > now:
                await asyncio.sleep(start - now)

    def _recover(self, now: float) -> None:
        if self.rate is None or now - self._throttled_at < _COOLDOWN:
            self._recovered_at = now
            return
        elapsed = now - max(self._recovered_at, self._throttled_at + _COOLDOWN)
        self._recovered_at = now
        if elapsed <= 0:
            return
        rate = self.rate * (1.0 + _RECOVERY_PER_SECOND * elapsed)
        if self.ceiling is not None:
            self.rate = min(self.ceiling, rate)
        elif rate >= self._unthrottled_rate * _UNLIMITED_FACTOR:
            self.rate = None
            logger.info("Pacing: the rate limit has recovered; sending without a limit again")
        else:
            self.rate = rate

    def on_throttled(self) -> None:
        """Slow the whole client down after a 429 (once per cool-down period)."""
        now = time.monotonic()
        if now - self._throttled_at < _COOLDOWN:
            return
        self._throttled_at = now
        self.throttle_count += 1
        # Halve what the client actually sends: an allowed rate far above it (a high ceiling, or one that has
        # recovered past the traffic) would otherwise be halved without slowing anything.
        # Requests still out count too: in a burst's first moments no answer has been counted yet, and the rate
        # would be taken for almost nothing (a first 429 would slow the client to a crawl).
        measured = max(_MIN_RATE * 2, self._meter.rate(now), self.in_flight / _WINDOW)
        current = measured if self.rate is None else min(self.rate, measured)
        if self.rate is None:
            self._unthrottled_rate = current
        self.rate = max(_MIN_RATE, current * _DECREASE)
        logger.info("Pacing: rate limited by the server; slowing this client to %.1f requests/s", self.rate)

"""`Deadlines`: every wait's deadline on one loop timer, expiring each wait's own timeout context."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import weakref

import pytest

from nanobanana._deadlines import Deadlines, deadlines

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is Python 3.11+")


async def expiry_time(expiry: Deadlines, delay: float, *, watched: list[float] | None = None) -> float:
    """Seconds until a timeout watched with ``delay`` expired."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def watched_sleep() -> None:
        async with asyncio.timeout(None) as timeout:
            expiry.watch(started + delay, timeout)
            await asyncio.sleep(30)

    with pytest.raises(TimeoutError):
        await watched_sleep()
    return loop.time() - started


async def test_each_timeout_expires_at_its_own_deadline_in_any_order() -> None:
    expiry = Deadlines()

    # Added latest-first, so the loop timer has to move to an earlier deadline each time.
    late, middle, early = await asyncio.gather(
        expiry_time(expiry, 0.30), expiry_time(expiry, 0.15), expiry_time(expiry, 0.05)
    )

    assert 0.05 <= early < 0.15 <= middle < 0.30 <= late < 1.0
    assert len(expiry) == 0


async def test_a_forgotten_deadline_never_expires_its_timeout() -> None:
    loop = asyncio.get_running_loop()
    expiry = Deadlines()

    async with asyncio.timeout(None) as timeout:
        entry = expiry.watch(loop.time() + 0.05, timeout)
        expiry.forget(entry)
        expiry.forget(entry)  # twice is harmless
        await asyncio.sleep(0.15)

    assert not timeout.expired()
    assert len(expiry) == 0


async def test_a_deadline_already_past_expires_at_once() -> None:
    expiry = Deadlines()

    assert await expiry_time(expiry, -1.0) < 0.1


async def test_forgotten_deadlines_are_purged_rather_than_kept_until_they_pass() -> None:
    loop = asyncio.get_running_loop()
    expiry = Deadlines()

    for _ in range(10_000):
        async with asyncio.timeout(None) as timeout:
            entry = expiry.watch(loop.time() + 600, timeout)
            await asyncio.sleep(0)
            expiry.forget(entry)

    assert len(expiry) == 0
    assert len(expiry._heap) < 200


async def test_thousands_of_waits_share_one_timer_and_each_expires() -> None:
    loop = asyncio.get_running_loop()
    expiry = Deadlines()
    timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
    started = time.monotonic()

    async def watched_sleep() -> None:
        async with asyncio.timeout(None) as timeout:
            expiry.watch(loop.time() + 0.2, timeout)
            await asyncio.sleep(30)

    sleepers = [asyncio.create_task(watched_sleep()) for _ in range(2_000)]
    await asyncio.sleep(0.05)
    # The sleeps' own timers, and one for all the deadlines.
    assert len(loop._scheduled) - timers_before <= 2_000 + 1  # type: ignore[attr-defined]
    results = await asyncio.gather(*sleepers, return_exceptions=True)

    assert all(isinstance(result, TimeoutError) for result in results)
    assert time.monotonic() - started < 5.0
    assert len(expiry) == 0


async def test_there_is_one_per_loop() -> None:
    assert deadlines() is deadlines()


async def test_a_loop_that_cannot_be_weakly_referenced_still_gets_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoWeakrefs:
        def get(self, loop: object) -> None:
            raise TypeError("cannot create weak reference")

    monkeypatch.setattr("nanobanana._deadlines._BY_LOOP", NoWeakrefs())
    expiry = deadlines()

    assert await expiry_time(expiry, 0.05) < 0.5


def test_a_closed_loop_is_not_kept_alive() -> None:
    loop = asyncio.new_event_loop()

    async def waits() -> None:
        expiry = deadlines()
        assert await expiry_time(expiry, 0.01) < 0.5
        async with asyncio.timeout(None) as timeout:
            expiry.forget(expiry.watch(asyncio.get_running_loop().time() + 600, timeout))
            await asyncio.sleep(0)

    loop.run_until_complete(waits())
    loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()

    assert gone() is None

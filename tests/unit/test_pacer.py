"""The pacer's slow-down after a 429: it halves what the client sends, also in a burst's first moments."""

from __future__ import annotations

import asyncio

import pytest

from nanobanana._pacing import Pacer


async def hold_every_place(pacer: Pacer, places: int) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    release = asyncio.Event()

    async def hold() -> None:  # as a request's attempt does: its place, then its turn
        async with pacer.slot(), pacer.turn():
            await release.wait()

    holders = [asyncio.ensure_future(hold()) for _ in range(places)]
    for _ in range(places):
        await asyncio.sleep(0)
    return release, holders


async def test_a_429_before_any_answer_halves_at_least_the_requests_still_out_per_second() -> None:
    pacer = Pacer(max_in_flight=64, requests_per_second=None)
    release, holders = await hold_every_place(pacer, 64)

    pacer.on_throttled()  # no answer has been counted yet: the meter alone would read almost nothing

    assert pacer.rate == pytest.approx(32.0)
    release.set()
    await asyncio.gather(*holders)


async def test_requests_still_out_count_when_not_every_place_is_taken() -> None:
    pacer = Pacer(max_in_flight=64, requests_per_second=None)
    release, holders = await hold_every_place(pacer, 16)  # a batch of 16 at once on a client allowing 64

    pacer.on_throttled()

    assert pacer.rate == pytest.approx(8.0)
    release.set()
    await asyncio.gather(*holders)


async def test_a_429_with_few_requests_out_halves_the_measured_rate() -> None:
    pacer = Pacer(max_in_flight=64, requests_per_second=None)
    release, holders = await hold_every_place(pacer, 2)
    release.set()
    await asyncio.gather(*holders)  # two answers counted, over the meter's shortest span

    pacer.on_throttled()

    assert pacer.rate is not None
    assert pacer.rate < 32.0
    assert pacer.throttle_count == 1


async def test_a_request_keeps_its_place_across_its_attempts_and_each_attempt_takes_a_turn() -> None:
    pacer = Pacer(max_in_flight=1, requests_per_second=None)
    backing_off = asyncio.Event()
    release = asyncio.Event()

    async def retried_request() -> None:
        async with pacer.slot():
            async with pacer.turn():
                pass  # the first attempt failed
            backing_off.set()
            await release.wait()  # the wait before the next attempt
            async with pacer.turn():
                pass

    async def other_request() -> None:
        async with pacer.slot(), pacer.turn():
            pass

    first = asyncio.ensure_future(retried_request())
    await backing_off.wait()
    other = asyncio.ensure_future(other_request())
    await asyncio.sleep(0)

    assert pacer.in_flight == 0  # nothing is out while the request waits to send again
    assert not other.done()  # but its place is still held
    release.set()
    await asyncio.gather(first, other)

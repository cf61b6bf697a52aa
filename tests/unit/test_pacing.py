"""The in-flight places: follow-up requests before new work, first come first served, nothing lost."""

from __future__ import annotations

import asyncio

import pytest

from nanobanana._pacing import Pacer, _Places


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_free_place_is_taken_at_once() -> None:
    places = _Places(2)
    await places.acquire(new_work=True)
    await places.acquire(new_work=False)
    assert places._free == 0


async def test_follow_up_requests_go_before_new_work_and_each_kind_keeps_its_order() -> None:
    places = _Places(1)
    await places.acquire(new_work=False)
    order: list[str] = []

    async def take(name: str, new_work: bool) -> None:
        await places.acquire(new_work)
        order.append(name)
        places.release()

    waiters = [
        asyncio.ensure_future(take("create 1", True)),
        asyncio.ensure_future(take("create 2", True)),
        asyncio.ensure_future(take("status 1", False)),
        asyncio.ensure_future(take("create 3", True)),
        asyncio.ensure_future(take("status 2", False)),
    ]
    await _settle()
    assert order == []
    places.release()
    await asyncio.gather(*waiters)
    assert order == ["status 1", "status 2", "create 1", "create 2", "create 3"]
    assert places._free == 1


async def test_a_waiter_cancelled_in_the_queue_is_skipped() -> None:
    places = _Places(1)
    await places.acquire(new_work=False)
    cancelled = asyncio.ensure_future(places.acquire(new_work=False))
    second = asyncio.ensure_future(places.acquire(new_work=True))
    await _settle()
    cancelled.cancel()
    await _settle()
    places.release()
    await asyncio.wait_for(second, 1)
    places.release()
    assert places._free == 1


async def test_a_place_handed_over_as_its_waiter_is_cancelled_passes_to_the_next() -> None:
    places = _Places(1)
    await places.acquire(new_work=False)
    first = asyncio.ensure_future(places.acquire(new_work=False))
    second = asyncio.ensure_future(places.acquire(new_work=False))
    await _settle()
    places.release()  # hands the place to `first`, which has not run yet
    first.cancel()  # ... and is cancelled before it does
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)  # the place went on to `second`, not lost
    places.release()
    assert places._free == 1


async def test_the_pacer_slot_is_released_when_the_request_fails() -> None:
    pacer = Pacer(max_in_flight=1, requests_per_second=None)
    for new_work in (False, True):
        with pytest.raises(RuntimeError):
            async with pacer.slot(new_work=new_work):
                raise RuntimeError("boom")
    assert pacer._places._free == 1


async def test_under_a_rate_limit_follow_up_requests_still_go_first() -> None:
    pacer = Pacer(max_in_flight=1, requests_per_second=1000)
    order: list[str] = []

    async def request(name: str, new_work: bool) -> None:
        async with pacer.slot(new_work=new_work):
            order.append(name)
            await asyncio.sleep(0.001)

    await asyncio.gather(
        request("create 1", True), request("create 2", True), request("status", False), request("create 3", True)
    )
    assert order == ["create 1", "status", "create 2", "create 3"]

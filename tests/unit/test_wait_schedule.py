"""The wait loop follows a `WaitSchedule`: it asks for every sleep and reports the finished task once."""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import CallbackResult
from unit_support import BASE, STATUS, TASK_ID, TOKEN, FakeAPI, status_json

from nanobanana import NanoBanana, TaskStatus
from nanobanana._polling import poll_until_done
from nanobanana._wait_schedule import Finished


class Recording:
    """A schedule that sleeps a fixed time and records what the wait told it."""

    def __init__(self, delay: float = 0.25) -> None:
        self.delay = delay
        self.asked: list[tuple[float, int]] = []
        self.seen: list[Finished] = []

    def next_delay(self, elapsed: float, calls: int) -> float:
        self.asked.append((elapsed, calls))
        return self.delay

    def finished(self, seen: Finished) -> None:
        self.seen.append(seen)


def _answers(*states: str) -> Any:
    remaining = list(states)

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        state = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return CallbackResult(payload=status_json(state))

    return answer


@pytest.mark.usefixtures("sleeps")
async def test_the_wait_asks_the_schedule_for_each_sleep_with_the_calls_so_far(
    api: FakeAPI, client: NanoBanana
) -> None:
    api.post(STATUS, callback=_answers("waiting", "waiting", "succeed"), repeat=True)
    schedule = Recording()

    await poll_until_done(client.status, task_id=TASK_ID, timeout=5, schedule=schedule, created_at=0.0)

    assert [calls for _, calls in schedule.asked] == [1, 2]
    assert all(elapsed > 0 for elapsed, _ in schedule.asked)


async def test_the_wait_sleeps_what_the_schedule_says(api: FakeAPI, client: NanoBanana, sleeps: list[float]) -> None:
    api.post(STATUS, callback=_answers("waiting", "succeed"), repeat=True)

    await poll_until_done(client.status, task_id=TASK_ID, timeout=5, schedule=Recording(0.25), created_at=0.0)

    assert 0.25 in sleeps


async def test_a_first_delay_of_none_asks_the_schedule_before_the_first_call(
    api: FakeAPI, client: NanoBanana, sleeps: list[float]
) -> None:
    api.post(STATUS, payload=status_json("succeed"), repeat=True)
    schedule = Recording(0.5)

    await poll_until_done(
        client.status, task_id=TASK_ID, timeout=5, schedule=schedule, created_at=0.0, first_delay=None
    )

    assert schedule.asked[0][1] == 0
    assert sleeps[0] == 0.5


@pytest.mark.usefixtures("sleeps")
async def test_the_schedule_hears_once_when_the_task_finished(api: FakeAPI, client: NanoBanana) -> None:
    api.post(STATUS, callback=_answers("waiting", "succeed"), repeat=True)
    schedule = Recording()

    final = await poll_until_done(client.status, task_id=TASK_ID, timeout=5, schedule=schedule, created_at=0.0)

    [seen] = schedule.seen
    assert seen.calls == 2
    assert seen.last_pending is not None
    assert seen.last_pending <= seen.first_done
    assert isinstance(seen.status, TaskStatus)
    assert seen.status.is_done
    assert final.is_done


async def test_a_retry_after_lengthens_the_schedule_s_sleep(api: FakeAPI, sleeps: list[float]) -> None:
    api.post(STATUS, status=429, headers={"Retry-After": "3"})
    api.post(STATUS, payload=status_json("succeed"), repeat=True)

    async with NanoBanana(session_token=TOKEN, base_url=BASE, max_retries=0) as nb:
        await poll_until_done(nb.status, task_id=TASK_ID, timeout=60, schedule=Recording(0.25), created_at=0.0)

    assert sleeps == [3.0]

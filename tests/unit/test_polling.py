"""`wait`: polling through unknown states, failures, timeouts, transient errors and cancellation."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from typing import Any

import pytest
from aioresponses import CallbackResult
from support import Hang, eventually, settle
from unit_support import BASE, CREATE, FAST_POLL, STATUS, TASK_ID, TOKEN, ClientFactory, FakeAPI, status_json, task_json

from nanobanana import (
    AuthenticationError,
    GenerationFailedError,
    NanoBanana,
    NotFoundError,
    PollPolicy,
    ServerError,
    TaskState,
    TaskStatus,
    WaitTimeoutError,
)

SLOW_POLL = PollPolicy(initial=30.0, maximum=30.0, jitter=0.0)


@pytest.fixture
async def nb(make_client: ClientFactory) -> NanoBanana:
    """A client whose single requests are not retried, so polling itself rides out the errors."""
    return await make_client(max_retries=0, poll=FAST_POLL, wait_timeout=5)


async def first_call(api: FakeAPI) -> None:
    await eventually(lambda: api.count("POST", STATUS), what="a status call")


def leftover_tasks() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()}


# --- to the end -----------------------------------------------------------------------------------------------


async def test_wait_polls_through_unknown_states_then_succeeds(api: FakeAPI, nb: NanoBanana) -> None:
    for word in ("waiting", "thinking", "Rendering-v2", "succeed"):
        api.post(STATUS, payload=status_json(word))
    seen: list[tuple[str, TaskState]] = []

    final = await nb.wait(TASK_ID, on_update=lambda s: seen.append((s.state_word, s.state)))

    assert final.state is TaskState.SUCCEED
    assert seen == [
        ("waiting", TaskState.WAITING),
        ("thinking", TaskState.UNKNOWN),
        ("Rendering-v2", TaskState.UNKNOWN),
        ("succeed", TaskState.SUCCEED),
    ]


async def test_wait_understands_synonyms_of_the_known_states(api: FakeAPI, nb: NanoBanana) -> None:
    for word in ("queued", "running", "success"):
        api.post(STATUS, payload=status_json(word))
    seen: list[TaskState] = []

    final = await nb.wait(TASK_ID, on_update=lambda s: seen.append(s.state))

    assert seen == [TaskState.WAITING, TaskState.PROCESSING, TaskState.SUCCEED]
    assert final.state_word == "success"


async def test_on_update_sees_each_state_once(api: FakeAPI, nb: NanoBanana) -> None:
    for word in ("waiting", "waiting", "waiting", "succeed"):
        api.post(STATUS, payload=status_json(word))
    seen: list[str] = []

    await nb.wait(TASK_ID, on_update=lambda s: seen.append(s.state_word))

    assert seen == ["waiting", "succeed"]
    assert api.count("POST", STATUS) == 4


async def test_on_update_may_be_a_coroutine_function(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("succeed"))
    seen: list[TaskStatus] = []

    async def record(status: TaskStatus) -> None:
        await asyncio.sleep(0)
        seen.append(status)

    final = await nb.wait(TASK_ID, on_update=record)

    assert seen == [final]


@pytest.mark.parametrize("word", ["failed", "error"])
async def test_a_failed_task_raises_with_its_fail_msg(api: FakeAPI, nb: NanoBanana, word: str) -> None:
    api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, payload=status_json(word, fail_msg="The image violates the content policy"))

    with pytest.raises(GenerationFailedError) as caught:
        await nb.wait(TASK_ID)

    err = caught.value
    assert err.task_id == TASK_ID
    assert err.fail_msg == "The image violates the content policy"
    assert err.status.state_word == word
    assert "The image violates the content policy" in str(err)
    assert TASK_ID in str(err)


async def test_a_success_without_a_url_is_a_failure(api: FakeAPI, nb: NanoBanana) -> None:
    body = status_json("succeed")
    body["generations"][0]["url"] = ""
    api.post(STATUS, payload=body)

    with pytest.raises(GenerationFailedError, match="no result URL"):
        await nb.wait(TASK_ID)


# --- timeouts -----------------------------------------------------------------------------------------------


async def test_wait_timeout_raises_with_the_task_and_its_last_status(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("waiting"), repeat=True)

    with pytest.raises(WaitTimeoutError) as caught:
        await nb.wait(TASK_ID, timeout=0.1)

    err = caught.value
    assert err.task_id == TASK_ID
    assert err.timeout == 0.1
    assert err.last_status is not None
    assert err.last_status.state_word == "waiting"
    assert f"client.wait('{TASK_ID}')" in str(err)


async def test_a_hanging_status_call_does_not_overrun_the_timeout(api: FakeAPI, nb: NanoBanana) -> None:
    hang = Hang()  # never answers: only the timeout can end this wait
    api.post(STATUS, callback=hang, repeat=True)

    with pytest.raises(WaitTimeoutError) as caught:
        await nb.wait(TASK_ID, timeout=0.1)

    assert hang.abandoned.is_set()
    assert caught.value.last_status is None
    assert leftover_tasks() == set()


async def test_a_status_call_queued_behind_others_does_not_overrun_the_timeout(api: FakeAPI) -> None:
    """The deadline covers a call still waiting for an in-flight place, not only one on the wire."""

    hang = Hang()  # the one in-flight place is never given back: only the timeout can end the wait
    api.post(STATUS, callback=hang, repeat=True)
    async with NanoBanana(session_token=TOKEN, base_url=BASE, max_concurrency=1, poll=FAST_POLL) as client:
        blocker = asyncio.create_task(client.status("other-task"))
        await hang.started.wait()

        with pytest.raises(WaitTimeoutError):
            await client.wait(TASK_ID, timeout=0.1)

        assert hang.calls == 1
        assert api.count("POST", STATUS) == 1
        blocker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocker


async def test_a_slow_on_update_callback_does_not_overrun_the_timeout(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("waiting"), repeat=True)

    abandoned = asyncio.Event()

    async def never_returns(status: TaskStatus) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            abandoned.set()
            raise

    with pytest.raises(WaitTimeoutError) as caught:
        await nb.wait(TASK_ID, timeout=0.1, on_update=never_returns)

    assert abandoned.is_set()
    assert caught.value.last_status is not None


async def test_a_timeout_after_a_failed_call_has_that_error_as_its_cause(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, status=503, body="Service Unavailable", content_type="text/plain", repeat=True)

    with pytest.raises(WaitTimeoutError) as caught:
        await nb.wait(TASK_ID, timeout=0.2, poll=PollPolicy(initial=0.01, maximum=0.01, jitter=0.0))

    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.last_status is not None
    assert caught.value.last_status.state_word == "waiting"


async def test_a_timeout_after_a_recovered_error_has_no_cause(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, status=503, body="Service Unavailable", content_type="text/plain")
    api.post(STATUS, payload=status_json("waiting"), repeat=True)

    with pytest.raises(WaitTimeoutError) as caught:
        await nb.wait(TASK_ID, timeout=0.2, poll=PollPolicy(initial=0.01, maximum=0.01, jitter=0.0))

    assert caught.value.__cause__ is None
    assert api.count("POST", STATUS) >= 2


async def test_the_client_wait_timeout_is_the_default(api: FakeAPI) -> None:
    api.post(STATUS, payload=status_json("waiting"), repeat=True)

    async with NanoBanana(session_token=TOKEN, base_url=BASE, poll=FAST_POLL, wait_timeout=0.05) as client:
        with pytest.raises(WaitTimeoutError) as caught:
            await client.wait(TASK_ID)

    assert caught.value.timeout == 0.05


async def test_generate_timeout_names_the_created_task(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=status_json("waiting"), repeat=True)

    with pytest.raises(WaitTimeoutError) as caught:
        await nb.generate("make it night", timeout=0.05)

    assert caught.value.task_id == TASK_ID


# --- errors while polling -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503, "body": "Service Unavailable", "content_type": "text/plain"},
        {"status": 429, "payload": {"error": "slow down"}},
        {"status": 200, "body": "<!DOCTYPE html><html><head></head></html>", "content_type": "text/html"},
        {"exception": asyncio.TimeoutError()},
        {"status": 409, "payload": {"error": "conflict"}},
        {"status": 425, "payload": {"error": "too early"}},
    ],
    ids=["503", "429", "html-200", "timeout", "409", "425"],
)
async def test_transient_errors_do_not_end_the_wait(api: FakeAPI, nb: NanoBanana, answer: dict[str, Any]) -> None:
    api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, **answer)
    api.post(STATUS, payload=status_json("succeed"))

    final = await nb.wait(TASK_ID)

    assert final.state is TaskState.SUCCEED
    assert api.count("POST", STATUS) == 3


async def test_a_rate_limited_poll_waits_at_least_retry_after(
    api: FakeAPI, nb: NanoBanana, sleeps: list[float]
) -> None:
    api.post(STATUS, status=429, headers={"Retry-After": "3"})
    api.post(STATUS, payload=status_json("succeed"))

    final = await nb.wait(TASK_ID)

    assert 3.0 in sleeps
    assert final.state is TaskState.SUCCEED


@pytest.mark.parametrize(("status", "error"), [(404, NotFoundError), (401, AuthenticationError)])
async def test_a_lasting_error_ends_the_wait(api: FakeAPI, nb: NanoBanana, status: int, error: type[Exception]) -> None:
    api.post(STATUS, status=status, payload={"error": "no"}, repeat=True)

    with pytest.raises(error):
        await nb.wait(TASK_ID)

    assert api.count("POST", STATUS) == 1


# --- cancellation -------------------------------------------------------------------------------------------


async def test_cancelling_a_wait_stops_it_at_once(
    api: FakeAPI, nb: NanoBanana, caplog: pytest.LogCaptureFixture
) -> None:
    api.post(STATUS, payload=status_json("waiting"), repeat=True)
    waiter = asyncio.create_task(nb.wait(TASK_ID, poll=SLOW_POLL, timeout=60))
    await first_call(api)

    waiter.cancel()
    await settle(waiter)
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert api.count("POST", STATUS) == 1
    assert leftover_tasks() == set()
    gc.collect()
    await asyncio.sleep(0)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_cancelling_a_wait_during_a_status_call_stops_it_at_once(api: FakeAPI, nb: NanoBanana) -> None:
    hang = Hang()
    api.post(STATUS, callback=hang, repeat=True)
    waiter = asyncio.create_task(nb.wait(TASK_ID, timeout=60))
    await hang.started.wait()

    waiter.cancel()
    await settle(waiter)
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert hang.abandoned.is_set()
    assert leftover_tasks() == set()


async def test_cancelling_generate_while_it_waits_stops_it_at_once(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=status_json("waiting"), repeat=True)

    async with NanoBanana(session_token=TOKEN, base_url=BASE, poll=SLOW_POLL) as client:
        runner = asyncio.create_task(client.generate("make it night"))
        await eventually(lambda: api.count("POST", CREATE), what="the create")
        runner.cancel()
        await settle(runner)
        with pytest.raises(asyncio.CancelledError):
            await runner

    assert api.count("POST", STATUS) == 0
    assert leftover_tasks() == set()


# --- the schedule -------------------------------------------------------------------------------------------


def test_poll_policy_grows_the_interval_up_to_its_maximum() -> None:
    policy = PollPolicy(initial=1.0, multiplier=1.5, maximum=4.0)

    assert [policy.interval(n) for n in range(1, 7)] == [1.0, 1.5, 2.25, 3.375, 4.0, 4.0]


async def test_the_poll_interval_follows_the_policy(api: FakeAPI, sleeps: list[float]) -> None:
    for _ in range(4):
        api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, payload=status_json("succeed"))
    policy = PollPolicy(initial=1.0, multiplier=2.0, maximum=5.0, jitter=0.0)

    async with NanoBanana(session_token=TOKEN, base_url=BASE) as client:
        await client.wait(TASK_ID, poll=policy, timeout=None)

    assert sleeps == [1.0, 2.0, 4.0, 5.0]


async def test_poll_jitter_only_lengthens_the_interval(api: FakeAPI, sleeps: list[float]) -> None:
    for _ in range(20):
        api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, payload=status_json("succeed"))
    policy = PollPolicy(initial=1.0, multiplier=1.0, maximum=1.0, jitter=0.2)

    async with NanoBanana(session_token=TOKEN, base_url=BASE) as client:
        await client.wait(TASK_ID, poll=policy, timeout=None)

    assert len(sleeps) == 20
    assert all(1.0 <= slept <= 1.2 for slept in sleeps)
    assert len(set(sleeps)) > 1


async def test_concurrent_waits_do_not_poll_in_lockstep(api: FakeAPI, sleeps: list[float]) -> None:
    """Tasks created together spread their polls over the jitter window, so the server sees no crowds."""
    policy = PollPolicy(initial=0.5, multiplier=1.0, maximum=0.5, jitter=1.0)
    polls: Counter[str] = Counter()

    def three_polls_then_done(url: Any, **kwargs: Any) -> CallbackResult:
        task_id = kwargs["json"]["taskId"]
        polls[task_id] += 1
        return CallbackResult(payload=status_json("succeed" if polls[task_id] > 3 else "waiting", task_id=task_id))

    api.post(STATUS, callback=three_polls_then_done, repeat=True)
    async with NanoBanana(session_token=TOKEN, base_url=BASE) as client:
        await asyncio.gather(*(client.wait(f"task-{n}", poll=policy, timeout=None) for n in range(20)))

    assert len(sleeps) == 60
    assert all(0.5 <= slept <= 1.0 for slept in sleeps)
    first_round = sleeps[:20]
    assert len(set(first_round)) == 20  # no two tasks share an interval
    assert max(first_round) - min(first_round) > 0.25  # spread over the window, not bunched in a corner


async def test_an_on_update_callback_that_raises_ends_the_wait_with_its_error(api: FakeAPI, nb: NanoBanana) -> None:
    """A bug in the caller's callback is theirs to see, not retried or hidden as a transient error."""
    api.post(STATUS, payload=status_json("waiting"), repeat=True)

    def broken(status: TaskStatus) -> None:
        raise ValueError(f"bug in the callback at {status.state_word}")

    with pytest.raises(ValueError, match="bug in the callback at waiting"):
        await nb.wait(TASK_ID, on_update=broken)

    assert api.count("POST", STATUS) == 1
    assert leftover_tasks() == set()

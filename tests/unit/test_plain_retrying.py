"""`PlainAsyncRetrying` runs a loop of plain callbacks exactly as tenacity's `AsyncRetrying` does."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

from nanobanana._plain_retrying import PlainAsyncRetrying


class Flaky:
    """Fails ``failures`` times with ValueError, then answers ``"not yet"`` until its last call answers ``"done"``."""

    def __init__(self, failures: int, pending: int) -> None:
        self.answers: list[object] = [ValueError(n) for n in range(failures)] + ["not yet"] * pending + ["done"]
        self.calls = 0

    async def __call__(self) -> str:
        answer = self.answers[self.calls]
        self.calls += 1
        if isinstance(answer, Exception):
            raise answer
        return str(answer)


async def run(loop_class: type[AsyncRetrying], flaky: Flaky, attempts: int) -> tuple[Any, list[tuple[int, float]]]:
    slept: list[float] = []
    before_sleep: list[tuple[int, float]] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def note(state: RetryCallState) -> None:
        before_sleep.append((state.attempt_number, state.next_action.sleep if state.next_action else -1.0))

    loop = loop_class(
        retry=retry_if_exception_type(ValueError) | retry_if_result(lambda answer: answer != "done"),
        wait=lambda state: 0.5 * state.attempt_number,
        stop=stop_after_attempt(attempts),
        before_sleep=note,
        sleep=sleep,
        reraise=True,
    )
    try:
        outcome: Any = await loop(flaky)
    except ValueError as exc:
        outcome = exc.args
    except RetryError as exc:  # stopped on an answer that was not "done"
        outcome = ("gave up on", exc.last_attempt.result(), exc.last_attempt.attempt_number)
    assert slept == [delay for _, delay in before_sleep]
    return outcome, before_sleep


@pytest.mark.parametrize(("failures", "pending", "attempts"), [(0, 0, 3), (2, 1, 5), (3, 0, 2), (1, 4, 4)])
async def test_the_same_attempts_sleeps_and_outcome_as_tenacity(failures: int, pending: int, attempts: int) -> None:
    theirs = await run(AsyncRetrying, Flaky(failures, pending), attempts)
    ours = await run(PlainAsyncRetrying, Flaky(failures, pending), attempts)

    assert ours == theirs


async def test_no_callback_is_wrapped_in_a_coroutine() -> None:
    flaky = Flaky(failures=1, pending=1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a callback's coroutine left unawaited would warn
        outcome, before_sleep = await run(PlainAsyncRetrying, flaky, attempts=3)

    assert outcome == "done"
    assert before_sleep == [(1, 0.5), (2, 1.0)]


class AsyncWait:
    async def __call__(self, state: RetryCallState) -> float:
        return 0.0


async def test_a_coroutine_callback_is_refused_when_the_loop_is_made() -> None:
    async def log(state: RetryCallState) -> None:
        return None

    with pytest.raises(TypeError, match="before_sleep"):
        PlainAsyncRetrying(before_sleep=log)
    with pytest.raises(TypeError, match="wait"):
        PlainAsyncRetrying(wait=AsyncWait())


async def test_one_loop_serves_many_calls_at_once_each_with_its_own_attempts() -> None:
    # The loop's step state is one plain attribute shared by every call in flight: interleaved calls, each
    # failing a different number of times and sleeping between attempts, must still see only their own.
    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    loop = PlainAsyncRetrying(
        retry=retry_if_exception_type(ValueError) | retry_if_result(lambda answer: answer != "done"),
        stop=stop_after_attempt(6),
        sleep=sleep,
        reraise=True,
    )
    calls = [Flaky(failures=n % 3, pending=n % 2) for n in range(40)]

    outcomes = await asyncio.gather(*(loop(flaky) for flaky in calls))

    assert outcomes == ["done"] * len(calls)
    assert [flaky.calls for flaky in calls] == [n % 3 + n % 2 + 1 for n in range(40)]

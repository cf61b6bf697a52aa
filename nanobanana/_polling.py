"""The wait loop: poll a task's status until it is terminal, sleeping as a `WaitSchedule` says in between.

A tenacity loop whose "retry" condition is "not finished yet, or a transient error" and whose wait asks the
schedule (never shorter than a 429's ``Retry-After``). The wait's ``timeout`` is one deadline around all of it
(sleeps, status calls, a call queued behind the client's other requests).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import cast

from tenacity import RetryCallState, retry_if_exception, retry_if_result

from ._deadline import Deadline
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    ClientClosedError,
    CloudflareError,
    GenerationFailedError,
    InvalidResponseError,
    RateLimitError,
    WaitTimeoutError,
)
from ._plain_retrying import PlainAsyncRetrying
from ._retry import is_transient_status
from ._wait_schedule import Finished, WaitSchedule
from .types import TaskStatus

logger = logging.getLogger("nanobanana")

OnUpdate = Callable[[TaskStatus], "Awaitable[None] | None"]
"""A callback that sees every status change; it may be a plain function or a coroutine function."""


# A conflict is not worth resending at once, but a look at the task a few seconds later may well succeed.
_ALSO_WAITED_OUT = frozenset({409})


def is_transient(exc: BaseException) -> bool:
    """Whether an error while polling should be ridden out rather than end the wait."""
    if isinstance(exc, APIConnectionError):
        return exc.request_sent or exc.retryable
    if isinstance(exc, (InvalidResponseError, CloudflareError)):
        return True
    if not isinstance(exc, APIStatusError):
        return False
    return is_transient_status(exc.status_code) or exc.status_code in _ALSO_WAITED_OUT


def _unfinished(status: TaskStatus) -> bool:
    return not status.is_done


def _sleep_for(retry_state: RetryCallState) -> float:
    """The tenacity wait: the schedule's sleep for the wait whose state is the attempt's argument."""
    wait: _Wait = retry_state.args[0]
    return wait.sleep_for(retry_state)


def _log_transient(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    if outcome is not None and outcome.failed:
        logger.info("Polling: a status call failed, still waiting: %s", outcome.exception())


# Every callback is a plain function and a wait's state travels as the attempt's argument, so one loop serves
# every wait of a client at once (tenacity keeps each call's state in its own RetryCallState). This template
# itself never runs: each client polls with its own copy, on its own event loop's thread.
_POLLING = PlainAsyncRetrying(
    retry=retry_if_exception(is_transient) | retry_if_result(_unfinished),
    wait=_sleep_for,
    before_sleep=_log_transient,
)


def polling_loop(sleep: Callable[[float], Awaitable[None]]) -> PlainAsyncRetrying:
    """The wait loop, sleeping between status calls with ``sleep``: made once per client, which ends its sleeps."""
    return _POLLING.copy(sleep=sleep)


async def poll_until_done(
    fetch: Callable[[str], Awaitable[TaskStatus]],
    *,
    task_id: str,
    timeout: float | None,
    schedule: WaitSchedule,
    created_at: float,
    on_update: OnUpdate | None = None,
    first_delay: float | None = 0.0,
    initial: TaskStatus | None = None,
    loop: PlainAsyncRetrying | None = None,
) -> TaskStatus:
    """Call ``fetch(task_id)`` until the task has finished, and return its final status if it succeeded.

    Args:
        fetch: Reads a task's status once.
        task_id: The task.
        timeout: Seconds before giving up with WaitTimeoutError; None waits for ever.
        schedule: Says how long to sleep before each status call, and hears once when the task finished.
        created_at: When the task was created (or the wait began), in ``time.monotonic()`` seconds.
        on_update: Called with each status whose state word differs from the previous one.
        first_delay: Seconds to sleep before the first call; None asks the schedule (for a task just
            created, which is never done at once).
        initial: A status already known (the create answer's): ``on_update`` sees it at once, so a caller
            learns the task before the first poll, and it is the last status if no poll succeeds.
        loop: The loop that polls (`polling_loop`): a client's sleeps in a way its ``close()`` ends at once;
            by default a new one sleeping with ``asyncio.sleep``.

    Raises:
        GenerationFailedError: The task failed, or succeeded without a result URL.
        WaitTimeoutError: ``timeout`` ran out first; carries the last status, and the last transient error
            (if the last call failed) as its cause.
        APIStatusError: A non-transient error (401, 402, 404, ...) ended the wait.
        ClientClosedError: The client was closed meanwhile; carries the task id.
    """
    if loop is None:
        loop = polling_loop(asyncio.sleep)
    wait = _Wait(fetch, task_id, schedule, created_at, on_update, initial)
    deadline = Deadline(timeout)
    try:
        async with deadline:
            if initial is not None:
                await wait.notify(initial)
            delay = wait.next_delay() if first_delay is None else first_delay
            if delay > 0:  # with the loop's own sleep, which tenacity types loosely (it may be a plain function)
                await cast("Awaitable[None]", loop.sleep(delay))
            status: TaskStatus = await loop(_Wait.attempt, wait)
    except asyncio.TimeoutError:
        if not deadline.expired:
            raise
        raise WaitTimeoutError(task_id, wait.last, timeout or 0.0) from wait.failure
    except ClientClosedError as exc:
        exc.task_id = task_id
        raise
    return _succeeded(task_id, status)


def _succeeded(task_id: str, status: TaskStatus) -> TaskStatus:
    if status.state.is_failure:
        raise GenerationFailedError(task_id, status.fail_msg, status)
    if status.url is None:
        raise GenerationFailedError(task_id, "the task succeeded but gave no result URL", status)
    return status


class _Wait:
    """The state of one wait: the last status and error seen, and what its schedule needs to know."""

    # Thousands of waits may be alive at once (a batch, a gather): each is one object, with no __dict__ besides.
    __slots__ = (
        "_calls",
        "_created_at",
        "_fetch",
        "_last_pending",
        "_last_word",
        "_on_update",
        "_schedule",
        "_task_id",
        "failure",
        "last",
    )

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[TaskStatus]],
        task_id: str,
        schedule: WaitSchedule,
        created_at: float,
        on_update: OnUpdate | None,
        initial: TaskStatus | None,
    ) -> None:
        self._fetch = fetch
        self._task_id = task_id
        self._schedule = schedule
        self._created_at = created_at
        self._on_update = on_update
        self.last = initial
        self._last_word: str | None = None
        # The last call's transient error, if it failed: the cause of a timeout that follows it.
        self.failure: Exception | None = None
        self._calls = 0
        self._last_pending: float | None = None

    def next_delay(self) -> float:
        """The schedule's sleep before the next status call."""
        return self._schedule.next_delay(time.monotonic() - self._created_at, self._calls)

    def sleep_for(self, retry_state: RetryCallState) -> float:
        """The tenacity wait: the schedule's sleep, and at least a 429's Retry-After."""
        delay = self.next_delay()
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return delay

    async def attempt(self) -> TaskStatus:
        """One status call: remember what it saw, tell the callback and, once finished, the schedule."""
        self._calls += 1
        try:
            status = await self._fetch(self._task_id)
        except Exception as exc:
            self.failure = exc
            raise
        seen_at = time.monotonic() - self._created_at
        self.last, self.failure = status, None
        await self.notify(status)
        if status.is_done:
            self._schedule.finished(Finished(self._last_pending, seen_at, status, self._calls))
        else:
            self._last_pending = seen_at
        return status

    async def notify(self, status: TaskStatus) -> None:
        """Tell the callback (and the log) of a status whose state word changed."""
        if status.state_word == self._last_word:
            return
        if self._last_word is not None:
            logger.info("Task %s: %s -> %s", self._task_id, self._last_word, status.state_word)
        self._last_word = status.state_word
        if self._on_update is not None:
            result = self._on_update(status)
            if inspect.isawaitable(result):
                await result

"""The wait loop: poll a task's status until it is terminal, with a growing, jittered interval.

Built on tenacity: the "retry" condition is "not finished yet, or a transient error" and the wait is the
`WaitSchedule`'s delay (never shorter than a 429's ``Retry-After``); the schedule hears what the wait saw at the
end. The wait's ``timeout`` is one deadline around all of it (sleeps, status calls, a call queued behind the
client's other requests), so a wait never overruns it by more than the scheduling slack.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import time
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, retry_if_result

from ._deadlines import Deadlines, Entry, deadlines
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    GenerationFailedError,
    InvalidResponseError,
    RateLimitError,
    WaitTimeoutError,
)
from ._wait_schedule import Finished, WaitSchedule
from .types import TaskStatus

if sys.version_info >= (3, 11):
    from asyncio import timeout as _deadline
else:  # the same context manager, as a package (one aiohttp already depends on there)
    from async_timeout import timeout as _deadline

logger = logging.getLogger("nanobanana")

OnUpdate = Callable[[TaskStatus], "Awaitable[None] | None"]
"""A callback that sees every status change; it may be a plain function or a coroutine function."""

_TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


def is_transient(exc: BaseException) -> bool:
    """Whether an error while polling should be ridden out rather than end the wait."""
    if isinstance(exc, (APIConnectionError, InvalidResponseError)):
        return True
    if isinstance(exc, APIStatusError):
        # A 403 whose body is not JSON is a Cloudflare challenge page, not the API refusing the session.
        challenge = exc.status_code == 403 and isinstance(exc.body, str)
        return challenge or exc.status_code >= 500 or exc.status_code in _TRANSIENT_STATUSES
    return False


class _Schedule:
    """The tenacity wait: the schedule's delay, and at least a 429's Retry-After."""

    def __init__(self, schedule: WaitSchedule, origin: float) -> None:
        self._schedule = schedule
        self._origin = origin

    def __call__(self, retry_state: RetryCallState) -> float:
        interval = self._schedule.next_delay(time.monotonic() - self._origin, retry_state.attempt_number)
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            interval = max(interval, exc.retry_after)
        return interval


async def poll_until_done(
    fetch: Callable[[str], Awaitable[TaskStatus]],
    *,
    task_id: str,
    timeout: float | None,
    schedule: WaitSchedule,
    created_at: float | None = None,
    on_update: OnUpdate | None = None,
    initial: TaskStatus | None = None,
) -> TaskStatus:
    """Call ``fetch(task_id)`` until the task has finished, and return its final status if it succeeded.

    Args:
        fetch: Reads a task's status once.
        task_id: The task.
        timeout: Seconds before giving up with WaitTimeoutError; None waits for ever.
        schedule: When to call, and what to tell at the end.
        created_at: ``time.monotonic()`` when the task was created: the first call then waits for the
            schedule (a just-created task is never done at once). None for a task created elsewhere: the first
            call is made at once, and the schedule's clock starts with the wait.
        on_update: Called with each status whose state word differs from the previous one.
        initial: A status already known (the create answer's): ``on_update`` sees it at once, so a caller
            learns the task before the first poll, and it is the last status if no poll succeeds.

    Raises:
        GenerationFailedError: The task failed, or succeeded without a result URL.
        WaitTimeoutError: ``timeout`` ran out first; carries the last status, and the last transient error
            (if the last call failed) as its cause.
        APIStatusError: A non-transient error (401, 402, 404, ...) ended the wait.
    """
    # Everything runs in this one coroutine, up to the status call: thousands of waits may be queued for a
    # status call at once, and every frame each of them holds is work for the garbage collector.
    origin = time.monotonic() if created_at is None else created_at
    wait = _Wait(fetch, task_id, on_update, initial, schedule, origin)
    expiry: Deadlines | None = None
    due = 0.0
    if sys.version_info >= (3, 11) and timeout is not None:
        # One loop timer for every wait's deadline (see _deadlines). 3.10's async_timeout cannot be expired from
        # a loop callback, so there each wait keeps its own timer.
        expiry, due = deadlines(), asyncio.get_running_loop().time() + timeout
    try:
        async with _deadline(timeout if expiry is None else None) as deadline:
            watched: Entry | None = None
            if sys.version_info >= (3, 11) and expiry is not None:
                watched = expiry.watch(due, deadline)
            try:
                if initial is not None:
                    await wait.notify(initial)
                if created_at is not None:
                    await asyncio.sleep(schedule.next_delay(time.monotonic() - origin, 0))
                # The first call runs outside tenacity (whose set-up costs more than a loopback status call, and a
                # task is often done at the first look); the loop, built only if needed, replays its outcome as
                # if it had made that call itself.
                try:
                    status = await fetch(task_id)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    wait.failure = exc
                    wait.calls += 1
                else:
                    await wait.seen(status)
                    if status.is_done:
                        return _succeeded(task_id, status)
                wait.replay = True
                retrying = AsyncRetrying(
                    retry=_KEEP_POLLING, wait=_Schedule(schedule, origin), before_sleep=_log_transient
                )
                status = await retrying(wait.attempt)
            finally:
                if expiry is not None and watched is not None:
                    expiry.forget(watched)
    except asyncio.TimeoutError:
        if not _expired(deadline):
            raise
        raise WaitTimeoutError(task_id, wait.last, timeout or 0.0) from wait.failure
    return _succeeded(task_id, status)


def _succeeded(task_id: str, status: TaskStatus) -> TaskStatus:
    if status.state.is_failure:
        raise GenerationFailedError(task_id, status.fail_msg, status)
    if status.url is None:
        raise GenerationFailedError(task_id, "the task succeeded but gave no result URL", status)
    return status


def _expired(deadline: object) -> bool:
    """Whether the wait's own deadline ran out (rather than a TimeoutError from inside it)."""
    expired = getattr(deadline, "expired", False)  # a method of asyncio's, a property of async_timeout's
    return bool(expired() if callable(expired) else expired)


def _unfinished(status: TaskStatus) -> bool:
    return not status.is_done


_KEEP_POLLING = retry_if_exception(is_transient) | retry_if_result(_unfinished)


class _Wait:
    """The state of one wait.

    A class with slots rather than closures: thousands of waits at once then each hold one small object, which
    keeps the garbage collector's work (the cost that grows with the number of waits) down.
    """

    __slots__ = (
        "_fetch",
        "_on_update",
        "_origin",
        "_schedule",
        "_task_id",
        "calls",
        "failure",
        "last",
        "last_pending",
        "last_word",
        "replay",
    )

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[TaskStatus]],
        task_id: str,
        on_update: OnUpdate | None,
        initial: TaskStatus | None,
        schedule: WaitSchedule,
        origin: float,
    ) -> None:
        self._fetch = fetch
        self._schedule = schedule
        self._origin = origin
        self.calls = 0
        self.last_pending: float | None = None
        self._task_id = task_id
        self._on_update = on_update
        self.last = initial
        self.last_word: str | None = None
        # The last call's transient error, if it failed: the cause of a timeout that follows it.
        self.failure: Exception | None = None
        # Whether the next attempt hands tenacity the outcome of the call made before its loop.
        self.replay = False

    async def attempt(self) -> TaskStatus:
        if self.replay:
            self.replay = False
            if self.failure is not None:
                raise self.failure
            assert self.last is not None
            return self.last
        try:
            status = await self._fetch(self._task_id)
        except Exception as exc:
            self.failure = exc
            self.calls += 1
            raise
        await self.seen(status)
        return status

    async def seen(self, status: TaskStatus) -> None:
        self.last = status
        self.failure = None
        self.calls += 1
        now = time.monotonic() - self._origin
        if status.is_done:
            self._schedule.finished(Finished(self.last_pending, now, status, self.calls))
        else:
            self.last_pending = now
        await self.notify(status)

    async def notify(self, status: TaskStatus) -> None:
        if status.state_word != self.last_word:
            if self.last_word is not None:
                logger.info("Task %s: %s -> %s", self._task_id, self.last_word, status.state_word)
            self.last_word = status.state_word
            if self._on_update is not None:
                result = self._on_update(status)
                if inspect.isawaitable(result):
                    await result


def _log_transient(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    if outcome is not None and outcome.failed:
        logger.info("Polling: a status call failed, still waiting: %s", outcome.exception())

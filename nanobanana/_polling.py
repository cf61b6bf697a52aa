"""The wait loop: poll a task's status until it is terminal, with a growing, jittered interval.

Built on tenacity: the "retry" condition is "not finished yet, or a transient error", the wait is the
`PollPolicy` schedule (jittered, and never shorter than a 429's ``Retry-After``), and the stop is the overall
deadline. Each status call is itself bounded by the time left, so a wait never overruns its ``timeout`` by
more than the scheduling slack.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import sys
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, retry_if_result

from ._config import PollPolicy
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    InvalidResponseError,
    RateLimitError,
    WaitTimeoutError,
)
from .types import TaskStatus

logger = logging.getLogger("nanobanana")

OnUpdate = Callable[[TaskStatus], "Awaitable[None] | None"]
"""A callback that sees every status change; it may be a plain function or a coroutine function."""

_TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


class _DeadlineReached(Exception):
    """The wait's deadline passed during a status call."""


def is_transient(exc: BaseException) -> bool:
    """Whether an error while polling should be ridden out rather than end the wait."""
    if isinstance(exc, (APIConnectionError, InvalidResponseError, _DeadlineReached)):
        return True
    if isinstance(exc, APIStatusError):
        # A 403 whose body is not JSON is a Cloudflare challenge page, not the API refusing the session.
        challenge = exc.status_code == 403 and isinstance(exc.body, str)
        return challenge or exc.status_code >= 500 or exc.status_code in _TRANSIENT_STATUSES
    return False


class _Schedule:
    """The tenacity wait: the policy's interval with jitter, at least a Retry-After, at most the time left."""

    def __init__(self, policy: PollPolicy, time_left: Callable[[], float], rng: random.Random) -> None:
        self._policy = policy
        self._time_left = time_left
        self._rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        interval = self._policy.interval(retry_state.attempt_number)
        interval *= 1.0 + self._rng.uniform(0.0, self._policy.jitter)
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            interval = max(interval, exc.retry_after)
        return max(0.0, min(interval, self._time_left()))


async def poll_until_done(
    fetch: Callable[[], Awaitable[TaskStatus]],
    *,
    task_id: str,
    timeout: float | None,
    policy: PollPolicy,
    on_update: OnUpdate | None = None,
    initial_delay: float = 0.0,
    rng: random.Random | None = None,
    initial: TaskStatus | None = None,
) -> TaskStatus:
    """Call ``fetch`` until the status is terminal and return that status.

    Args:
        fetch: Reads the task's status once.
        task_id: The task, for messages and errors.
        timeout: Seconds before giving up with WaitTimeoutError; None waits for ever.
        policy: The interval schedule.
        on_update: Called with each status whose state word differs from the previous one.
        initial_delay: Seconds to sleep before the first call (a just-created task is never done at once).
        rng: The source of jitter (tests pass a seeded one).
        initial: A status already known (the create answer's): ``on_update`` sees it at once, so a caller
            learns the task before the first poll, and it is the last status if no poll succeeds.

    Raises:
        WaitTimeoutError: ``timeout`` ran out first; carries the last status.
        APIStatusError: A non-transient error (401, 402, 404, ...) ended the wait.
    """
    wait = _Wait(fetch, task_id, timeout, on_update, initial)
    if initial is not None:
        await wait.notify(initial)
    if initial_delay > 0:
        await asyncio.sleep(min(initial_delay, max(0.0, wait.time_left())))
    # The first call runs outside tenacity (whose set-up costs more than a loopback status call, and a task is
    # often done at the first look); the loop, built only if needed, starts from its outcome as if it had run it.
    try:
        wait.first = await wait.attempt()
    except Exception as exc:
        if not is_transient(exc):
            raise
        wait.first_failure = exc
    if wait.first is not None and wait.first.is_done:
        return wait.first
    retrying = AsyncRetrying(
        retry=_KEEP_POLLING,
        wait=_Schedule(policy, wait.time_left, rng or random.Random()),
        stop=wait.out_of_time,
        retry_error_callback=wait.give_up,
        before_sleep=_log_transient,
    )
    status: TaskStatus = await retrying(wait.first_then_attempt)
    return status


def _unfinished(status: TaskStatus) -> bool:
    return not status.is_done


_KEEP_POLLING = retry_if_exception(is_transient) | retry_if_result(_unfinished)


class _Wait:
    """The state of one wait.

    A class with slots rather than closures: thousands of waits at once then each hold one small object, which
    keeps the garbage collector's work (the cost that grows with the number of waits) down.
    """

    __slots__ = ("_deadline", "_fetch", "_loop", "_on_update", "_task_id", "_timeout", "first", "first_failure",
                 "last", "last_word")  # fmt: skip

    def __init__(
        self,
        fetch: Callable[[], Awaitable[TaskStatus]],
        task_id: str,
        timeout: float | None,
        on_update: OnUpdate | None,
        initial: TaskStatus | None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._deadline = None if timeout is None else self._loop.time() + timeout
        self._fetch = fetch
        self._task_id = task_id
        self._timeout = timeout
        self._on_update = on_update
        self.last = initial
        self.last_word: str | None = None
        self.first: TaskStatus | None = None
        self.first_failure: Exception | None = None

    def time_left(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - self._loop.time()

    def out_of_time(self, _state: RetryCallState) -> bool:
        return self.time_left() <= 0

    async def attempt(self) -> TaskStatus:
        left = self.time_left()
        if left <= 0:
            raise _DeadlineReached
        try:
            if self._deadline is None:
                status = await self._fetch()
            elif sys.version_info >= (3, 11):
                # Bounded here, in the calling task and without a helper coroutine: thousands of waits may be
                # queued for a status call at once, and each frame they hold is work for the garbage collector.
                async with asyncio.timeout(left):
                    status = await self._fetch()
            else:  # wait_for (all Python 3.10 has) runs the call in another task
                status = await asyncio.wait_for(self._fetch(), left)
        except asyncio.TimeoutError:
            if self.time_left() <= 0:
                raise _DeadlineReached from None
            raise
        self.last = status
        await self.notify(status)
        return status

    async def first_then_attempt(self) -> TaskStatus:
        if self.first_failure is not None:
            failure, self.first_failure = self.first_failure, None
            raise failure
        if self.first is not None:
            status, self.first = self.first, None
            return status
        return await self.attempt()

    async def notify(self, status: TaskStatus) -> None:
        if status.state_word != self.last_word:
            if self.last_word is not None:
                logger.info("Task %s: %s -> %s", self._task_id, self.last_word, status.state_word)
            self.last_word = status.state_word
            if self._on_update is not None:
                result = self._on_update(status)
                if inspect.isawaitable(result):
                    await result

    def give_up(self, retry_state: RetryCallState) -> TaskStatus:
        outcome = retry_state.outcome
        cause = outcome.exception() if outcome is not None and outcome.failed else None
        error = WaitTimeoutError(self._task_id, self.last, self._timeout or 0.0)
        if cause is not None and not isinstance(cause, _DeadlineReached):
            # The last call failed with a transient error and time ran out: surface both.
            raise error from cause
        raise error


def _log_transient(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    if outcome is not None and outcome.failed:
        logger.info("Polling: a status call failed, still waiting: %s", outcome.exception())

"""The retry rule: which failed requests are sent again, after how long, and within what client-wide budget.

The rule (documented in docs/concepts.md):

- Idempotent requests (status, downloads, sign-in reads) are retried on connection errors, timeouts and
  transient statuses (408, 425, 429 and every 5xx).
- Requests that create something (create, upload, sign-in posts) are retried only when the server cannot have
  acted on them: the connection could not be opened, or the server refused the request (408, 429, 503). A read
  timeout or a dropped connection after sending is never retried blindly, because the task may exist already.
- A TLS certificate error is never retried.
- A ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date) is waited as given, up to a minute; a longer
  one is raised at once. Otherwise backoff is exponential with full jitter.
- Retries after failures spend a client-wide budget (AWS's "standard" retry mode): each retry takes tokens,
  one after a timeout more, each success gives one back. When it is spent, failures are raised at once, so an
  outage cannot multiply the traffic the client sends. A 429 costs nothing: the server said when to come back,
  and the pacer already slows the whole client down for it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from . import _config
from ._error_map import retry_after_of
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidResponseError,
    RateLimitError,
)
from ._plain_retrying import PlainAsyncRetrying

logger = logging.getLogger("nanobanana")

_T = TypeVar("_T")

# Statuses worth sending an idempotent request again for, besides every 5xx.
TRANSIENT_STATUSES = frozenset({408, 425, 429})
# The server refused these before doing anything, so even a create can be sent again.
REFUSED_STATUSES = frozenset({408, 429, 503})


def is_transient_status(status: int) -> bool:
    """Whether an error status is worth waiting out (the same call may succeed later)."""
    return status >= 500 or status in TRANSIENT_STATUSES


def resendable(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether sending the request that failed with ``exc`` again is safe and may succeed."""
    if isinstance(exc, APIConnectionError):
        return idempotent if exc.request_sent else exc.retryable
    if isinstance(exc, APIStatusError):
        return is_transient_status(exc.status_code) if idempotent else exc.status_code in REFUSED_STATUSES
    if isinstance(exc, InvalidResponseError):
        return idempotent
    return False


def should_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether the client sends a failed request again by itself (see the module docstring for the rule).

    An answer that is not JSON is left to the caller (a wait rides it out), since it is rarely a glitch.
    """
    if isinstance(exc, InvalidResponseError):
        return False
    return resendable(exc, idempotent=idempotent) and retry_after(exc) <= _config.RETRY_AFTER_MAX


def may_have_acted(exc: BaseException) -> bool:
    """Whether a request that is not idempotent (a create) and failed with ``exc`` may have been carried out.

    A connection dropped after sending, a 5xx that is not a refusal, or a 2xx answer we could not read leave it
    possibly done (a create possibly charged); a 4xx, a refusal or a connection never opened do not.
    """
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    if isinstance(exc, APIStatusError):
        return exc.status_code >= 500 and exc.status_code not in REFUSED_STATUSES
    return isinstance(exc, InvalidResponseError)


def retry_after(exc: BaseException) -> float:
    """Seconds the server asked to wait before sending again; 0 when it did not say."""
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        return exc.retry_after
    if isinstance(exc, APIStatusError):
        return retry_after_of(exc.headers) or 0.0
    return 0.0


_backoff = wait_random_exponential(multiplier=_config.RETRY_BACKOFF_BASE, max=_config.RETRY_BACKOFF_MAX)


def retry_wait(retry_state: RetryCallState) -> float:
    """Seconds before the next attempt: the server's ``Retry-After`` if it gave one, else jittered backoff."""
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None and outcome.failed else None
    asked = retry_after(exc) if exc is not None else 0.0
    if asked > 0:
        return asked
    return float(_backoff(retry_state))


class RetryBudget:
    """A client-wide token bucket that retries draw from (AWS's "standard" retry mode).

    Args:
        capacity: Tokens when full; a retry costs `RETRY_COST`, a retry after a timeout `TIMEOUT_COST`.
    """

    RETRY_COST = 5
    TIMEOUT_COST = 10

    def __init__(self, capacity: int = _config.RETRY_BUDGET) -> None:
        self.capacity = capacity
        self.tokens = capacity

    def spend(self, exc: BaseException | None) -> bool:
        """Take the cost of retrying after ``exc``; False (taking nothing) when the budget cannot pay it."""
        if isinstance(exc, RateLimitError):
            return True
        cost = self.TIMEOUT_COST if isinstance(exc, APITimeoutError) else self.RETRY_COST
        if cost > self.tokens:
            return False
        self.tokens -= cost
        return True

    def refill(self) -> None:
        """Give one token back, after a request that succeeded."""
        if self.tokens < self.capacity:
            self.tokens += 1


class _StopWhenSpent(stop_base):
    """The stop condition beside the attempt count: the budget cannot pay for another retry.

    Asked only when the rule would retry and attempts are left, so a retry spends exactly once.
    """

    def __init__(self, budget: RetryBudget) -> None:
        self._budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        if self._budget.spend(outcome.exception() if outcome is not None and outcome.failed else None):
            return False
        logger.info("Not retrying: the client's retry budget is spent (too many failures lately)")
        return True


def _retry_idempotent(exc: BaseException) -> bool:
    return should_retry(exc, idempotent=True)


def _retry_refused(exc: BaseException) -> bool:
    return should_retry(exc, idempotent=False)


class _Attempts(Generic[_T]):
    """The attempts at one request, as tenacity makes them: each calls ``attempt(resends)`` with its own count.

    A class with slots rather than a closure: a request waiting for its turn or its next attempt holds one object,
    not five.
    """

    __slots__ = ("_attempt", "_sent")

    def __init__(self, attempt: Callable[[int], Awaitable[_T]]) -> None:
        self._attempt = attempt
        self._sent = 0

    async def send(self) -> _T:
        """The next attempt (tenacity awaits only a coroutine function, which a bound method is at once seen to be)."""
        resends, self._sent = self._sent, self._sent + 1
        return await self._attempt(resends)


class Retrier:
    """The retry engine of one client: the rule above as two tenacity loops, built once and reused.

    Every callback of the loops is a plain function, so one loop object serves any number of requests at once
    (tenacity keeps a request's state in its own `RetryCallState`).

    Args:
        max_retries: Retries after the first attempt.
        budget: The client-wide budget retries draw from.
    """

    def __init__(self, *, max_retries: int, budget: RetryBudget) -> None:
        self.max_retries = max_retries
        self.budget = budget
        idempotent = PlainAsyncRetrying(
            retry=retry_if_exception(_retry_idempotent),
            wait=retry_wait,
            stop=stop_after_attempt(max_retries + 1) | _StopWhenSpent(budget),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        self._loops = {True: idempotent, False: idempotent.copy(retry=retry_if_exception(_retry_refused))}

    async def run(self, attempt: Callable[[int], Awaitable[_T]], *, idempotent: bool) -> _T:
        """Await ``attempt(resends)`` until it succeeds or the rule says stop; the last error is raised as it is.

        ``resends`` counts the attempts before this one (0 for the first), for the attempt's HTTP span.
        """
        result: _T = await self._loops[idempotent](_Attempts(attempt).send)
        self.budget.refill()
        return result

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        delay = retry_state.next_action.sleep if retry_state.next_action is not None else 0.0
        logger.info(
            "Retrying in %.2fs (attempt %d of %d) after: %s",
            delay,
            retry_state.attempt_number + 1,
            self.max_retries + 1,
            exc,
        )

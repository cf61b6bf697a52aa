"""A tenacity ``AsyncRetrying`` whose retry, wait, stop and callbacks are plain functions, called as they are."""

from __future__ import annotations

import inspect
from typing import Any

from tenacity import AsyncRetrying, BaseRetrying, DoAttempt, DoSleep, IterState, RetryCallState


class PlainAsyncRetrying(AsyncRetrying):
    """An async retry loop for callbacks that never return awaitables; it takes the same arguments as tenacity's.

    ``AsyncRetrying`` accepts coroutine callbacks, so on every attempt it wraps each callback in a new coroutine
    after asking ``inspect`` whether it is one: 44 of the 64 µs a loop adds to each request, measured (a status
    call takes about 420 µs in all). The SDK's callbacks are all plain functions, so the loop runs tenacity's own
    synchronous state machine (``BaseRetrying``) between attempts and awaits only the attempt and the sleep.

    One object serves one thread (an event loop's): tenacity keeps the loop's step state and statistics in
    thread-locals, read about twenty times per request; here they are plain attributes, which is safe because
    each step runs to its end without awaiting. With the attempt handed over as a bound coroutine method (which
    ``inspect`` recognises at once), a loop around an attempt that succeeds makes 85 Python calls instead of 143.
    """

    # Plain attributes in place of tenacity's thread-local properties (see above).
    iter_state: IterState = None  # type: ignore[assignment]
    statistics: dict[str, Any] = None  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.iter_state = IterState()
        self.statistics = {}
        for name in ("retry", "wait", "stop", "before", "after", "before_sleep", "retry_error_callback"):
            callback = getattr(self, name)
            if _is_coroutine_function(callback):
                # Called as it is, it would hand back an unawaited coroutine (always truthy) instead of its answer.
                raise TypeError(
                    f"PlainAsyncRetrying takes plain callbacks; {name}={callback!r} is a coroutine function"
                )

    # The synchronous steps, as AsyncRetrying overrode them with coroutines (the types differ on purpose).
    _add_action_func = BaseRetrying._add_action_func
    _run_retry = BaseRetrying._run_retry  # type: ignore[assignment]
    _run_wait = BaseRetrying._run_wait  # type: ignore[assignment]
    _run_stop = BaseRetrying._run_stop  # type: ignore[assignment]

    async def iter(self, retry_state: RetryCallState) -> DoAttempt | DoSleep | Any:
        """The next step of the loop (attempt, sleep or return), decided without awaiting anything."""
        return BaseRetrying.iter(self, retry_state)


def _is_coroutine_function(callback: object) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one (a callable class)."""
    return inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(type(callback).__call__)

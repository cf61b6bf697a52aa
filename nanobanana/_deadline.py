"""One deadline around a block of async code: ``asyncio.timeout``, or its backport on Python 3.10."""

from __future__ import annotations

import sys
from types import TracebackType

if sys.version_info >= (3, 11):
    from asyncio import Timeout as _Timeout
    from asyncio import timeout as _timeout

    def _expired(timeout: _Timeout) -> bool:
        return timeout.expired()

else:  # the same context manager, as a package (one aiohttp already depends on there)
    from async_timeout import Timeout as _Timeout
    from async_timeout import timeout as _timeout

    def _expired(timeout: _Timeout) -> bool:
        return timeout.expired


class Deadline:
    """``async with Deadline(seconds) as deadline:`` raises ``asyncio.TimeoutError`` when the time runs out.

    Args:
        seconds: The time allowed; None for no deadline.
    """

    __slots__ = ("_timeout",)

    def __init__(self, seconds: float | None) -> None:
        self._timeout = _timeout(seconds)

    async def __aenter__(self) -> Deadline:
        await self._timeout.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._timeout.__aexit__(exc_type, exc, tb)

    @property
    def expired(self) -> bool:
        """Whether this deadline ran out (rather than a TimeoutError raised inside the block)."""
        return _expired(self._timeout)

"""Stand-ins for the network's answers: a refused connection, a call that hangs, image bytes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.client_reqrep import ConnectionKey

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Enough of a PNG for anything that sniffs its type (the signature and the IHDR chunk's head).
PNG = PNG_SIGNATURE + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + bytes(32)


def refused() -> aiohttp.ClientConnectorError:
    """The error aiohttp raises when the API host refuses the connection."""
    key = ConnectionKey("nanabanana.ai", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


class Hang:
    """An aioresponses callback that never answers: it waits until the request is abandoned (cancelled).

    ``started`` is set when a call arrives and ``abandoned`` when the client gives up on it, so a test waits
    for those events instead of timing the client.
    """

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.abandoned = asyncio.Event()
        self.calls = 0

    async def __call__(self, url: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.abandoned.set()
            raise
        raise AssertionError("not reached")

"""A real aiohttp.web server on loopback, for what aioresponses cannot show (bytes on the wire, stalls)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """Serve ``{path: handler}`` (any method) on 127.0.0.1; yields the base URL, ``http://127.0.0.1:<port>``."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, _coroutine_function(handler))
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _coroutine_function(handler: Handler) -> Handler:
    # aiohttp wants a coroutine function, not any callable returning an awaitable (such as a `Stall`).
    async def handle(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    return handle


class Stall:
    """A handler that sends an image's headers and its first bytes, then goes silent until the client leaves.

    ``sent`` is set once the first bytes are out.
    """

    def __init__(self, *, first: bytes, total: int) -> None:
        self.first = first
        self.total = total
        self.sent = asyncio.Event()

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png", "Content-Length": str(self.total)})
        await response.prepare(request)
        await response.write(self.first)
        self.sent.set()
        await asyncio.Event().wait()  # cancelled when the server shuts down
        return response

"""A hostile API and file host on loopback: an aiohttp.web app with each misbehaviour behind a switch.

Set the switches on `Hostile` (they are plain attributes), point a client at ``server.url``, and read back what
reached the server (``hits``, ``cookies``). Everything binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TASK_ID = "hostile-task-0001"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
CREATE = "/api/image-generation-nano-banana/create"
STATUS = "/api/image-generation-nano-banana/status"


@dataclass
class Switches:
    """What the server does wrong. Every switch off is a well-behaved server."""

    # API answers
    answer_bytes: int | None = None  # status answers this many bytes of JSON-looking junk (chunked, no length)
    api_status: int | None = None  # every API call answers this status
    api_headers: dict[str, str] = field(default_factory=dict)  # extra headers on that status answer
    api_body: bytes | None = None  # the body of every API answer (2xx unless api_status)
    sign_in_redirect: bool = False  # API calls redirect to the sign-in page (an expired Auth.js session)
    cloudflare: bool = False  # API calls answer 403 with an HTML challenge page
    echo_cookie: bool = False  # status echoes the Cookie header it got in failMsg, and 5xx echo it in a header
    drop_status: bool = False  # status cuts the connection in the middle of its answer
    # downloads
    gzip_bomb: int | None = None  # the file is this many zero bytes, gzip-encoded whatever was asked
    gzip_result: bool = False  # the file is the PNG, gzip-encoded with the compressed Content-Length
    redirect_to: str | None = None  # the file redirects here
    redirect_loop: bool = False  # the file redirects to itself, for ever
    stall_download: bool = False  # the file sends its headers and some bytes, then nothing
    # signing in
    sign_in_status: int | None = None  # the sign-in callback answers this status


class Hostile:
    """The server; use as ``async with Hostile() as server:``."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.switches = Switches()
        self.hits: Counter[str] = Counter()
        self.cookies: list[str] = []
        self.accept_encodings: list[str] = []
        self.download_started = asyncio.Event()
        self._tls = tls
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Hostile:
        app = web.Application()
        app.router.add_post(CREATE, self._create)
        app.router.add_post(STATUS, self._status)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/api/auth/csrf", self._csrf)
        app.router.add_post("/api/auth/callback/email-verification", self._callback)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._tls)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"{'https' if self._tls else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def result_url(self) -> str:
        """The URL of the result file."""
        return f"{self.url}/files/result.png"

    # --- the API ------------------------------------------------------------------------------------------

    def _misbehave(self, request: web.Request) -> web.StreamResponse | None:
        self.cookies.append(request.headers.get("Cookie", ""))
        s = self.switches
        if s.sign_in_redirect:
            raise web.HTTPFound(f"{self.url}/api/auth/signin?callbackUrl=%2F")
        if s.cloudflare:
            page = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf</body></html>"
            return web.Response(status=403, text=page, content_type="text/html")
        if s.api_status is not None:
            headers = dict(s.api_headers)
            if s.echo_cookie:
                headers["X-Echo"] = request.headers.get("Cookie", "")
            return web.Response(status=s.api_status, body=s.api_body or b'{"error": "no"}', headers=headers)
        if s.api_body is not None:
            return web.Response(body=s.api_body, content_type="application/json")
        return None

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self.hits["create"] += 1
        return self._misbehave(request) or web.json_response({"task_id": TASK_ID, "status": "pending"})

    async def _status(self, request: web.Request) -> web.StreamResponse:
        self.hits["status"] += 1
        bad = self._misbehave(request)
        if bad is not None:
            return bad
        s = self.switches
        if s.answer_bytes is not None:
            return await self._endless(request, s.answer_bytes)
        if s.drop_status:
            response = web.StreamResponse(headers={"Content-Length": "1000", "Content-Type": "application/json"})
            await response.prepare(request)
            await response.write(b'{"taskId": ')
            assert request.transport is not None
            request.transport.close()
            return response
        fail = request.headers.get("Cookie", "") if s.echo_cookie else ""
        return web.json_response(_status_body(self.result_url, fail))

    async def _endless(self, request: web.Request, size: int) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b" " * 65536
        sent = 0
        while sent < size:
            await response.write(chunk)
            sent += len(chunk)
        return response

    async def _csrf(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"csrfToken": "csrf-0123456789"})

    async def _callback(self, request: web.Request) -> web.StreamResponse:
        self.hits["callback"] += 1
        if self.switches.sign_in_status is not None:
            return web.Response(status=self.switches.sign_in_status, text="down")
        raise web.HTTPFound(f"{self.url}/")

    # --- the file host ------------------------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.hits["file"] += 1
        self.cookies.append(request.headers.get("Cookie", ""))
        self.accept_encodings.append(request.headers.get("Accept-Encoding", ""))
        s = self.switches
        if s.redirect_loop:
            raise web.HTTPFound(str(request.url))
        if s.redirect_to is not None:
            return web.Response(status=302, headers={"Location": s.redirect_to})
        if s.gzip_bomb is not None:
            return _gzipped(gzip.compress(bytes(s.gzip_bomb), compresslevel=9))
        if s.gzip_result:
            return _gzipped(gzip.compress(PNG))
        if s.stall_download:
            return await self._stall(request)
        return web.Response(body=PNG, content_type="image/png")

    async def _stall(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png", "Content-Length": str(len(PNG))})
        await response.prepare(request)
        await response.write(PNG[:100])
        self.download_started.set()
        await asyncio.sleep(3600)
        return response


def _gzipped(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="image/png", headers={"Content-Encoding": "gzip"})


def _status_body(url: str, fail: str) -> dict[str, Any]:
    state = "failed" if fail else "succeed"
    generation: dict[str, Any] = {"id": TASK_ID, "status": state, "url": None if fail else url, "failMsg": fail}
    return json.loads(json.dumps({"taskId": TASK_ID, "generations": [generation]}))

"""The two aiohttp.web applications: the API host and the file host, speaking the API's wire format."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from ._faults import Fault, Faults
from ._images import media_type, render_result
from ._state import RecordedRequest, StoredFile, World, iso

logger = logging.getLogger("nanobanana.emulator")

API_PREFIX = "/api/image-generation-nano-banana"
# Auth.js names its cookies by the scheme it is served over: with the __Secure-/__Host- prefixes over https,
# plain over http, where cookie jars that follow the prefix rules (browsers, tough-cookie) would drop them.
SESSION_COOKIES = ("__Secure-authjs.session-token", "authjs.session-token")
CSRF_COOKIES = ("__Host-authjs.csrf-token", "authjs.csrf-token")
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
_RENDER_CACHE = 256

_CHALLENGE_PAGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head>
<body><div class="main-wrapper" role="main"><h1>nanabanana.ai</h1>
<h2>Checking if the site connection is secure</h2>
<p>Enable JavaScript and cookies to continue</p></div>
<!-- emulated Cloudflare challenge --></body></html>"""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class _TokenBucket:
    """A rate limiter as servers run them: ``rate`` requests per second with a one-second burst."""

    def __init__(self) -> None:
        self._tokens = 0.0
        self._updated = -math.inf

    def take(self, rate: float) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is free."""
        now = time.monotonic()
        self._tokens = min(rate, self._tokens + (now - self._updated) * rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / rate


def _redirect(location: str) -> web.Response:
    # Auth.js answers the callback with a redirect; the client reads Location and Set-Cookie from it.
    return web.Response(status=302, headers={"Location": location})


class Hosts:
    """Builds the API and file applications over one `World`, applying faults and sign-in checks."""

    def __init__(self, world: World, faults: Faults, *, secure: bool = False) -> None:
        self.world = world
        self.faults = faults
        self.secure = secure
        self.session_cookie = SESSION_COOKIES[0] if secure else SESSION_COOKIES[1]
        self.csrf_cookie = CSRF_COOKIES[0] if secure else CSRF_COOKIES[1]
        self.api_url = ""
        self.file_url = ""
        # Recently drawn results, so a burst of downloads of one result draws it once; bounded for long runs.
        self._renders: OrderedDict[tuple[Any, ...], asyncio.Future[bytes]] = OrderedDict()
        self._bucket = _TokenBucket()

    # --- applications -----------------------------------------------------------------------------------

    def api_app(self) -> web.Application:
        """The API host."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        routes = [
            ("POST", f"{API_PREFIX}/create", "create", self._create, True),
            ("POST", f"{API_PREFIX}/status", "status", self._status, True),
            ("POST", "/api/upload", "upload", self._upload, True),
            ("GET", "/api/auth/csrf", "csrf", self._csrf, False),
            ("POST", "/api/auth/email-verification", "email-verification", self._send_code, False),
            ("POST", "/api/auth/callback/email-verification", "callback", self._callback, False),
            ("GET", "/api/auth/session", "session", self._session, False),
            ("POST", "/api/auth/signout", "signout", self._signout, False),
        ]
        for method, path, endpoint, handler, needs_auth in routes:
            app.router.add_route(method, path, self._serve("api", endpoint, handler, needs_auth))
        return app

    def file_app(self) -> web.Application:
        """The file host: uploads, samples and results, no credentials needed (the URL is the key)."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve("files", "download", self._download, False))
        return app

    # --- the common path of every request -----------------------------------------------------------------

    def _serve(self, host: str, endpoint: str, handler: Handler, needs_auth: bool) -> Handler:
        async def serve(request: web.Request) -> web.StreamResponse:
            world = self.world
            world.counts[endpoint] += 1
            if world.config.record_requests:
                world.requests.append(
                    RecordedRequest(
                        host=host,
                        endpoint=endpoint,
                        method=request.method,
                        path=request.path,
                        headers=dict(request.headers),
                        body=await self._body_of(request),
                        at=time.monotonic(),
                    )
                )
            fault = self.faults.take(endpoint)
            if fault is not None:
                logger.debug("Fault on %s: %s", endpoint, fault)
                if fault.kind == "slow":
                    await asyncio.sleep(fault.seconds)
                elif fault.kind == "drop" and not fault.after_processing:
                    return self._drop(request)
                elif fault.kind in ("status", "html_challenge", "malformed_json"):
                    return self._canned(fault)
            limit = world.config.rate_limit
            if needs_auth and limit is not None and (wait := self._bucket.take(limit)) > 0:
                world.rate_limited += 1
                return web.json_response(
                    {"error": "Too many requests, slow down."},
                    status=429,
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
            if needs_auth and world.config.require_auth and self._user(request) is None:
                response: web.StreamResponse = _error(
                    401, f"Unauthorized: sign in first (send the {self.session_cookie} cookie)."
                )
            else:
                response = await handler(request)
            if fault is not None and fault.kind == "drop":
                return self._drop(request)
            if fault is not None and fault.kind == "truncate" and isinstance(response, web.Response):
                return await self._truncated(request, response)
            return response

        return serve

    async def _body_of(self, request: web.Request) -> Any:
        if request.content_type == "application/json":
            try:
                return await request.json()
            except ValueError:
                return await request.text()
        if request.content_type == "application/x-www-form-urlencoded":
            return dict(await request.post())
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            return {
                name: _describe_file(value) if isinstance(value, web.FileField) else value
                for name, value in form.items()
            }
        return None

    def _user(self, request: web.Request) -> str | None:
        for name in SESSION_COOKIES:
            token = request.cookies.get(name)
            if token and token in self.world.sessions:
                return self.world.sessions[token]
        return None

    def _canned(self, fault: Fault) -> web.Response:
        if fault.kind == "html_challenge":
            return web.Response(
                status=fault.status_code,
                text=_CHALLENGE_PAGE,
                content_type="text/html",
                headers={"Server": "cloudflare"},
            )
        if fault.kind == "malformed_json":
            return web.Response(status=200, text='{"taskId": "3b92', content_type="application/json")
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        messages = {429: "Too many requests, slow down.", 402: "Insufficient credits."}
        return web.json_response(
            {"error": messages.get(fault.status_code, f"Emulated error {fault.status_code}.")},
            status=fault.status_code,
            headers=headers,
        )

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        # The connection is gone, so nothing of this answer reaches the client.
        return web.Response(status=500)

    @staticmethod
    async def _truncated(request: web.Request, response: web.Response) -> web.StreamResponse:
        body = bytes(response.body) if isinstance(response.body, (bytes, bytearray)) else b""
        stream = web.StreamResponse(status=response.status, headers=response.headers)
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(body[: len(body) // 2])
        await asyncio.sleep(0)
        if request.transport is not None:
            request.transport.abort()
        return stream

    # --- the API --------------------------------------------------------------------------------------------

    async def _json_object(self, request: web.Request) -> dict[str, Any]:
        """The JSON object body; answers 400 (by raising) when the body is anything else."""
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(
                text='{"error": "The body must be a JSON object."}', content_type="application/json"
            )
        return data

    async def _create(self, request: web.Request) -> web.StreamResponse:
        data = await self._json_object(request)
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _error(400, "prompt is required.")
        urls = data.get("image_urls", [])
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            return _error(400, "image_urls must be a list of URLs.")
        gone = next((url for url in urls if self._upload_gone(url)), None)
        if gone is not None:
            return _error(400, f"Input image URL has expired: {gone}")
        config = self.world.config
        if config.credits is not None:
            if config.credits <= 0:
                return _error(402, "Insufficient credits. Buy more at /pricing.")
            config.credits -= 1
        task = self.world.create_task(self._user(request), data)
        logger.info("Created task %s: %r", task.task_id, task.prompt[:60])
        stamp = iso(task.created)
        return web.json_response(
            {"task_id": task.task_id, "status": "waiting", "created_at": stamp, "updated_at": stamp}
        )

    async def _status(self, request: web.Request) -> web.StreamResponse:
        data = await self._json_object(request)
        task_id = data.get("taskId")
        if not isinstance(task_id, str) or not task_id:
            return _error(400, "taskId is required.")
        task = self.world.tasks.get(task_id)
        if task is None or (self.world.config.require_auth and task.owner != self._user(request)):
            return _error(404, "Task not found.")
        return web.json_response({"taskId": task_id, "generations": [self.world.generation(task, self.file_url)]})

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        if not request.content_type.startswith("multipart/"):
            return _error(400, "Send the image as multipart/form-data, field 'file'.")
        form = await request.post()
        field = form.get("file")
        if not isinstance(field, web.FileField):
            return _error(400, "The multipart field 'file' is missing.")
        data = field.file.read()
        if not data:
            return _error(400, "The file is empty.")
        name = _filename(field)
        # The site keeps the original file name, spaces included (see the capture).
        path = f"/image2video/image2video_{int(time.time() * 1000)}_{name}"
        self.world.files[path] = StoredFile(data, field.content_type or "application/octet-stream")
        self.world.uploads.append(path)
        self.world.uploaded_at[path] = time.monotonic()
        return web.json_response({"url": self.file_url + path})

    # --- signing in (Auth.js) -------------------------------------------------------------------------------

    async def _csrf(self, request: web.Request) -> web.StreamResponse:
        token = secrets.token_hex(32)
        self.world.csrf_tokens.add(token)
        response = web.json_response({"csrfToken": token})
        response.set_cookie(
            self.csrf_cookie,
            f"{token}|{secrets.token_hex(32)}",
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="Lax",
        )
        return response

    async def _send_code(self, request: web.Request) -> web.StreamResponse:
        data = await self._json_object(request)
        email = data.get("email")
        if not isinstance(email, str) or "@" not in email:
            return web.json_response({"code": 1, "message": "Invalid email address."}, status=400)
        code = self.world.new_code(email)
        logger.info("Sign-in code for %s: %s", email, code)
        return web.json_response({"code": 0, "message": "Verification code sent."})

    async def _callback(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        csrf = str(form.get("csrfToken", ""))
        cookie = request.cookies.get(self.csrf_cookie, "").partition("|")[0]
        if not csrf or csrf != cookie or csrf not in self.world.csrf_tokens:
            return _redirect(f"{self.api_url}/api/auth/error?error=MissingCSRF")
        email, code = str(form.get("email", "")), str(form.get("code", ""))
        if not code or self.world.login_codes.get(email) != code:
            return _redirect(f"{self.api_url}/api/auth/error?error=Verification")
        del self.world.login_codes[email]
        token = self.world.issue_token(email)
        response = _redirect(f"{self.api_url}/")
        response.set_cookie(
            self.session_cookie,
            token,
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="Lax",
            max_age=30 * 24 * 3600,
        )
        return response

    async def _session(self, request: web.Request) -> web.StreamResponse:
        email = self._user(request)
        if email is None:
            return web.json_response({})
        expires = iso(datetime.now(timezone.utc) + timedelta(days=30))
        user = {"name": email.partition("@")[0], "email": email, "image": None}
        return web.json_response({"user": user, "expires": expires})

    async def _signout(self, request: web.Request) -> web.StreamResponse:
        for name in SESSION_COOKIES:
            self.world.sessions.pop(request.cookies.get(name, ""), None)
        response = web.json_response({"url": f"{self.api_url}/"})
        response.del_cookie(self.session_cookie, path="/", secure=self.secure)
        return response

    # --- the file host --------------------------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        stored = self.world.files.get(path)
        if stored is not None and not self.world.upload_gone(path):
            return web.Response(body=stored.data, content_type=stored.content_type)
        task_id = self.world.results.get(path)
        task = self.world.tasks.get(task_id) if task_id else None
        if task is None:
            return web.Response(status=404, text="Not Found")
        _, finished, _ = task.state_at(time.monotonic())
        if not finished or task.failed:
            return web.Response(status=404, text="Not Found")
        data, content_type = await self._result_image(task.request)
        return web.Response(body=data, content_type=content_type)

    async def _result_image(self, request: dict[str, Any]) -> tuple[bytes, str]:
        config = self.world.config
        output_format = str(request.get("output_format") or "png")
        _, content_type = media_type(output_format)
        size = config.result_size or (
            min(int(request.get("width") or 1024), 2048),
            min(int(request.get("height") or 1024), 2048),
        )
        urls = tuple(str(u) for u in request.get("image_urls") or ())
        prompt = str(request.get("prompt", ""))
        key = (prompt, urls, size, output_format)
        future = self._renders.get(key)
        if future is None:
            inputs = [(url, self._local_file(url)) for url in urls]
            future = asyncio.get_running_loop().run_in_executor(
                None, render_result, prompt, inputs, size, output_format
            )
            self._renders[key] = future
            if len(self._renders) > _RENDER_CACHE:
                self._renders.popitem(last=False)
        else:
            self._renders.move_to_end(key)
        return await asyncio.shield(future), content_type

    def _upload_gone(self, url: str) -> bool:
        """Whether ``url`` names a file uploaded here that is gone."""
        if not url.startswith(self.file_url):
            return False
        path = url[len(self.file_url) :]
        return self.world.upload_gone(path) or self.world.upload_gone(unquote(path))

    def _local_file(self, url: str) -> bytes | None:
        if not url.startswith(self.file_url):
            return None
        path = url[len(self.file_url) :]
        stored = self.world.files.get(path) or self.world.files.get(unquote(path))
        return stored.data if stored is not None else None


def _describe_file(field: web.FileField) -> dict[str, Any]:
    size = field.file.seek(0, 2)
    field.file.seek(0)
    return {"filename": _filename(field), "size": size, "content_type": field.content_type}


def _filename(field: web.FileField) -> str:
    # aiohttp's client percent-quotes file names in Content-Disposition; browsers send them raw.
    return unquote(field.filename or "upload.png")

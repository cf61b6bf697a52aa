"""`Emulator`: runs the emulated API host and file host on loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType

from aiohttp import web
from typing_extensions import Self, Unpack

from ._app import Hosts
from ._config import EmulatorConfig
from ._faults import Faults
from ._images import sample_images
from ._state import EmulatedTask, RecordedRequest, StoredFile, World
from ._tls import client_context, self_signed, server_context
from ._types import Knobs


class Emulator:
    """An offline stand-in for the Nano Banana API, over real sockets on loopback.

    It serves the API host (`url`) and a separate file host (`file_url`, another origin, like the real
    ``file.v03ai.com``) with the exact wire format of the real service: create, status, upload, the
    Auth.js sign-in endpoints, and result images rendered with Pillow. Behaviour is set by the knobs of
    `EmulatorConfig`, at start or later with `configure`; faults are injected through `faults`.

    Args:
        host: The interface to listen on.
        port: The API host's port; 0 picks a free one.
        file_port: The file host's port; 0 picks a free one.
        https: Serve https with a self-signed certificate made at start (see `certificate` and
            `client_ssl_context`), setting the cookie names of the real site (``__Secure-``/``__Host-``
            prefixes). Over plain http (the default) it sets the names Auth.js uses there
            (``authjs.session-token``, ``authjs.csrf-token``), which cookie jars that follow the prefix
            rules accept.
        **knobs: `EmulatorConfig` fields: ``finish_after``, ``states``, ``failure_rate``, ...

    Example:
        ```python
        async with Emulator(finish_after=0.5, states=("waiting", "processing")) as emu:
            async with NanoBanana(base_url=emu.url, session_token=emu.issue_token()) as client:
                result = await client.generate("a banana in space", image_urls=emu.sample_urls)
        ```
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        file_port: int = 0,
        https: bool = False,
        **knobs: Unpack[Knobs],
    ) -> None:
        self.host = host
        self._ports = (port, file_port)
        self.https = https
        self.config = EmulatorConfig(**knobs)
        self._world = World(self.config)
        self.faults = Faults()
        self.faults.rng.seed(self.config.seed)
        self._hosts = Hosts(self._world, self.faults, secure=https)
        self._certificate: bytes | None = None
        self._tls: ssl.SSLContext | None = None
        self._runners: list[web.AppRunner] = []
        self._sample_urls: list[str] = []

    # --- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> Self:
        """Start serving (``async with`` does this for you). Returns the emulator."""
        if self._runners:
            raise RuntimeError("the emulator is already running")
        urls = []
        if self.https and self._tls is None:
            # Made once per emulator, so a restart keeps the certificate clients were told to trust.
            self._certificate, key = self_signed(self.host)
            self._tls = server_context(self._certificate, key)
        try:
            for app, port in zip((self._hosts.api_app(), self._hosts.file_app()), self._ports, strict=True):
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                self._runners.append(runner)
                sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, port))
                await web.SockSite(runner, sock, backlog=4096, ssl_context=self._tls).start()
                bound = sock.getsockname()[1]
                shown = f"[{self.host}]" if ":" in self.host else self.host
                urls.append(f"{'https' if self.https else 'http'}://{shown}:{bound}")
        except BaseException:
            await self.stop()
            raise
        self._hosts.api_url, self._hosts.file_url = urls
        self._sample_urls = [self.add_file(f"/samples/{name}", data, "image/png") for name, data in sample_images()]
        return self

    async def stop(self) -> None:
        """Stop serving and close every connection. Idempotent."""
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @contextlib.contextmanager
    def run_in_thread(self) -> Iterator[Self]:
        """Serve from a background thread with its own event loop, for synchronous code and other loops.

        Example:
            ```python
            with Emulator(finish_after=0).run_in_thread() as emu:
                print(emu.url)
            ```
        """
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                raise
            finally:
                started.set()

        thread = threading.Thread(target=loop.run_forever, name="nanobanana-emulator", daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(serve(), loop)
        started.wait()
        try:
            if failure:
                raise failure[0]
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    # --- where it is ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API host's base URL, for ``NanoBanana(base_url=...)``."""
        self._require_running()
        return self._hosts.api_url

    @property
    def file_url(self) -> str:
        """The file host's base URL (another origin than `url`)."""
        self._require_running()
        return self._hosts.file_url

    @property
    def sample_urls(self) -> list[str]:
        """URLs of the emulator's sample input images (a person, an outfit, a banana) on its file host."""
        self._require_running()
        return list(self._sample_urls)

    @property
    def certificate(self) -> bytes | None:
        """The self-signed certificate (PEM) of the https mode, once started; None over http."""
        return self._certificate

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting this emulator's certificate, e.g. for ``aiohttp.TCPConnector(ssl=...)``.

        Raises:
            RuntimeError: The emulator is not running in https mode.
        """
        if self._certificate is None:
            raise RuntimeError("the emulator serves https only when made with https=True, once started")
        return client_context(self._certificate)

    def _require_running(self) -> None:
        if not self._runners:
            raise RuntimeError("the emulator is not running; use `async with Emulator() as emu:` or `await start()`")

    # --- knobs and state ------------------------------------------------------------------------------------

    def configure(self, **knobs: Unpack[Knobs]) -> None:
        """Change knobs while running; tasks created from now on follow them.

        Raises:
            pydantic.ValidationError: A knob is unknown or its value invalid.
        """
        updated = self.config.model_validate({**self.config.model_dump(), **knobs})
        for name in knobs:
            setattr(self.config, name, getattr(updated, name))
        if "seed" in knobs:
            self._world.rng.seed(self.config.seed)
            self.faults.rng.seed(self.config.seed)

    def issue_token(self, email: str = "user@example.com") -> str:
        """A valid session token for ``email``, as if signed in; pass it as ``session_token``."""
        return self._world.issue_token(email)

    @property
    def login_codes(self) -> Mapping[str, str]:
        """The sign-in codes the emulator "e-mailed", by address (a code is removed once used)."""
        return self._world.login_codes

    @property
    def tasks(self) -> Mapping[str, EmulatedTask]:
        """Every task created, by id."""
        return self._world.tasks

    @property
    def created_count(self) -> int:
        """How many tasks were created."""
        return len(self._world.tasks)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order (when ``record_requests`` is on)."""
        return self._world.requests

    @property
    def uploads(self) -> list[str]:
        """The URL of every file uploaded and stored, in order (a refused or faulted upload is not one)."""
        return [self._hosts.file_url + path for path in self._world.uploads]

    @property
    def rate_limited_count(self) -> int:
        """How many requests the ``rate_limit`` knob answered with 429 (scripted 429 faults are in `faults`)."""
        return self._world.rate_limited

    def count(self, endpoint: str) -> int:
        """How many requests reached ``endpoint`` (``create``, ``status``, ``download``, ...), faults included."""
        return self._world.counts[endpoint]

    def add_file(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve ``data`` at ``path`` on the file host and return its URL."""
        if not path.startswith("/"):
            path = "/" + path
        self._world.files[path] = StoredFile(data, content_type)
        return self._hosts.file_url + path

    def expire_uploads(self) -> list[str]:
        """Make every file uploaded so far gone, as when the service cleans up old uploads; returns their URLs.

        The file host then answers 404 for them, and a create naming one is refused with 400 ("Input image URL
        has expired: <url>"). Files uploaded later are kept (see the ``upload_lifetime`` knob to expire those too).
        """
        expired = [path for path in self._world.uploaded_at if self._world.files.pop(path, None) is not None]
        return [self._hosts.file_url + path for path in expired]

    def finish(self, task_id: str, *, fail_message: str | None = None) -> None:
        """End a task now: successfully, or in failure with ``fail_message``.

        Raises:
            KeyError: No such task.
        """
        task = self._world.tasks[task_id]
        if fail_message is not None:
            task.failure_message = fail_message
        task.forced_failure = fail_message is not None

    def reset(self) -> None:
        """Forget tasks, requests, counts (429s included), the list of uploads and faults; keep sessions and files."""
        self._world.tasks.clear()
        self._world.results.clear()
        self._world.requests.clear()
        self._world.counts.clear()
        self._world.uploads.clear()
        self._world.rate_limited = 0
        self.faults.clear()
        self.faults.fired.clear()

    def __repr__(self) -> str:
        where = self._hosts.api_url if self._runners else "stopped"
        return f"Emulator({where}, tasks={len(self._world.tasks)})"

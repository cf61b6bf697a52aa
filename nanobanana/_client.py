"""`NanoBanana`, the client: the user-facing coroutines, one per step, and `generate` for all of them."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Awaitable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, overload

import aiohttp
from pydantic import ValidationError
from typing_extensions import Self, Unpack

from . import _auth, _config, _session_file
from ._batch import BatchInput, BatchRun, ProgressCallback
from ._batch_steps import ClientSteps, UploadMemory
from ._config import PollPolicy
from ._download import download as _download
from ._exceptions import InvalidInputError, NanoBananaError, invalid_input
from ._inputs import ImageInput, LocalImage, gather_all, is_url, load_image
from ._polling import OnUpdate, poll_until_done
from ._telemetry import Telemetry
from ._transport import Transport
from ._wait_schedule import FixedSchedule
from .types import (
    GenerationOptions,
    GenerationRequest,
    GenerationResult,
    SessionInfo,
    Task,
    TaskStatus,
)

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

logger = logging.getLogger("nanobanana")

_CREATE = f"{_config.API_PREFIX}/create"
_STATUS = f"{_config.API_PREFIX}/status"
_UPLOAD = "/api/upload"


def _build_request(
    prompt: str | GenerationRequest, image_urls: Sequence[str], options: GenerationOptions
) -> GenerationRequest:
    if isinstance(prompt, GenerationRequest):
        if image_urls or options:
            raise InvalidInputError("pass either a GenerationRequest or a prompt with image_urls and options, not both")
        return prompt
    if isinstance(image_urls, str):
        raise InvalidInputError("image_urls must be a list of URLs, not a single string")
    try:
        return GenerationRequest(prompt=prompt, image_urls=tuple(image_urls), **options)
    except ValidationError as exc:
        raise invalid_input(exc, "generation request") from exc


def _with_more_urls(request: GenerationRequest, urls: Sequence[str]) -> GenerationRequest:
    try:
        return GenerationRequest.model_validate({**request.model_dump(), "image_urls": (*request.image_urls, *urls)})
    except ValidationError as exc:
        raise invalid_input(exc, "generation request") from exc


def _status_of_created(task: Task) -> TaskStatus:
    """The status a create answer implies, so progress callbacks learn the task id before the first poll."""
    return TaskStatus.model_validate(
        {"taskId": task.task_id, "generations": [{"id": task.task_id, "status": task.status}]}
    )


class NanoBanana:
    """The async client of the Nano Banana image-editing API.

    One client holds one connection pool and its limits; share it across every coroutine of your program
    (a chat bot, a batch job) and close it at the end: use it as ``async with``, or call `close`.

    Args:
        session_token: The site's session cookie (``__Secure-authjs.session-token``). Defaults to
            ``NANOBANANA_SESSION_TOKEN``, else the session saved by `login` / `save_session`.
        base_url: The API host. Defaults to ``NANOBANANA_BASE_URL``, else ``https://nanabanana.ai``.
        session_file: Where the saved session is read and written. Defaults to ``NANOBANANA_SESSION_FILE``,
            else ``session.json`` in the user's config folder.
        cookies: More cookies for the API host (for example Cloudflare's), sent to it only.
        headers: More headers for the API host, sent to it only.
        timeout: Seconds for one request (or an ``aiohttp.ClientTimeout``).
        max_retries: Retries of a failed request; see the retry rule in the docs.
        max_concurrency: Requests in flight at once across the whole client (sockets are capped alike).
        requests_per_second: A client-wide request rate limit; None for none. The client also slows
            itself down when the server answers 429, and recovers gradually.
        poll: How `wait` spaces its status calls.
        wait_timeout: Default seconds `wait` and `generate` wait for a task.
        max_download_bytes: Largest result `download` accepts (after any decoding).
        max_concurrent_downloads: Downloads in flight at once; the file host's own limit, so slow downloads
            never hold the places of API requests (``max_concurrency``).
        download_timeout: Seconds a whole download may take; None (the default) bounds only the silence
            between bytes (the client's ``timeout``).
        session: An ``aiohttp.ClientSession`` of yours to send requests with. The client never closes it.
        allow_insecure_http: Allow a plain ``http://`` base URL to another machine, which sends the session
            cookie in clear. Loopback hosts (the emulator) never need it.
        tracer_provider: The OpenTelemetry tracer provider for the client's spans (the ``otel`` extra);
            defaults to the global one. See the Observability guide.
        meter_provider: The OpenTelemetry meter provider for the client's metrics; defaults to the global one.
        capture_content: Record the prompt and the input and result URLs (never their query strings) in
            spans. Defaults to ``NANOBANANA_OTEL_CAPTURE_CONTENT`` (or
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), else off.
        http_spans: Emit a span per HTTP request; turn it off when opentelemetry-instrumentation-aiohttp-client
            makes them. Defaults to ``NANOBANANA_OTEL_HTTP_SPANS``, else on.

    Example:
        ```python
        async with NanoBanana() as client:
            result = await client.generate(
                "change the clothes from image 1 to image 2",
                image_urls=[person_url, outfit_url],
                output="out.png",
            )
        print(result.path)
        ```
    """

    def __init__(
        self,
        *,
        session_token: str | None = None,
        base_url: str | None = None,
        session_file: str | os.PathLike[str] | None = None,
        cookies: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | aiohttp.ClientTimeout = _config.DEFAULT_TIMEOUT,
        max_retries: int = _config.DEFAULT_MAX_RETRIES,
        max_concurrency: int = _config.DEFAULT_MAX_CONCURRENCY,
        requests_per_second: float | None = None,
        poll: PollPolicy | None = None,
        wait_timeout: float | None = _config.DEFAULT_WAIT_TIMEOUT,
        max_download_bytes: int = _config.DEFAULT_MAX_DOWNLOAD_BYTES,
        max_concurrent_downloads: int = _config.DEFAULT_MAX_DOWNLOADS,
        download_timeout: float | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        capture_content: bool | None = None,
        http_spans: bool | None = None,
    ) -> None:
        resolved_base = (base_url or os.environ.get(_config.ENV_BASE_URL) or _config.DEFAULT_BASE_URL).rstrip("/")
        self._session_file = (
            Path(session_file).expanduser() if session_file is not None else _config.default_session_file()
        )
        token = session_token or os.environ.get(_config.ENV_SESSION_TOKEN) or None
        if token is None and not (cookies and any(n in cookies for n in _config.SESSION_COOKIE_NAMES)):
            token = _session_file.load_token(self._session_file, resolved_base)
        try:
            client_timeout = _config.client_timeout(timeout)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        self._transport = Transport(
            base_url=resolved_base,
            session_token=token,
            cookies=cookies or {},
            headers=headers or {},
            timeout=client_timeout,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            requests_per_second=requests_per_second,
            session=session,
            allow_insecure_http=allow_insecure_http,
            max_downloads=max_concurrent_downloads,
            download_timeout=download_timeout,
        )
        self._telemetry = self._transport.telemetry = Telemetry(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            capture_content=capture_content,
            http_spans=http_spans,
            server=self._transport.base_url,
            redact=self._transport.redact,
        )
        self.poll = poll or PollPolicy()
        self.wait_timeout = wait_timeout
        self.max_download_bytes = max_download_bytes
        self._rng = random.Random()

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool the client created (a ``session=`` of yours stays open). Idempotent."""
        await self._transport.close()

    def __repr__(self) -> str:
        signed_in = self._transport.session_token is not None
        return f"NanoBanana(base_url={self.base_url!r}, signed_in={signed_in})"

    @property
    def base_url(self) -> str:
        """The API host this client talks to."""
        return str(self._transport.base_url)

    @property
    def session_token(self) -> str | None:
        """The session cookie's value (a secret: do not log it), or None when not signed in."""
        return self._transport.session_token

    @property
    def session_file(self) -> Path:
        """Where `save_session` writes and the client looks for a saved session."""
        return self._session_file

    # --- the steps -----------------------------------------------------------------------------------------

    async def create(
        self,
        prompt: str | GenerationRequest,
        *,
        image_urls: Sequence[str] = (),
        images: Sequence[ImageInput] = (),
        **options: Unpack[GenerationOptions],
    ) -> Task:
        """Start a generation and return its task at once, without waiting.

        A create is never retried once the server may have acted on it (see the retry rule): if it fails
        with an `APIConnectionError` whose ``request_sent`` is True, the task may exist; look before sending
        it again, or you may pay twice.

        Args:
            prompt: What to do with the images, or a complete `GenerationRequest`.
            image_urls: Hosted input images, in order, sent byte for byte.
            images: More inputs after ``image_urls``: URLs, local paths, bytes or binary file objects. Local
                ones are checked, then uploaded concurrently, before the task is created.
            **options: `GenerationOptions`: ``resolution``, ``output_format``, ``width``, ...

        Returns:
            The created task; pass ``task.task_id`` to `status` or `wait`.

        Raises:
            InvalidInputError: The request is invalid; nothing was sent.
            AuthenticationError: Not signed in, or the session expired.
            InsufficientCreditsError: No credits left.
            APIError: Any other failure to create the task.

        Example:
            ```python
            task = await client.create("make it night", image_urls=[url], resolution="2K")
            final = await client.wait(task.task_id)
            ```
        """
        body = (await self._prepare(_build_request(prompt, image_urls, options), images)).to_wire()
        with self._telemetry.step("create") as span:
            answer = await self._transport.request("POST", _CREATE, json_body=body, idempotent=False)
            if not isinstance(answer.data, dict) or not answer.data.get("task_id"):
                self._transport.invalid_shape("POST", _CREATE, answer.status, answer.data, "no task_id")
            task = Task.model_validate(answer.data)
            span.set_task_id(task.task_id)
        logger.info("Created task %s", task.task_id)
        return task

    async def status(self, task_id: str) -> TaskStatus:
        """Read a task's status once.

        Args:
            task_id: The id from `create`.

        Returns:
            The status; see ``state``, ``is_done``, ``url`` and ``fail_msg``.

        Raises:
            NotFoundError: No such task.
            APIError: The status could not be read.
        """
        if not isinstance(task_id, str) or not task_id.strip():
            raise InvalidInputError("task_id must be a non-empty string")
        answer = await self._transport.request("POST", _STATUS, json_body={"taskId": task_id}, idempotent=True)
        data = answer.data
        if not isinstance(data, dict):
            self._transport.invalid_shape("POST", _STATUS, answer.status, data, "not an object")
        if "taskId" not in data:
            data = {**data, "taskId": task_id}
        try:
            return TaskStatus.model_validate(data)
        except ValidationError as exc:
            self._transport.invalid_shape("POST", _STATUS, answer.status, data, str(exc.errors()[0]["msg"]))

    async def wait(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
        poll: PollPolicy | None = None,
    ) -> TaskStatus:
        """Poll a task until it finishes and return its final status.

        Transient errors while polling (connection errors, 429, 5xx, Cloudflare pages) do not end the wait.
        Cancelling the awaiting task stops polling at once; the task itself keeps running on the server.

        Args:
            task_id: The id from `create`.
            timeout: Seconds to wait; None (the default) uses the client's ``wait_timeout``. To wait for ever,
                make the client with ``wait_timeout=None``.
            on_update: Called (plain or async function) with the status whenever its state changes.
            poll: The interval schedule for this wait; defaults to the client's.

        Returns:
            The final status of a successful task (``status.url`` is the result).

        Raises:
            GenerationFailedError: The task failed; carries ``fail_msg``.
            WaitTimeoutError: Still running after ``timeout``; resume with ``wait(err.task_id)``.
            APIStatusError: A non-transient error such as 401 or 404.
        """
        return await self._wait(
            task_id, timeout=timeout, on_update=on_update, poll=poll, first_delay=0.0, created_at=time.monotonic()
        )

    def _wait(
        self,
        task_id: str,
        *,
        timeout: float | None,
        on_update: OnUpdate | None,
        poll: PollPolicy | None,
        first_delay: float | None,
        created_at: float,
        created: Task | None = None,
    ) -> Coroutine[None, None, TaskStatus]:
        # The wait's span records every status call and change of state through the fetch it wraps.
        span = self._telemetry.wait(task_id)
        return span.run(
            poll_until_done(
                span.fetch(self.status),
                task_id=task_id,
                timeout=self.wait_timeout if timeout is None else timeout,
                schedule=FixedSchedule(poll or self.poll, self._rng),
                created_at=created_at,
                on_update=on_update,
                first_delay=first_delay,
                # Only a callback needs to hear of the task before the first poll.
                initial=None if created is None or on_update is None else _status_of_created(created),
            )
        )

    @overload
    async def download(self, url: str) -> bytes: ...

    @overload
    async def download(self, url: str, path: str | os.PathLike[str]) -> Path: ...

    async def download(self, url: str, path: str | os.PathLike[str] | None = None) -> bytes | Path:
        """Download a result.

        The file host gets no cookie and none of your headers. With ``path``, the image is streamed to a
        temporary file beside it and renamed into place only when complete, so a failed download leaves
        nothing behind; if ``path`` is a folder, the URL's file name is used inside it.

        Args:
            url: The result URL (``status.url``).
            path: Where to save it; omit to get the bytes.

        Returns:
            The bytes, or the path written.

        Raises:
            DownloadError: Not found, not an image, too large, or cut short.
        """
        with self._telemetry.step("download", url=url):
            return await _download(self._transport, url, path, max_bytes=self.max_download_bytes)

    async def upload(self, file: ImageInput, *, filename: str | None = None) -> str:
        """Upload a local image and return its hosted URL, for ``image_urls``.

        Args:
            file: A path, the image's bytes, or a binary file object.
            filename: The name to upload under; defaults to the file's own name.

        Returns:
            The hosted URL.

        Raises:
            InvalidInputError: The file is missing, unreadable, empty, or not an image.
            APIError: The upload failed.
        """
        image = await load_image(file, filename=filename)
        return await self._upload_loaded(image.data, image.filename, image.content_type)

    async def _upload_loaded(self, data: bytes, filename: str, content_type: str) -> str:
        def form() -> aiohttp.FormData:
            body = aiohttp.FormData()
            body.add_field("file", data, filename=filename, content_type=content_type)
            return body

        with self._telemetry.step("upload"):
            answer = await self._transport.request("POST", _UPLOAD, multipart=form, idempotent=False)
            url = answer.data.get("url") if isinstance(answer.data, dict) else None
            if not isinstance(url, str) or not is_url(url):
                self._transport.invalid_shape("POST", _UPLOAD, answer.status, answer.data, "no url")
        logger.debug("Uploaded %s (%d bytes)", filename, len(data))
        return url

    async def generate(
        self,
        prompt: str,
        *,
        image_urls: Sequence[str] = (),
        images: Sequence[ImageInput] = (),
        output: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
        **options: Unpack[GenerationOptions],
    ) -> GenerationResult:
        """Run a whole generation: upload local images, create, wait, download.

        Every input is checked before anything is sent. Local images in ``images`` are uploaded
        concurrently; the final input list is ``image_urls`` followed by ``images``, in order. If anything
        fails after the task was created, the error's ``task_id`` names the task so it is never lost.

        Args:
            prompt: What to do with the images.
            image_urls: Hosted input images, sent as they are.
            images: More inputs: URLs, local paths, bytes or binary file objects.
            output: Where to save the result (a file, or a folder); omit to get the bytes in ``content``.
            timeout: Seconds to wait for the task; defaults to the client's ``wait_timeout``.
            on_update: Called (plain or async) with the status whenever its state changes.
            **options: `GenerationOptions`: ``resolution``, ``output_format``, ...

        Returns:
            The result: ``task_id``, ``url``, and ``path`` or ``content``.

        Raises:
            InvalidInputError: A bad prompt, option, URL or local file; nothing was sent.
            GenerationFailedError: The task failed.
            WaitTimeoutError: The task was still running after ``timeout``.
            DownloadError: The result could not be fetched or saved.
            APIError: A request failed.

        Example:
            ```python
            result = await client.generate(
                "change the clothes from image 1 to image 2",
                images=["me.png", "outfit.jpg"],
                output="out.png",
            )
            ```
        """
        with self._telemetry.generation(prompt, options=options, image_urls=image_urls, images=images):
            task = await self.create(prompt, image_urls=image_urls, images=images, **options)
            task_id = task.task_id
            created_at = time.monotonic()
            try:
                final = await self._wait_done(
                    task_id, timeout=timeout, on_update=on_update, created=task, created_at=created_at
                )
                return await self._fetch_result(task_id, final, output)
            except NanoBananaError as exc:
                exc.task_id = task_id
                raise

    def generate_batch(
        self,
        items: Iterable[BatchInput],
        *,
        concurrency: int = 16,
        output_dir: str | os.PathLike[str] | None = None,
        journal: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        retry_failed: bool = False,
        retry_uncertain: bool = False,
    ) -> BatchRun:
        """Run many generations, at most ``concurrency`` at a time; one failure never stops the others.

        ``await`` the returned run for one `BatchOutcome` per item, in input order, or iterate it with
        ``async for`` to handle outcomes as they finish. Requests from every item share the client's limits
        (``max_concurrency``, ``requests_per_second``, and the slow-down after a 429).

        With a ``journal`` file, every step is recorded as it happens, so running the same batch again with
        the same journal after a crash (even ``kill -9``) skips finished items, re-attaches to tasks already
        created (polling them instead of paying again) and runs only what never reached the server. An item
        whose create was in flight at the crash is reported as uncertain rather than created twice, unless
        ``retry_uncertain`` is set. A second run on a journal that is in use is refused.

        Args:
            items: `BatchItem` objects, dicts of their fields, `GenerationRequest` objects, or prompts.
            concurrency: Items in progress at once.
            output_dir: Save results here (``<id>.<format>``, or the item's ``output``); omit to keep the bytes
                in memory.
            journal: A JSONL file to record progress in and resume from.
            on_progress: Called (plain or async) with a `BatchProgress` whenever an item changes stage.
            timeout: Seconds to wait for each task; defaults to the client's ``wait_timeout``.
            retry_failed: On resume, run items whose generation failed in an earlier run again.
            retry_uncertain: On resume, create again items whose earlier create may or may not have arrived.

        Returns:
            A `BatchRun`: awaitable (a list of outcomes) and async-iterable (outcomes as they finish).

        Raises:
            InvalidInputError: A bad argument, or two items with one id or one output file; nothing was sent.
                Also, when the run starts, a journal of a newer format version or written by another batch.
            JournalLockedError: Another run is using the journal (raised when the run starts).

        Example:
            ```python
            outcomes = await client.generate_batch(
                [{"prompt": "make it night", "image_urls": [url]}, "a banana in space"],
                output_dir="results", journal="run.jsonl",
            )
            failed = [o for o in outcomes if not o.ok]
            ```
        """
        steps = ClientSteps(
            prepare=self._prepare,
            create=self.create,
            wait=self._wait_done,
            fetch=self._fetch_result,
            telemetry=self._telemetry,
        )
        return BatchRun(
            steps,
            items,
            concurrency=concurrency,
            output_dir=output_dir,
            journal=journal,
            on_progress=on_progress,
            timeout=timeout,
            retry_failed=retry_failed,
            retry_uncertain=retry_uncertain,
        )

    async def _prepare(
        self, request: GenerationRequest, images: Sequence[ImageInput], uploads: UploadMemory | None = None, /
    ) -> GenerationRequest:
        """Check and upload local images (through ``uploads``, when given), appending their URLs in order."""
        if isinstance(images, (str, bytes)):
            raise InvalidInputError("images must be a list; wrap a single image in [...]")
        if not images:
            return request
        # The URLs among the images are checked before anything is uploaded.
        _with_more_urls(request, [image for image in images if is_url(image)])
        loaded = await gather_all(load_image(image, index=i) for i, image in enumerate(images) if not is_url(image))
        uploaded = iter(await gather_all(self._upload_once(image, uploads) for image in loaded))
        extra = [image if is_url(image) else next(uploaded) for image in images]
        return _with_more_urls(request, extra)

    def _upload_once(self, image: LocalImage, uploads: UploadMemory | None) -> Awaitable[str]:
        def upload() -> Awaitable[str]:
            return self._upload_loaded(image.data, image.filename, image.content_type)

        return upload() if uploads is None else uploads.hosted(image.data, upload)

    def _wait_done(
        self,
        task_id: str,
        *,
        timeout: float | None,
        on_update: OnUpdate | None = None,
        initial_delay: float | None = None,
        created: Task | None = None,
        created_at: float | None = None,
    ) -> Coroutine[None, None, TaskStatus]:
        """Wait for a task just created: the first poll comes after the schedule's first interval.

        ``initial_delay`` overrides that first sleep (0 polls at once, for a task created long ago). With
        ``created`` (the create answer), ``on_update`` hears of the task at once, before any poll.
        """
        return self._wait(
            task_id,
            timeout=timeout,
            on_update=on_update,
            poll=None,
            first_delay=initial_delay,
            created_at=time.monotonic() if created_at is None else created_at,
            created=created,
        )

    async def _fetch_result(
        self, task_id: str, final: TaskStatus, output: str | os.PathLike[str] | None
    ) -> GenerationResult:
        """Download a finished task's result to ``output`` (or into memory)."""
        url = final.url
        assert url is not None
        with self._telemetry.step("download", url=url):
            fetched = await _download(self._transport, url, output, max_bytes=self.max_download_bytes)
        status = final
        if isinstance(fetched, Path):
            return GenerationResult(task_id=task_id, url=url, path=fetched, status=status)
        return GenerationResult(task_id=task_id, url=url, content=fetched, status=status)

    # --- signing in ----------------------------------------------------------------------------------------

    async def send_login_code(self, email: str) -> None:
        """E-mail a 6-digit sign-in code to ``email``; then call `login` with it.

        Raises:
            InvalidInputError: Not an e-mail address.
            AuthenticationError: The site refused to send a code.
        """
        await _auth.send_login_code(self._transport, email)

    async def login(self, email: str, code: str, *, save: bool = False) -> SessionInfo:
        """Sign in with the code from the e-mail; the client then uses the new session.

        Args:
            email: The address the code was sent to.
            code: The 6 digits from the e-mail.
            save: Also save the session to `session_file` (owner-only permissions).

        Returns:
            Who is signed in.

        Raises:
            AuthenticationError: The code was wrong, used or expired.

        Example:
            ```python
            await client.send_login_code("me@example.com")
            await client.login("me@example.com", input("Code: "), save=True)
            ```
        """
        session = await _auth.login(self._transport, email, code)
        if save:
            self.save_session(email=session.user.email or email)
        return session

    async def whoami(self) -> SessionInfo | None:
        """Who is signed in, or None when the session is missing or expired."""
        if self._transport.session_token is None:
            return None
        return await _auth.whoami(self._transport)

    async def logout(self, *, forget_saved: bool = True) -> None:
        """End the session on the server, forget it here, and (by default) delete the saved session file."""
        try:
            await _auth.sign_out(self._transport)
        finally:
            if forget_saved:
                _session_file.delete(self._session_file)

    def save_session(self, path: str | os.PathLike[str] | None = None, *, email: str | None = None) -> Path:
        """Save the current session token to a file only you can read, for later clients to pick up.

        Args:
            path: The file; defaults to `session_file`.
            email: Stored beside the token, for display only.

        Returns:
            The path written.

        Raises:
            InvalidInputError: There is no session to save.
        """
        token = self._transport.session_token
        target = Path(path).expanduser() if path is not None else self._session_file
        return _session_file.save_token(target, self.base_url, token or "", email)

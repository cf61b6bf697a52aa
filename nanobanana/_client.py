"""`NanoBanana`, the client: the user-facing coroutines, one per step, and `generate` for all of them."""

from __future__ import annotations

import contextlib
import functools
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

from . import _arguments, _auth, _config, _session_file, _timings_file
from ._batch import BatchInput, BatchRun, ProgressCallback
from ._batch_steps import ClientSteps, Prepared, UploadMemory
from ._config import PollPolicy
from ._download import download as _download
from ._exceptions import APIStatusError, InvalidInputError, NanoBananaError, invalid_input
from ._inputs import ImageInput, LocalImage, UploadedInput, gather_all, is_url, load_image, uploaded_inputs
from ._learned_schedule import Planner
from ._plain_retrying import PlainAsyncRetrying
from ._polling import OnUpdate, poll_until_done, polling_loop
from ._stale_inputs import stale_inputs
from ._telemetry import Telemetry
from ._timing import ANY_KIND, Kind, TaskTimings, kind_of
from ._transport import Transport
from ._upload_cache import UploadCache, digest_off_loop
from ._wait_schedule import FixedSchedule, WaitSchedule
from .types import (
    MAX_INPUT_IMAGES,
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
    _arguments.listed("image_urls", image_urls, of="URLs", one="URL")
    try:
        return GenerationRequest(prompt=prompt, image_urls=tuple(image_urls), **options)
    except ValidationError as exc:
        raise invalid_input(exc, "generation request") from exc


def _check_inputs(request: GenerationRequest, images: Sequence[ImageInput]) -> None:
    """Refuse ``images`` that are not a list, too many inputs, or a malformed URL among them, before any upload."""
    _arguments.listed("images", images, of="images (URLs, paths, bytes, file objects or PIL images)", one="image")
    if len(request.image_urls) + len(images) > MAX_INPUT_IMAGES:
        raise InvalidInputError(
            f"at most {MAX_INPUT_IMAGES} input images per generation, got {len(request.image_urls) + len(images)}"
        )
    urls = [image for image in images if is_url(image)]
    if urls:
        _with_more_urls(request, urls)


def _with_more_urls(request: GenerationRequest, urls: Sequence[str]) -> GenerationRequest:
    try:
        return GenerationRequest.model_validate({**request.model_dump(), "image_urls": (*request.image_urls, *urls)})
    except ValidationError as exc:
        raise invalid_input(exc, "generation request") from exc


def _kind(
    prompt: str | GenerationRequest, image_urls: Sequence[str], images: Sequence[ImageInput], options: GenerationOptions
) -> Kind:
    """The kind of request whose run times a generation's wait learns from and teaches."""
    if isinstance(prompt, GenerationRequest):
        return kind_of(prompt.resolution, len(prompt.image_urls))
    resolution = options.get("resolution") or GenerationRequest.model_fields["resolution"].default
    return kind_of(str(resolution), len(image_urls) + len(images))


def _resolve_token(
    session_token: str | None, cookies: Mapping[str, str], session_file: Path, base_url: str
) -> str | None:
    """The session token: the argument, else the environment, else the saved session; each one checked."""
    if session_token is not None and session_token != "":
        return _arguments.session_token(session_token, source="session_token=")
    from_environment = os.environ.get(_config.ENV_SESSION_TOKEN)
    if from_environment:
        return _arguments.session_token(from_environment, source=_config.ENV_SESSION_TOKEN)
    if any(name in cookies for name in _config.SESSION_COOKIE_NAMES):
        return None
    return _session_file.load_token(session_file, base_url)


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
        max_concurrency: API requests in flight at once across the whole client, each keeping its place across
            its retries (sockets are capped alike).
        requests_per_second: A client-wide request rate limit; None for none. The client also slows
            itself down when the server answers 429, and recovers gradually.
        poll: A fixed schedule for `wait`'s status calls. By default a generation's wait follows a schedule
            learned from the run times of this client's earlier tasks (see the polling concepts page), and a
            wait on a task created elsewhere follows ``PollPolicy()``.
        remember_timings: Keep the learned run times in a file beside ``session_file`` (one section per API
            host), so the next process starts from them; the CLI turns this on.
        wait_timeout: Default seconds `wait` and `generate` wait for a task.
        max_download_bytes: Largest result `download` accepts (after any decoding).
        max_concurrent_downloads: Downloads in flight at once; the file host's own limit, so slow downloads
            never hold the places of API requests (``max_concurrency``).
        download_timeout: Seconds a whole download may take; None (the default) bounds only the silence
            between bytes (the client's ``timeout``).
        session: An ``aiohttp.ClientSession`` of yours to send requests with. The client never closes it.
        allow_insecure_http: Allow a plain ``http://`` base URL to another machine, which sends the session
            cookie in clear. Loopback hosts (the emulator) never need it.
        upload_cache: Remember the hosted URL of every image uploaded (by the sha256 of its bytes, the
            4096 most recently used), so the same image is uploaded once across `generate`, `upload` and
            batch items. How long the service keeps an upload is unknown: a create refused for a stale input
            URL uploads that image again and is retried once. False uploads every image every time.
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
        remember_timings: bool = False,
        wait_timeout: float | None = _config.DEFAULT_WAIT_TIMEOUT,
        max_download_bytes: int = _config.DEFAULT_MAX_DOWNLOAD_BYTES,
        max_concurrent_downloads: int = _config.DEFAULT_MAX_DOWNLOADS,
        download_timeout: float | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
        upload_cache: bool = True,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        capture_content: bool | None = None,
        http_spans: bool | None = None,
    ) -> None:
        if base_url is not None and not isinstance(base_url, str):
            raise InvalidInputError(f"base_url must be a URL string, got {type(base_url).__name__}")
        resolved_base = (base_url or os.environ.get(_config.ENV_BASE_URL) or _config.DEFAULT_BASE_URL).rstrip("/")
        self._session_file = _arguments.path("session_file", session_file) or _config.default_session_file()
        # Their values are checked where every cookie is (the session refuses one that breaks the header).
        cookies = _arguments.header_fields("cookies", cookies, breakers="")
        if not isinstance(timeout, aiohttp.ClientTimeout):
            timeout = _arguments.positive("timeout", timeout) or 0.0
        if poll is not None and not isinstance(poll, PollPolicy):
            raise InvalidInputError(f"poll must be a PollPolicy or None, got {type(poll).__name__}")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise InvalidInputError(f"session must be an aiohttp.ClientSession or None, got {type(session).__name__}")
        self._transport = Transport(
            base_url=resolved_base,
            session_token=_resolve_token(session_token, cookies, self._session_file, resolved_base),
            cookies=cookies,
            headers=_arguments.header_fields("headers", headers),
            timeout=_config.client_timeout(timeout),
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            requests_per_second=_arguments.positive(
                "requests_per_second", requests_per_second, unit="requests", none_means="no limit"
            ),
            session=session,
            allow_insecure_http=_arguments.flag("allow_insecure_http", allow_insecure_http),
            max_downloads=max_concurrent_downloads,
            download_timeout=_arguments.positive("download_timeout", download_timeout, none_means="no overall limit"),
        )
        self._telemetry = self._transport.telemetry = Telemetry(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            capture_content=capture_content,
            http_spans=http_spans,
            server=self._transport.base_url,
            redact=self._transport.redact,
        )
        self.poll = poll
        self.wait_timeout = _arguments.positive("wait_timeout", wait_timeout, none_means="wait for ever")
        self.max_download_bytes = _arguments.count("max_download_bytes", max_download_bytes, minimum=1)
        self._timings = TaskTimings()
        self._timings_path = _timings_file.path_beside(self._session_file) if remember_timings else None
        if self._timings_path is not None:
            self._timings.load(_timings_file.load(self._timings_path, resolved_base))
        self._planner = Planner(self._timings)
        self._rng = random.Random()
        self._upload_cache = UploadCache() if _arguments.flag("upload_cache", upload_cache) else None

    @functools.cached_property
    def _polling(self) -> PlainAsyncRetrying:
        """The wait loop of this client, made at its first wait: its sleeps end when the client closes."""
        return polling_loop(self._transport.session.sleep)

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
        """Close the connection pool the client created (a ``session=`` of yours stays open). Idempotent.

        With ``remember_timings``, also saves what this client learned of task run times.
        """
        if self._timings_path is not None:
            _timings_file.save(self._timings_path, self.base_url, self._timings.take_fresh())
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
            images: More inputs after ``image_urls``: URLs, local paths, bytes, binary file objects or PIL images
                (at most `MAX_INPUT_IMAGES` inputs in all). Local ones are checked, then uploaded concurrently
                (each distinct image once per client), before the task is created. If the create is refused
                because an uploaded input is gone, that image is uploaded again and the create sent once more
                (if that upload fails, the refusal is raised, with the upload's error as its ``__cause__``).
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
        request = _build_request(prompt, image_urls, options)
        _check_inputs(request, images)
        urls = await self._input_urls(images)
        # Only the wire body is kept while the request waits for its turn: with thousands queued, every object
        # a waiting create holds is work for the garbage collector.
        body = (_with_more_urls(request, urls) if urls else request).to_wire()
        uploaded = uploaded_inputs(images, urls)
        del request, urls
        return await self._send_create(body, uploaded, None)

    def _create_prepared(self, prepared: Prepared) -> Awaitable[Task]:
        """`create` for a request `_prepare` made (a batch item's), uploading again through its memory."""
        return self._send_create(prepared.request.to_wire(), prepared.uploaded, prepared.uploads)

    async def _send_create(
        self, body: dict[str, object], uploaded: Sequence[UploadedInput], uploads: UploadMemory | None
    ) -> Task:
        """Create the task; refused for an uploaded input the service no longer has, upload it again, create once more.

        Only a refusal the server answered qualifies (nothing was created), so the task is never created twice.
        If uploading again fails, the refusal is raised (with that failure as its cause): the create is settled.
        """
        with self._telemetry.step("create") as span:
            try:
                answer = await self._transport.request("POST", _CREATE, json_body=body, idempotent=False)
            except APIStatusError as exc:
                stale = stale_inputs(exc, [each.url for each in uploaded])
                if not stale:
                    raise
                try:
                    body = await self._upload_again(body, stale, uploaded, uploads)
                except NanoBananaError as failed:
                    raise exc from failed
                answer = await self._transport.request("POST", _CREATE, json_body=body, idempotent=False)
            task = self._created_task(answer.status, answer.data)
            span.set_task_id(task.task_id)
        return task

    def _created_task(self, status: int, data: object) -> Task:
        """The task a create answer names; only its id is required (every other field is read leniently)."""
        try:
            task = Task.model_validate(data)
        except ValidationError:
            self._transport.invalid_shape("POST", _CREATE, status, data, "no task_id")
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
        return await self._status(task_id, retry=True)

    async def _status(self, task_id: str, *, retry: bool) -> TaskStatus:
        """`status`; without ``retry`` one attempt only (a wait rides failures out on its own schedule)."""
        task_id = _arguments.task_id(task_id)
        body = {"taskId": task_id}
        answer = await self._transport.request("POST", _STATUS, json_body=body, idempotent=True, retry=retry)
        data = answer.data
        if not isinstance(data, dict):
            self._transport.invalid_shape("POST", _STATUS, answer.status, data, "not an object")
        if data.get("taskId") is None:
            data = {**data, "taskId": task_id}
        try:
            return TaskStatus.model_validate(data)
        except ValidationError as exc:
            self._transport.invalid_shape("POST", _STATUS, answer.status, data, str(exc.errors()[0]["msg"]))

    def _poll_status(self, task_id: str) -> Coroutine[None, None, TaskStatus]:
        """A wait's status call: one attempt, since the wait itself retries on its schedule."""
        return self._status(task_id, retry=False)

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
            poll: The interval schedule for this wait; defaults to the client's, else ``PollPolicy()``.

        Returns:
            The final status of a successful task (``status.url`` is the result).

        Raises:
            GenerationFailedError: The task failed; carries ``fail_msg``.
            WaitTimeoutError: Still running after ``timeout``; resume with ``wait(err.task_id)``.
            APIStatusError: A non-transient error such as 401 or 404.
        """
        task_id = _arguments.task_id(task_id)
        timeout = _arguments.positive("timeout", timeout, none_means="the client's wait_timeout")
        if poll is not None and not isinstance(poll, PollPolicy):
            raise InvalidInputError(f"poll must be a PollPolicy or None, got {type(poll).__name__}")
        on_update = _arguments.callback("on_update", on_update)
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
        kind: Kind = ANY_KIND,
        created: Task | None = None,
    ) -> Coroutine[None, None, TaskStatus]:
        policy = poll or self.poll
        schedule: WaitSchedule
        if policy is None and first_delay is None:  # a task just created: its age is known
            schedule = self._planner.schedule(kind, self._rng)
        else:  # a task of unknown age cannot be placed on a learned schedule
            schedule = FixedSchedule(policy or PollPolicy(), self._rng)
        # The wait's span records every status call and change of state through the fetch it wraps.
        span = self._telemetry.wait(task_id)
        return span.run(
            poll_until_done(
                span.fetch(self._poll_status),
                task_id=task_id,
                timeout=self.wait_timeout if timeout is None else timeout,
                schedule=schedule,
                created_at=created_at,
                on_update=on_update,
                first_delay=first_delay,
                loop=self._polling,
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
        url = _arguments.text("url", url)
        with self._telemetry.step("download", url=url):
            return await _download(
                self._transport, url, _arguments.path("path", path), max_bytes=self.max_download_bytes
            )

    async def upload(self, file: ImageInput, *, filename: str | None = None) -> str:
        """Upload a local image and return its hosted URL, for ``image_urls``.

        The same bytes are uploaded once per client (see ``upload_cache``): uploading them again, by any path or
        object, returns the URL of the first upload.

        Args:
            file: A path, the image's bytes, a binary file object, or a ``PIL.Image.Image`` (sent as PNG).
            filename: The name to upload under; defaults to the file's own name.

        Returns:
            The hosted URL.

        Raises:
            InvalidInputError: The file is missing, unreadable, empty, or not an image.
            APIError: The upload failed.
        """
        if filename is not None:
            _arguments.text("filename", filename)
        image = await load_image(file, filename=filename)
        return await self._upload_loaded(image.data, image.filename, image.content_type)

    async def _upload_loaded(self, data: bytes, filename: str, content_type: str) -> str:
        """The hosted URL of a loaded image: from the upload cache, else uploaded (once for the same bytes)."""
        if self._upload_cache is None:
            return await self._send_upload(data, filename, content_type)
        digest = await digest_off_loop(data)
        return await self._upload_cache.url_for(digest, lambda: self._send_upload(data, filename, content_type))

    async def _send_upload(self, data: bytes, filename: str, content_type: str) -> str:
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
            images: More inputs: URLs, local paths, bytes, binary file objects or PIL images; each distinct
                image is uploaded once per client.
            output: Where to save the result (a file, or a folder); omit to get the bytes in ``content``.
                Either way, ``result.read_bytes()`` gives the bytes and ``result.image()`` a PIL image.
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
        # Checked here because they are used only after the (paid) create.
        output = _arguments.path("output", output)
        timeout = _arguments.positive("timeout", timeout, none_means="the client's wait_timeout")
        on_update = _arguments.callback("on_update", on_update)
        with self._telemetry.generation(prompt, options=options, image_urls=image_urls, images=images):
            task = await self.create(prompt, image_urls=image_urls, images=images, **options)
            kind = _kind(prompt, image_urls, images, options)
            task_id = task.task_id
            created_at = time.monotonic()
            # Only a callback needs the create answer (it hears of the task before the first poll); kept in this
            # frame, thousands of waiting generations would each hold a model for the garbage collector to walk.
            created = task if on_update is not None else None
            del task
            try:
                final = await self._wait_done(
                    task_id, timeout=timeout, on_update=on_update, created=created, created_at=created_at, kind=kind
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

        Each distinct local image is uploaded once per batch (and, through the journal, once across resumes). An
        item whose create is refused because an uploaded input is gone uploads it again, once for every item that
        met the same URL, and retries that create once; the new URL replaces the old in the journal.

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
            create=self._create_prepared,
            wait=self._wait_done,
            fetch=self._fetch_result,
            uploads=self._upload_cache,
            telemetry=self._telemetry,
        )
        return BatchRun(
            steps,
            items,
            concurrency=_arguments.count("concurrency", concurrency, minimum=1),
            output_dir=_arguments.path("output_dir", output_dir),
            journal=_arguments.path("journal", journal),
            on_progress=_arguments.callback("on_progress", on_progress),
            timeout=_arguments.positive("timeout", timeout, none_means="the client's wait_timeout"),
            retry_failed=_arguments.flag("retry_failed", retry_failed),
            retry_uncertain=_arguments.flag("retry_uncertain", retry_uncertain),
        )

    async def _prepare(
        self, request: GenerationRequest, images: Sequence[ImageInput], uploads: UploadMemory | None = None, /
    ) -> Prepared:
        """Check and upload local images (through ``uploads``, when given), appending their URLs in order."""
        _check_inputs(request, images)
        urls = await self._input_urls(images, uploads)
        return Prepared(
            request=_with_more_urls(request, urls) if urls else request,
            uploaded=uploaded_inputs(images, urls),
            uploads=uploads,
        )

    async def _input_urls(self, images: Sequence[ImageInput], uploads: UploadMemory | None = None) -> list[str]:
        """The URL of every input, in order: URLs as given, local images uploaded (each distinct one once)."""
        if not images:
            return []
        # Every local image is read and checked before the first upload starts.
        loaded = await gather_all(load_image(image, index=i) for i, image in enumerate(images) if not is_url(image))
        uploaded = iter(await gather_all(self._upload_once(image, uploads) for image in loaded))
        return [image if is_url(image) else next(uploaded) for image in images]

    async def _upload_again(
        self,
        body: dict[str, object],
        stale: set[str],
        uploaded: Sequence[UploadedInput],
        uploads: UploadMemory | None,
    ) -> dict[str, object]:
        """The create body with each stale uploaded input uploaded afresh (its memory then holds the new URL)."""
        logger.info(
            "The service refused %d uploaded input(s) as gone; uploading again, then creating once more", len(stale)
        )
        fresh: dict[str, str] = {}
        for each in uploaded:
            if each.url in stale and each.url not in fresh:
                fresh[each.url] = await self._upload_anew(each, uploads)
        sent = body["image_urls"]
        assert isinstance(sent, list)
        return {**body, "image_urls": [fresh.get(url, url) for url in sent]}

    async def _upload_anew(self, gone: UploadedInput, uploads: UploadMemory | None) -> str:
        """Upload an input whose URL is gone once more, replacing that URL in ``uploads`` (else the client's cache)."""
        with contextlib.suppress(AttributeError, OSError, ValueError):
            gone.image.seek(0)  # type: ignore[union-attr]
        image = await load_image(gone.image, index=gone.index)
        memory = uploads if uploads is not None else self._upload_cache

        def send() -> Awaitable[str]:
            return self._send_upload(image.data, image.filename, image.content_type)

        return await (send() if memory is None else memory.renew(image.data, gone.url, send))

    def _upload_once(self, image: LocalImage, uploads: UploadMemory | None) -> Awaitable[str]:
        """Upload through the client's cache or, for a batch, through ``uploads`` (which asks that cache itself)."""
        if uploads is None:
            return self._upload_loaded(image.data, image.filename, image.content_type)
        # The batch's memory sends a miss to the client's cache with this upload: going through the cache again
        # here would wait on the cache's own upload in flight.
        return uploads.hosted(image.data, lambda: self._send_upload(image.data, image.filename, image.content_type))

    def _wait_done(
        self,
        task_id: str,
        *,
        timeout: float | None,
        on_update: OnUpdate | None = None,
        initial_delay: float | None = None,
        created: Task | None = None,
        created_at: float | None = None,
        kind: Kind = ANY_KIND,
    ) -> Coroutine[None, None, TaskStatus]:
        """Wait for a task just created: the first poll comes when the schedule says.

        ``initial_delay`` overrides that first sleep (0 polls at once, for a task created long ago, which then
        follows a fixed schedule: its age is unknown). With ``created`` (the create answer), ``on_update`` hears
        of the task at once, before any poll. ``kind`` is its request's, for the learned schedule.
        """
        return self._wait(
            task_id,
            timeout=timeout,
            on_update=on_update,
            poll=None,
            first_delay=initial_delay,
            created_at=time.monotonic() if created_at is None else created_at,
            kind=kind,
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
        await _auth.send_login_code(self._transport, _arguments.text("email", email, blank_ok=True))

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
        email, code = _arguments.text("email", email, blank_ok=True), _arguments.text("code", code, blank_ok=True)
        if _arguments.flag("save", save):
            _session_file.check_target(self._session_file)
        session = await _auth.login(self._transport, email, code)
        if save:
            try:
                self.save_session(email=session.user.email or email)
            except InvalidInputError as exc:
                raise InvalidInputError(
                    f"Signed in, but {exc.message}. This client keeps the session: save it elsewhere with "
                    "`client.save_session(path)`."
                ) from None
        return session

    async def whoami(self) -> SessionInfo | None:
        """Who is signed in, or None when the session is missing or expired."""
        if self._transport.session_token is None:
            return None
        return await _auth.whoami(self._transport)

    async def logout(self, *, forget_saved: bool = True) -> None:
        """End the session on the server, forget it here, and (by default) delete the saved session file."""
        _arguments.flag("forget_saved", forget_saved)
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
        if email is not None:
            _arguments.text("email", email)
        token = self._transport.session_token
        target = _arguments.path("path", path) or self._session_file
        return _session_file.save_token(target, self.base_url, token or "", email)

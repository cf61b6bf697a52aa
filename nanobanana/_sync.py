"""`SyncNanoBanana`, the blocking client: one `NanoBanana` on a private event loop, called from any thread."""

from __future__ import annotations

import inspect
import logging
import os
import sys
import weakref
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from typing_extensions import Self, Unpack

from ._batch import BatchInput, BatchOutcome, ProgressCallback
from ._client import NanoBanana
from ._config import PollPolicy
from ._exceptions import InvalidInputError
from ._inputs import ImageInput
from ._loop_thread import LoopThread
from ._polling import OnUpdate
from .types import GenerationOptions, GenerationRequest, GenerationResult, SessionInfo, Task, TaskStatus

logger = logging.getLogger("nanobanana")

P = ParamSpec("P")
S = TypeVar("S")
T = TypeVar("T")


def _arguments_of(
    source: Callable[P, object],
) -> Callable[[Callable[Concatenate[S, ...], None]], Callable[Concatenate[S, P], None]]:
    """Give the decorated ``__init__`` the parameters of ``source``, for type checkers and for `help`.

    One list of the client's options (`NanoBanana`'s), so an option added there is an option here.
    """

    def decorate(init: Callable[Concatenate[S, ...], None]) -> Callable[Concatenate[S, P], None]:
        parameters = list(inspect.signature(init).parameters.values())[:1]
        parameters += [p for p in inspect.signature(source).parameters.values() if p.name not in _LOOP_BOUND]
        init.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        return init

    return decorate


# Options holding objects bound to the caller's event loop, which the client's own loop cannot use.
_LOOP_BOUND = frozenset({"session"})


async def _build(options: dict[str, Any]) -> NanoBanana:
    return NanoBanana(**options)


class _Following:
    """An ``on_update`` that remembers the task it hears of, then passes the status on to the caller's callback."""

    __slots__ = ("_on_update", "task_id")

    def __init__(self, on_update: OnUpdate | None, task_id: str | None = None) -> None:
        self._on_update = on_update
        self.task_id = task_id

    async def __call__(self, status: TaskStatus) -> None:
        self.task_id = status.task_id
        if self._on_update is not None:
            result = self._on_update(status)
            if inspect.isawaitable(result):
                await result


def _report_interrupted(interruption: BaseException, task_id: str) -> None:
    """Say which task an interrupted call leaves running, in the log and on the traceback."""
    hint = f"task {task_id} keeps running on the server: resume it with client.wait({task_id!r})"
    logger.warning("Interrupted; %s", hint)
    if sys.version_info >= (3, 11):
        interruption.add_note(f"nanobanana: {hint}")


class SyncNanoBanana:
    """The blocking client: every method of `NanoBanana`, for code without ``async``.

    For scripts, Flask and Django views, notebooks and worker threads. It runs one `NanoBanana` on a private
    event loop in a background thread and waits for each call there, so it behaves exactly like the async
    client and works where the calling thread already runs an event loop (Jupyter, an async framework calling
    sync code). Share one client across threads: concurrent calls share its connection pool and its limits
    (``max_concurrency``, ``requests_per_second``). Close it at the end: use it as ``with``, or call `close`.

    Ctrl-C during a call cancels the work underneath and raises ``KeyboardInterrupt`` at once; when a task was
    created, its id is logged (and noted on the traceback), so it can be resumed with `wait`.

    Callbacks (``on_update``, ``on_progress``; plain or async functions) run on the client's thread: keep them
    short, and do not call the client from them.

    Args:
        **options: The keyword arguments of `NanoBanana` (``session_token``, ``base_url``, ``timeout``,
            ``max_concurrency``, ``poll``, ...), except ``session``: an ``aiohttp.ClientSession`` belongs to
            another event loop.

    Raises:
        InvalidInputError: An option is invalid (see `NanoBanana`).

    Example:
        ```python
        from nanobanana import SyncNanoBanana

        with SyncNanoBanana() as client:
            result = client.generate("make it night", images=["me.png"], output="night.png")
        print(result.path)
        ```
    """

    @_arguments_of(NanoBanana)
    def __init__(self, **options: Any) -> None:
        loop_bound = sorted(name for name in _LOOP_BOUND if options.get(name) is not None)
        if loop_bound:
            raise InvalidInputError(
                f"SyncNanoBanana does not take {loop_bound[0]}=: it runs on its own event loop, where an object "
                "made for another loop does not work; pass plain options, or use NanoBanana in async code"
            )
        runner = LoopThread("nanobanana-sync")
        try:
            # Made on its loop's thread, so anything the client binds to a running loop is bound to its own.
            self._client = runner.call(_build(options))
        except BaseException:
            runner.stop(_nothing)
            raise
        self._runner = runner
        # Closes the client if it is collected or the program exits unclosed; `close` runs it at most once.
        self._finalizer = weakref.finalize(self, runner.stop, self._client.close)

    def _call(self, coro: Coroutine[Any, Any, T], following: _Following | None = None) -> T:
        try:
            return self._runner.call(coro)
        except KeyboardInterrupt as interruption:
            if following is not None and following.task_id is not None:
                _report_interrupted(interruption, following.task_id)
            raise

    # --- lifecycle -----------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Cancel calls still running, close the connection pool and stop the client's thread. Idempotent.

        Any call after this raises `ClientClosedError`; calls it cancels raise it too.
        """
        self._finalizer()

    def __repr__(self) -> str:
        signed_in = self._client.session_token is not None
        return f"SyncNanoBanana(base_url={self.base_url!r}, signed_in={signed_in})"

    @property
    def base_url(self) -> str:
        """The API host this client talks to."""
        return self._client.base_url

    @property
    def session_token(self) -> str | None:
        """The session cookie's value (a secret: do not log it), or None when not signed in."""
        return self._client.session_token

    @property
    def session_file(self) -> Path:
        """Where `save_session` writes and the client looks for a saved session."""
        return self._client.session_file

    # --- the steps -----------------------------------------------------------------------------------------

    def create(
        self,
        prompt: str | GenerationRequest,
        *,
        image_urls: Sequence[str] = (),
        images: Sequence[ImageInput] = (),
        **options: Unpack[GenerationOptions],
    ) -> Task:
        """Start a generation and return its task at once, without waiting (blocking `NanoBanana.create`).

        Args:
            prompt: What to do with the images, or a complete `GenerationRequest`.
            image_urls: Hosted input images, in order, sent byte for byte.
            images: More inputs after ``image_urls``: URLs, local paths, bytes or binary file objects.
            **options: `GenerationOptions`: ``resolution``, ``output_format``, ``width``, ...

        Returns:
            The created task; pass ``task.task_id`` to `status` or `wait`.

        Raises:
            InvalidInputError: The request is invalid; nothing was sent.
            AuthenticationError: Not signed in, or the session expired.
            InsufficientCreditsError: No credits left.
            APIError: Any other failure to create the task (see `NanoBanana.create` on retries).
        """
        return self._call(self._client.create(prompt, image_urls=image_urls, images=images, **options))

    def status(self, task_id: str) -> TaskStatus:
        """Read a task's status once (blocking `NanoBanana.status`).

        Args:
            task_id: The id from `create`.

        Returns:
            The status; see ``state``, ``is_done``, ``url`` and ``fail_msg``.

        Raises:
            NotFoundError: No such task.
            APIError: The status could not be read.
        """
        return self._call(self._client.status(task_id))

    def wait(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
        poll: PollPolicy | None = None,
    ) -> TaskStatus:
        """Poll a task until it finishes and return its final status (blocking `NanoBanana.wait`).

        Ctrl-C stops polling at once (the task keeps running on the server; its id is logged).

        Args:
            task_id: The id from `create`.
            timeout: Seconds to wait; None (the default) uses the client's ``wait_timeout``.
            on_update: Called (on the client's thread) with the status whenever its state changes.
            poll: The interval schedule for this wait; defaults to the client's.

        Returns:
            The final status of a successful task (``status.url`` is the result).

        Raises:
            GenerationFailedError: The task failed; carries ``fail_msg``.
            WaitTimeoutError: Still running after ``timeout``; resume with ``wait(err.task_id)``.
            APIStatusError: A non-transient error such as 401 or 404.
        """
        following = _Following(on_update, task_id)
        return self._call(self._client.wait(task_id, timeout=timeout, on_update=following, poll=poll), following)

    @overload
    def download(self, url: str) -> bytes: ...

    @overload
    def download(self, url: str, path: str | os.PathLike[str]) -> Path: ...

    def download(self, url: str, path: str | os.PathLike[str] | None = None) -> bytes | Path:
        """Download a result (blocking `NanoBanana.download`): streamed to ``path`` atomically, or returned.

        Args:
            url: The result URL (``status.url``).
            path: Where to save it (a file, or a folder for the URL's file name); omit to get the bytes.

        Returns:
            The bytes, or the path written.

        Raises:
            DownloadError: Not found, not an image, too large, or cut short.
        """
        if path is None:
            return self._call(self._client.download(url))
        return self._call(self._client.download(url, path))

    def upload(self, file: ImageInput, *, filename: str | None = None) -> str:
        """Upload a local image and return its hosted URL, for ``image_urls`` (blocking `NanoBanana.upload`).

        Args:
            file: A path, the image's bytes, or a binary file object.
            filename: The name to upload under; defaults to the file's own name.

        Returns:
            The hosted URL.

        Raises:
            InvalidInputError: The file is missing, unreadable, empty, or not an image.
            APIError: The upload failed.
        """
        return self._call(self._client.upload(file, filename=filename))

    def generate(
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
        """Run a whole generation: upload local images, create, wait, download (blocking `NanoBanana.generate`).

        Ctrl-C cancels the generation here at once; once the task exists, its id is logged, since it keeps
        running on the server.

        Args:
            prompt: What to do with the images.
            image_urls: Hosted input images, sent as they are.
            images: More inputs: URLs, local paths, bytes or binary file objects.
            output: Where to save the result (a file, or a folder); omit to get the bytes in ``content``.
            timeout: Seconds to wait for the task; defaults to the client's ``wait_timeout``.
            on_update: Called (on the client's thread) with the status whenever its state changes.
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
            with SyncNanoBanana() as client:
                result = client.generate("change the clothes from image 1 to image 2",
                                         images=["me.png", "outfit.jpg"], output="out.png")
            ```
        """
        following = _Following(on_update)
        generation = self._client.generate(
            prompt,
            image_urls=image_urls,
            images=images,
            output=output,
            timeout=timeout,
            on_update=following,
            **options,
        )
        return self._call(generation, following)

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
    ) -> list[BatchOutcome]:
        """Run many generations, at most ``concurrency`` at a time, and return when all have finished.

        The blocking `NanoBanana.generate_batch`: one failure never stops the others, and with a ``journal``
        a crashed or interrupted run resumes where it stopped when run again with the same journal.

        Args:
            items: `BatchItem` objects, dicts of their fields, `GenerationRequest` objects, or prompts.
            concurrency: Items in progress at once.
            output_dir: Save results here (``<id>.<format>``, or the item's ``output``); omit to keep the bytes.
            journal: A JSONL file to record progress in and resume from.
            on_progress: Called (on the client's thread) with a `BatchProgress` whenever an item changes stage.
            timeout: Seconds to wait for each task; defaults to the client's ``wait_timeout``.
            retry_failed: On resume, run items whose generation failed in an earlier run again.
            retry_uncertain: On resume, create again items whose earlier create may or may not have arrived.

        Returns:
            One `BatchOutcome` per item, in input order: check ``outcome.ok``, then ``result`` or ``error``.

        Raises:
            InvalidInputError: ``concurrency`` is below 1.
            JournalLockedError: Another run is using the journal.
        """

        async def run() -> list[BatchOutcome]:
            return await self._client.generate_batch(
                items,
                concurrency=concurrency,
                output_dir=output_dir,
                journal=journal,
                on_progress=on_progress,
                timeout=timeout,
                retry_failed=retry_failed,
                retry_uncertain=retry_uncertain,
            )

        return self._call(run())

    # --- signing in ----------------------------------------------------------------------------------------

    def send_login_code(self, email: str) -> None:
        """E-mail a 6-digit sign-in code to ``email``; then call `login` with it.

        Raises:
            InvalidInputError: Not an e-mail address.
            AuthenticationError: The site refused to send a code.
        """
        self._call(self._client.send_login_code(email))

    def login(self, email: str, code: str, *, save: bool = False) -> SessionInfo:
        """Sign in with the code from the e-mail; the client then uses the new session.

        Args:
            email: The address the code was sent to.
            code: The 6 digits from the e-mail.
            save: Also save the session to `session_file` (owner-only permissions).

        Returns:
            Who is signed in.

        Raises:
            AuthenticationError: The code was wrong, used or expired.
        """
        return self._call(self._client.login(email, code, save=save))

    def whoami(self) -> SessionInfo | None:
        """Who is signed in, or None when the session is missing or expired."""
        return self._call(self._client.whoami())

    def logout(self, *, forget_saved: bool = True) -> None:
        """End the session on the server, forget it here, and (by default) delete the saved session file."""
        self._call(self._client.logout(forget_saved=forget_saved))

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

        async def save() -> Path:
            return self._client.save_session(path, email=email)

        return self._call(save())


async def _nothing() -> None:
    """Nothing to close: the client was never made."""

"""The errors nanobanana raises.

Every error is a `NanoBananaError`; catch that to handle them all. The tree::

    NanoBananaError
    ├── InvalidInputError           a bad argument, caught before any request is sent
    ├── APIError                    something went wrong talking to the API
    │   ├── APIConnectionError      no usable answer: refused, reset, DNS, TLS
    │   │   └── APITimeoutError     the request timed out
    │   ├── APIStatusError          the API answered with a 4xx or 5xx status
    │   │   ├── BadRequestError             400, 422: the server rejected the request
    │   │   ├── AuthenticationError         401, 403: signed out or expired
    │   │   ├── CloudflareError             403 with an HTML page: Cloudflare challenged or blocked the request
    │   │   ├── InsufficientCreditsError    402: the account has no credits left
    │   │   ├── NotFoundError               404: unknown task or endpoint
    │   │   ├── RateLimitError              429: slow down (see ``retry_after``)
    │   │   └── ServerError                 5xx: the server failed
    │   └── InvalidResponseError    a 2xx answer that is not the JSON we expect
    │                               (for example a Cloudflare HTML page)
    ├── GenerationFailedError       the task ended in a failure state (``task_id``, ``fail_msg``)
    ├── WaitTimeoutError            the task was still running when ``timeout`` ran out
    ├── DownloadError               the result could not be fetched or saved
    ├── ClientClosedError           the client was closed, or is used from another event loop
    ├── JournalLockedError          another batch run is using the same journal file
    ├── UncertainCreateError        a batch item's create may have reached the server (``key``)
    └── BatchAbortedError           a batch item never started: the batch stopped early (``key``, ``reason``)

Every error has ``retryable``: True when sending the same call again is safe and may succeed.
Errors never contain the session token: text the server sent is redacted before it is quoted, and no
exception of aiohttp's (whose request info holds the Cookie header) is ever chained to ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ._answers import TaskStatus

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchAbortedError",
    "ClientClosedError",
    "CloudflareError",
    "DownloadError",
    "GenerationFailedError",
    "InsufficientCreditsError",
    "InvalidInputError",
    "InvalidResponseError",
    "JournalLockedError",
    "NanoBananaError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "UncertainCreateError",
    "WaitTimeoutError",
]


class NanoBananaError(Exception):
    """Base class of every error raised by nanobanana.

    Attributes:
        message: What happened and what to do.
        task_id: The task the failed call had created or was following, when there is one, so that no task
            is ever lost: resume it with ``client.wait(task_id)``.
        retryable: True when sending the same call again is safe (it cannot do anything twice) and may
            succeed; False when it would fail the same way or might repeat something already done.
    """

    task_id: str | None = None
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        if self.task_id and self.task_id not in self.message:
            return f"{self.message} (task {self.task_id})"
        return self.message


class InvalidInputError(NanoBananaError, ValueError):
    """An argument was rejected before any request was sent.

    Raised for an empty prompt, an out-of-range number, a URL that is not http(s), or a local image that is
    missing, unreadable or not an image. Nothing was sent and nothing was charged: fix the input and call again.
    """


def invalid_input(exc: ValidationError, subject: str) -> InvalidInputError:
    """An InvalidInputError listing every problem pydantic found in ``subject`` (a request, a batch item)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or subject}: {error['msg']}" for error in exc.errors()
    )
    return InvalidInputError(f"invalid {subject}: {problems}")


class APIError(NanoBananaError):
    """Talking to the API failed.

    Attributes:
        method: The HTTP method of the request that failed.
        url: The URL of the request that failed.
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class APIConnectionError(APIError):
    """No usable answer came back: the connection was refused, reset or dropped.

    Attributes:
        request_sent: False when the request certainly never reached the server (the connection could not be
            opened), so repeating it cannot do anything twice. True when it may have been processed.
    """

    def __init__(
        self, message: str, *, method: str, url: str, request_sent: bool = True, retryable: bool | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.request_sent = request_sent
        self.retryable = not request_sent if retryable is None else retryable


class APITimeoutError(APIConnectionError):
    """The request timed out. Raise ``timeout`` on the client, or try again later."""


class APIStatusError(APIError):
    """The API answered with an error status (4xx or 5xx).

    Attributes:
        status_code: The HTTP status code.
        body: The answer's body: parsed JSON when it was JSON, else the text (redacted, possibly cut).
        headers: The answer's headers, looked up case-insensitively (``Set-Cookie`` left out: an error is
            logged and shown, and a cookie the server sets has no place there).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: object,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.headers: Mapping[str, str] = CIMultiDictProxy(
            CIMultiDict((k, v) for k, v in headers.items() if k.lower() != "set-cookie")
        )


class BadRequestError(APIStatusError):
    """400 or 422: the server rejected the request's content. Check the prompt, URLs and options."""


class AuthenticationError(APIStatusError):
    """401 or 403: the session is missing, expired, or the request was blocked.

    Sign in again (``nanobanana login``, or ``await client.login(email, code)``), or copy a fresh
    ``__Secure-authjs.session-token`` cookie from your browser into ``NANOBANANA_SESSION_TOKEN``.
    """


class CloudflareError(APIStatusError):
    """403 with an HTML page: Cloudflare challenged or blocked the request before it reached the API.

    Not a problem with the session: wait a while, or change network (a VPN or datacenter address is often
    challenged). A wait rides it out; other calls raise it at once.
    """


class InsufficientCreditsError(APIStatusError):
    """402: the account has no credits left for this generation. Top up on the website."""


class NotFoundError(APIStatusError):
    """404: the task (or endpoint) does not exist. Check the task id and ``base_url``."""


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes:
        retry_after: Seconds the server asked us to wait, when it said so (``Retry-After``), else None.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: object,
        headers: Mapping[str, str],
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body, headers=headers)
        self.retry_after = retry_after
        self.retryable = True


class ServerError(APIStatusError):
    """5xx: the server (or Cloudflare in front of it) failed. Usually transient: retried automatically."""


class InvalidResponseError(APIError):
    """A successful status came with a body that is not the JSON we expect.

    Typically a Cloudflare challenge or error page served as HTML with status 200, or a changed API.

    Attributes:
        status_code: The HTTP status code.
        body: The answer's text (redacted, cut to a few hundred characters).
    """

    def __init__(self, message: str, *, method: str, url: str, status_code: int, body: str) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body


class GenerationFailedError(NanoBananaError):
    """The task ended in a failure state. Nothing more will come of it; create a new task to try again.

    Attributes:
        task_id: The failed task's id.
        fail_msg: The server's reason (``failMsg``), possibly empty.
        status: The final status as received.
    """

    def __init__(self, task_id: str, fail_msg: str, status: TaskStatus) -> None:
        reason = fail_msg or "the server gave no reason"
        super().__init__(f"Generation {task_id} failed ({status.state_word}): {reason}")
        self.task_id: str = task_id
        self.fail_msg = fail_msg
        self.status = status


class WaitTimeoutError(NanoBananaError, TimeoutError):
    """The task was not finished when the wait's ``timeout`` ran out.

    The task is still running on the server. Resume with ``await client.wait(err.task_id)``.

    Attributes:
        task_id: The task that is still running.
        last_status: The last status received, or None if none could be read.
        timeout: The timeout that ran out, in seconds.
    """

    def __init__(self, task_id: str, last_status: TaskStatus | None, timeout: float) -> None:
        state = last_status.state_word if last_status is not None else "unknown"
        super().__init__(
            f"Task {task_id} was still {state!r} after {timeout:g}s; it keeps running on the server. "
            f"Resume with `await client.wait({task_id!r})` or `nanobanana wait {task_id}`."
        )
        self.retryable = True
        self.task_id: str = task_id
        self.last_status = last_status
        self.timeout = timeout


class DownloadError(NanoBananaError):
    """The result could not be downloaded or saved. No partial file is left behind.

    Attributes:
        url: The URL that was being downloaded.
        status_code: The HTTP status, when the failure was an HTTP answer.
    """

    def __init__(self, message: str, *, url: str, status_code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.retryable = retryable


class ClientClosedError(NanoBananaError, RuntimeError):
    """The client was closed (calls still in flight end with this), or is used from another event loop.

    Nothing more is sent. Make a new client, one per event loop; a task already created keeps running on the
    server, and the error's ``task_id`` names it when there is one.
    """


class JournalLockedError(NanoBananaError):
    """Another batch run holds this journal. Wait for it to finish, or use another journal file."""


class UncertainCreateError(NanoBananaError):
    """A batch item whose create request may have reached the server: its task may exist, and be charged.

    An earlier run sent the create but stopped (or failed) before learning the task id, so the batch does not
    create it again on its own. Look for the task in your history on the website; to create it anyway, run the
    batch with ``retry_uncertain=True`` (CLI: ``--retry-uncertain``). Not ``retryable``: sending it again may
    pay twice.

    Attributes:
        key: The batch item's key (its ``id``).
        cause_type: The class name of the error the earlier create ended with, or None when the run stopped
            before any answer (a crash).
        sent_at: When the create was sent (ISO 8601, UTC), when the journal says.
    """

    retryable = False

    def __init__(self, key: str, *, cause_type: str | None = None, sent_at: str | None = None) -> None:
        seen = f"it ended with {cause_type}" if cause_type else "the run stopped before the answer"
        super().__init__(
            f"Batch item {key!r}: an earlier run sent its create request but {seen}, so the task may exist (and "
            "be charged). Check your history on the website; to create it again anyway, run with "
            "retry_uncertain=True (CLI: --retry-uncertain)."
        )
        self.key = key
        self.cause_type = cause_type
        self.sent_at = sent_at


class BatchAbortedError(NanoBananaError):
    """A batch item was never started: the batch stopped early because the account failed.

    After repeated 401, 402 (out of credits) or Cloudflare blocks, a batch stops creating tasks instead of
    failing every item alike. Nothing was sent for this item. Fix the cause (sign in again, top up, wait or
    change network), then run the same batch with the same journal: it starts these items. ``retryable``.

    Attributes:
        key: The batch item's key (its ``id``).
        reason: The error that stopped the batch.
    """

    retryable = True

    def __init__(self, key: str, reason: NanoBananaError) -> None:
        super().__init__(
            f"Batch item {key!r} was not started: the batch stopped early after {type(reason).__name__}: "
            f"{reason.message} Fix that, then run the batch again with the same journal to start it."
        )
        self.key = key
        self.reason = reason

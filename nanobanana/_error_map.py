"""Turns what goes wrong on the wire (aiohttp's exceptions, error statuses, odd answers) into nanobanana's errors."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Callable, Mapping
from datetime import timezone
from typing import Any

import aiohttp
from multidict import CIMultiDict

from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CloudflareError,
    InsufficientCreditsError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from ._redact import bare_url

Redact = Callable[[str], str]
"""Replaces every secret in a text (cookie values above all) by ``[redacted]``."""

# What aiohttp (and the socket under it) raises; `map_exception` turns each into ours.
AIOHTTP_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)

_BODY_PREVIEW = 300

# aiohttp's exception -> (our class, whether the request may have reached the server, whether sending it again
# may help, what happened). Most specific first: the first match wins.
_EXCEPTIONS: tuple[tuple[type[BaseException], type[APIConnectionError], bool, bool, str], ...] = (
    (aiohttp.ClientConnectorCertificateError, APIConnectionError, False, False, "the TLS certificate was refused"),
    (aiohttp.ClientSSLError, APIConnectionError, False, False, "the TLS handshake failed"),
    (aiohttp.ConnectionTimeoutError, APITimeoutError, False, True, "timed out connecting"),
    (aiohttp.ServerTimeoutError, APITimeoutError, True, True, "timed out waiting for the answer"),
    (asyncio.TimeoutError, APITimeoutError, True, True, "timed out waiting for the answer"),
    (aiohttp.ClientConnectorError, APIConnectionError, False, True, "could not connect"),
    (aiohttp.TooManyRedirects, APIConnectionError, True, False, "too many redirects"),
    (aiohttp.InvalidURL, APIConnectionError, False, False, "the server redirected to an invalid URL"),
    (aiohttp.ClientPayloadError, APIConnectionError, True, True, "the answer was cut short"),
    (aiohttp.ServerDisconnectedError, APIConnectionError, True, True, "the server closed the connection"),
)

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: AuthenticationError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}

_ADVICE: dict[type[APIStatusError], str] = {
    AuthenticationError: (
        "Sign in again (`nanobanana login`) or set NANOBANANA_SESSION_TOKEN to a fresh "
        "__Secure-authjs.session-token cookie from your browser."
    ),
    CloudflareError: "Cloudflare challenged or blocked the request: wait a while, or try from another network.",
    InsufficientCreditsError: "The account is out of credits: top up on the website.",
    NotFoundError: "Check the task id and base_url.",
    RateLimitError: "Lower max_concurrency or set requests_per_second.",
    ServerError: "The service failed; this is usually transient.",
}

MAY_HAVE_ACTED = (
    "The server may have acted on it anyway: check (for a create, your task history) before sending it again, "
    "or it may happen twice."
)


# --- headers --------------------------------------------------------------------------------------------------


def parse_http_date(value: str) -> float | None:
    """The POSIX time of an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``), or None if it is not one."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        if when is None:
            return None
        return max(0.0, when - (time.time() if now is None else now))
    return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms`` if given (finer), else ``Retry-After``."""
    millis = parse_retry_after(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    return parse_retry_after(headers.get("Retry-After"))


# --- bodies ---------------------------------------------------------------------------------------------------


def looks_like_html(text: str) -> bool:
    """Whether a body is an HTML page (Cloudflare's challenge and error pages are)."""
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html")) or "<head" in head


def describe_body(body: object) -> str:
    """A short, one-line account of an answer's body, for a message."""
    if isinstance(body, Mapping):
        for key in ("error", "message", "msg", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return " ".join(value.split())[:_BODY_PREVIEW]
        return json.dumps(body)[:_BODY_PREVIEW]
    text = str(body)
    if looks_like_html(text):
        return "an HTML page instead of JSON"
    return " ".join(text.split())[:_BODY_PREVIEW] or "no body"


def _sentence(*parts: str) -> str:
    """Parts joined into sentences, each ending with one full stop."""
    return " ".join(part.rstrip(". ") + "." for part in parts if part.strip(". "))


# --- exceptions -----------------------------------------------------------------------------------------------


def map_exception(method: str, url: str, exc: BaseException, redact: Redact) -> APIConnectionError:
    """Our error for one of aiohttp's (or the socket's), naming the request; never chain ``exc`` to it.

    aiohttp's exceptions keep the request's headers, Cookie included: the caller raises the result outside its
    ``except`` block, so neither ``__cause__`` nor ``__context__`` leads back to them.
    """
    cls, request_sent, retryable, what = next(
        (row[1:] for row in _EXCEPTIONS if isinstance(exc, row[0])),
        (APIConnectionError, True, True, "the connection failed"),
    )
    detail = _detail(exc)
    shown = f"{what} ({redact(detail)})" if detail else what
    return cls(
        _sentence(f"{method} {redact(url)}: {shown}"),
        method=method,
        url=redact(url),
        request_sent=request_sent,
        retryable=retryable,
    )


def _detail(exc: BaseException) -> str:
    """What an exception says, without aiohttp's misleading status of a response that never came."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return str(exc.os_error or "")
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.message
    if isinstance(exc, aiohttp.InvalidURL):
        return str(exc.url)
    text = str(exc)
    return text if text and text != "None" else ""


# --- statuses -------------------------------------------------------------------------------------------------


def status_error(
    method: str, url: str, status: int, reason: str, headers: Mapping[str, str], text: str, redact: Redact
) -> APIStatusError:
    """The error for an error status, with the server's words (redacted) and what to do about it."""
    text = redact(text)
    body: object
    try:
        body = json.loads(text)
    except ValueError:
        body = text[: _BODY_PREVIEW * 4]
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIStatusError)
    if status == 403 and isinstance(body, str) and looks_like_html(body):
        cls = CloudflareError
    path = bare_url(url)
    message = _sentence(f"{method} {path} -> {status} {redact(reason)}: {describe_body(body)}", _ADVICE.get(cls, ""))
    shown_headers = CIMultiDict((name, redact(value)) for name, value in headers.items())
    common: dict[str, Any] = {"method": method, "url": url, "status_code": status, "body": body}
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after_of(headers), headers=shown_headers, **common)
    return cls(message, headers=shown_headers, **common)


def signed_out(method: str, url: str, status: int, location: str, redact: Redact) -> AuthenticationError:
    """The error for an API answer redirecting to the sign-in page (Auth.js does so for an expired session)."""
    return AuthenticationError(
        _sentence(f"{method} {bare_url(url)} -> {status}: redirected to sign in", _ADVICE[AuthenticationError]),
        method=method,
        url=url,
        status_code=status,
        body=redact(location),
        headers={},
    )


def invalid_answer(method: str, url: str, status: int, text: str, problem: str, redact: Redact) -> InvalidResponseError:
    """The error for a 2xx answer that is not the JSON expected (``problem`` says how)."""
    text = redact(text)
    html = looks_like_html(text)
    problem = "an HTML page (a Cloudflare page?), not JSON" if html else problem
    preview = f": {describe_body(text)}" if text.strip() and not html else ""
    return InvalidResponseError(
        _sentence(f"{method} {bare_url(url)} -> {status}, but the answer is {problem}{preview}"),
        method=method,
        url=url,
        status_code=status,
        body=text[:_BODY_PREVIEW],
    )


def advise(exc: APIError, *, idempotent: bool) -> None:
    """Add to a request's final error what the caller should do, when the cause alone does not say it."""
    if not idempotent and (isinstance(exc, InvalidResponseError) or getattr(exc, "request_sent", False)):
        advice = MAY_HAVE_ACTED
    elif isinstance(exc, APITimeoutError):
        advice = "Raise the client's timeout, or try again later."
    elif isinstance(exc, InvalidResponseError):
        advice = "This is usually a transient Cloudflare page; try again shortly."
    else:
        return
    exc.message = _sentence(exc.message, advice)
    exc.args = (exc.message,)

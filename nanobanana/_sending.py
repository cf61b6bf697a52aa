"""Sends one API request and reads its answer: the body capped in size, the status and the JSON checked."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from ._config import MAX_ANSWER_BYTES
from ._error_map import AIOHTTP_ERRORS, invalid_answer, looks_like_html, map_exception, signed_out, status_error
from ._exceptions import APIConnectionError, RateLimitError
from ._pacing import Pacer
from ._session import Session, cookies_of
from ._telemetry import Telemetry

logger = logging.getLogger("nanobanana")

_READ_BYTES = 64 * 1024
_SIGN_IN_PATHS = ("/api/auth/signin", "/signin", "/sign-in", "/login")


@dataclass(frozen=True, slots=True)
class Request:
    """One API request, as every attempt at it sends it.

    Attributes:
        method: The HTTP method.
        url: The absolute URL, on the API host.
        json_body: A JSON body, or None.
        form: A form-encoded body, or None.
        multipart: Builds a multipart body, or None: a factory, since aiohttp sends a FormData only once.
        idempotent: Whether sending it twice is harmless; decides what is retried.
        expect_redirect: Whether a redirect is the expected answer (Auth.js's sign-in callback).
    """

    method: str
    url: URL
    json_body: object = None
    form: Mapping[str, str] | None = None
    multipart: Callable[[], aiohttp.FormData] | None = None
    idempotent: bool = True
    expect_redirect: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """A decoded answer from the API host."""

    status: int
    headers: Mapping[str, str]
    data: Any
    cookies: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Raw:
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    cookies: Mapping[str, str]


async def send_once(session: Session, pacer: Pacer, telemetry: Telemetry, request: Request, resends: int) -> Answer:
    """Send ``request`` once, in its turn under the pacer's rate, and decode the answer.

    The exchange is one HTTP span; ``resends`` counts the attempts at ``request`` before this one.

    Raises:
        APIConnectionError: No answer came back (never chained to aiohttp's exception, which holds the Cookie).
        APIStatusError: The server answered 4xx/5xx (a subclass per status); a 429 also slows the pacer down.
        InvalidResponseError: A 2xx answer that is not JSON, or too large.
    """
    started = time.monotonic()
    failure: APIConnectionError | None = None
    async with pacer.turn():
        with telemetry.http_request(request.method, request.url, resends) as span:
            try:
                raw = await _exchange(session, request)
            except AIOHTTP_ERRORS as exc:
                failure = map_exception(request.method, str(request.url), exc, session.redact)
            # Raised outside the except block, so that nothing chains it to aiohttp's exception.
            if failure is not None:
                raise failure
            span.status(raw.status)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s -> %d (%.3fs)", request.method, request.url.path, raw.status, time.monotonic() - started)
    try:
        return decode(session, request, raw)
    except RateLimitError:
        pacer.on_throttled()  # the whole client slows down, whether or not this request is sent again
        raise


async def _exchange(session: Session, request: Request) -> _Raw:
    # A fresh multipart body per attempt: aiohttp can send a FormData only once.
    body = request.multipart() if request.multipart is not None else request.form
    async with session.get().request(
        request.method,
        request.url,
        json=request.json_body,
        data=body,
        # Read once the request has its turn, so it carries the cookies as they are then.
        headers=session.api_headers(),
        # A redirect could carry our Cookie header to another origin; the API never needs one.
        allow_redirects=False,
        # Per request, so the client's timeout also holds on a session= of the caller's.
        timeout=session.timeout,
    ) as response:
        data = await _read_capped(response, request, session)
        headers = response.headers  # aiohttp's case-insensitive proxy: a server may spell it "retry-after"
        cookies = cookies_of(response) if "Set-Cookie" in headers else {}
        return _Raw(response.status, response.reason or "", headers, data, cookies)


async def _read_capped(response: aiohttp.ClientResponse, request: Request, session: Session) -> bytes:
    """The body, refused past `MAX_ANSWER_BYTES` without reading the rest (an API answer is small)."""
    length = response.content_length
    if length is not None and length <= MAX_ANSWER_BYTES and "Content-Encoding" not in response.headers:
        return await response.read()
    data = bytearray()
    if length is None or length <= MAX_ANSWER_BYTES:
        while chunk := await response.content.read(_READ_BYTES):
            data += chunk
            if len(data) > MAX_ANSWER_BYTES:
                break
        else:
            return bytes(data)
    raise invalid_answer(
        request.method,
        str(request.url),
        response.status,
        "",
        f"larger than {MAX_ANSWER_BYTES} bytes, more than any answer of this API",
        session.redact,
    )


def decode(session: Session, request: Request, raw: _Raw) -> Answer:
    """The answer of one attempt, decoded: an error status raises, a 2xx must be JSON."""
    if raw.cookies:
        session.store_cookies(raw.cookies)
    url = str(request.url)
    # Whatever the server echoes (fail messages, unknown fields) never carries our cookies on to the caller.
    text = session.redact(raw.body.decode("utf-8", errors="replace"))
    if raw.status >= 400:
        raise status_error(request.method, url, raw.status, raw.reason, raw.headers, text, session.redact)
    if raw.status >= 300:
        location = raw.headers.get("Location", "")
        if request.expect_redirect:
            return Answer(status=raw.status, headers=raw.headers, data=None, cookies=raw.cookies)
        if _is_sign_in(request.url, location):
            raise signed_out(request.method, url, raw.status, location, session.redact)
        problem = f"a redirect to {session.redact(location) or 'nowhere'}"
        raise invalid_answer(request.method, url, raw.status, "", problem, session.redact)
    try:
        data = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        raise invalid_answer(request.method, url, raw.status, text, "not JSON", session.redact) from None
    if isinstance(data, str) and looks_like_html(data):
        raise invalid_answer(request.method, url, raw.status, text, "an HTML page", session.redact)
    return Answer(status=raw.status, headers=raw.headers, data=data, cookies=raw.cookies)


def _is_sign_in(url: URL, location: str) -> bool:
    """Whether a redirect points at the API host's sign-in page (where Auth.js sends an expired session)."""
    try:
        target = url.join(URL(location))
    except (TypeError, ValueError):
        return False
    return target.origin() == url.origin() and target.path.rstrip("/").endswith(_SIGN_IN_PATHS)

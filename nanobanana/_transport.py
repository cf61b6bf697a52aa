"""The one place that sends requests.

Everything that talks HTTP goes through `Transport`: it owns (or borrows) the aiohttp session, adds the
User-Agent and, for the API host only, the session cookie; it applies timeouts, the client-wide cap on
requests in flight, retries, and turns every aiohttp exception and error status into ours.

Retry rule (documented in docs/concepts.md):

- Idempotent requests (status, downloads, sign-in reads) are retried on connection errors, timeouts, 408,
  429 and 5xx.
- Requests that create something (create, upload, sign-in posts) are retried only when the server cannot
  have acted on them: the connection could not be opened, or the server answered 408, 429 or 503 (it refused
  the request). A read timeout or a dropped connection after sending is never retried blindly, because the
  task may exist already; the error says so.
- A ``Retry-After`` (seconds or HTTP date) is waited as given, up to a minute; otherwise backoff is
  exponential with full jitter.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http.cookies import SimpleCookie
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from yarl import URL

from . import _config
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    InvalidInputError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from ._pacing import Pacer
from ._telemetry import Telemetry

logger = logging.getLogger("nanobanana")

_T = TypeVar("_T")
_ACCEPT_JSON = {"Accept": "application/json"}
_NO_COOKIES: Mapping[str, str] = MappingProxyType({})

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: AuthenticationError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
# The server refused these before doing anything, so even a create can be sent again.
_REFUSED_STATUSES = frozenset({408, 429, 503})
_HINTS: dict[type[APIStatusError], str] = {
    AuthenticationError: (
        "Sign in again (`nanobanana login`) or set NANOBANANA_SESSION_TOKEN to a fresh "
        "__Secure-authjs.session-token cookie from your browser."
    ),
    InsufficientCreditsError: "The account is out of credits: top up on the website.",
    NotFoundError: "Check the task id and base_url.",
    RateLimitError: "Slow down: lower max_concurrency or set requests_per_second.",
    ServerError: "The service failed; this is usually transient, try again shortly.",
}
_BODY_PREVIEW = 300


@dataclass(frozen=True)
class Answer:
    """A decoded JSON answer from the API host."""

    status: int
    headers: Mapping[str, str]
    data: Any
    cookies: Mapping[str, str]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def should_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether a failed attempt may be sent again (see the module docstring for the rule)."""
    if isinstance(exc, APIConnectionError):
        return idempotent or not exc.request_sent
    if isinstance(exc, APIStatusError):
        if _retry_after_of(exc) > _config.RETRY_AFTER_MAX:
            return False
        statuses = _RETRYABLE_STATUSES if idempotent else _REFUSED_STATUSES
        return exc.status_code in statuses
    return False


def may_have_acted(exc: BaseException) -> bool:
    """Whether a request that is not idempotent (a create) and failed with ``exc`` may have been carried out.

    A connection dropped after sending, a 5xx that is not a refusal, or a 2xx answer we could not read leave it
    possibly done (a create possibly charged); a 4xx, a refusal or a connection never opened do not.
    """
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    if isinstance(exc, APIStatusError):
        return exc.status_code >= 500 and exc.status_code not in _REFUSED_STATUSES
    return isinstance(exc, InvalidResponseError)


def _retry_after_of(exc: BaseException) -> float:
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        return exc.retry_after
    if isinstance(exc, APIStatusError):
        return parse_retry_after(exc.headers.get("Retry-After")) or 0.0
    return 0.0


_backoff = wait_random_exponential(multiplier=_config.RETRY_BACKOFF_BASE, max=_config.RETRY_BACKOFF_MAX)


def retry_wait(retry_state: RetryCallState) -> float:
    """Seconds before the next attempt: the server's ``Retry-After`` if it gave one, else jittered backoff."""
    exc = retry_state.outcome.exception() if retry_state.outcome is not None else None
    if exc is not None:
        retry_after = _retry_after_of(exc)
        if retry_after > 0:
            return retry_after
    return float(_backoff(retry_state))


def _describe_body(body: object) -> str:
    if isinstance(body, Mapping):
        for key in ("error", "message", "msg", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        return json.dumps(body)[:_BODY_PREVIEW]
    text = str(body)
    if _looks_like_html(text):
        return "an HTML page instead of JSON (a Cloudflare challenge or error page?)"
    return text[:_BODY_PREVIEW] or "no body"


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html")) or "<head" in head


class Transport:
    """Sends requests for one client: session lifecycle, auth, timeouts, pacing, retries, error mapping."""

    def __init__(
        self,
        *,
        base_url: str,
        session_token: str | None,
        cookies: Mapping[str, str],
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
        max_retries: int,
        max_concurrency: int,
        requests_per_second: float | None,
        session: aiohttp.ClientSession | None,
    ) -> None:
        self.base_url = URL(base_url.rstrip("/"))
        if self.base_url.scheme not in ("http", "https") or not self.base_url.host:
            raise InvalidInputError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self._api_origin = self.base_url.origin()
        if max_retries < 0:
            raise InvalidInputError(f"max_retries must be >= 0, got {max_retries}")
        if max_concurrency < 1:
            raise InvalidInputError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if requests_per_second is not None and not requests_per_second > 0:
            raise InvalidInputError(f"requests_per_second must be positive, got {requests_per_second!r}")
        self.timeout = timeout
        # A large image may take longer than one API call may: bound the silence between bytes, not the total.
        self.download_timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=timeout.sock_connect,
            sock_read=timeout.sock_read or timeout.total,
        )
        self.max_retries = max_retries
        self.max_concurrency = max_concurrency
        self._cookies: dict[str, str] = dict(cookies)
        self._api_headers_cache: CIMultiDictProxy[str] | None = None
        self._file_headers: CIMultiDictProxy[str] | None = None
        self._urls: dict[str, URL] = {}
        if session_token:
            self.session_token = session_token
        self._headers = {"User-Agent": _config.user_agent(), **headers}
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self.pacer = Pacer(max_in_flight=max_concurrency, requests_per_second=requests_per_second)
        self.telemetry = Telemetry(server=self.base_url, redact=self.redact)

    # --- credentials -------------------------------------------------------------------------------------

    @property
    def session_token(self) -> str | None:
        """The session cookie's value, or None when signed out."""
        for name in _config.SESSION_COOKIE_NAMES:
            if self._cookies.get(name):
                return self._cookies[name]
        return None

    @session_token.setter
    def session_token(self, token: str | None) -> None:
        for name in _config.SESSION_COOKIE_NAMES:
            self._cookies.pop(name, None)
        if token:
            self._cookies[_config.SESSION_COOKIE] = token
        self._api_headers_cache = None

    def _api_headers(self) -> CIMultiDictProxy[str]:
        """The headers of an API call, built once per change of cookies rather than per request.

        Read-only and shared by every request: aiohttp copies the headers it is given into each request, and
        takes a multidict proxy as it is instead of converting a dict first.
        """
        if self._api_headers_cache is None:
            headers = self._request_headers(self.base_url, _ACCEPT_JSON)
            self._api_headers_cache = CIMultiDictProxy(CIMultiDict(headers))
        return self._api_headers_cache

    def _get_headers(self, url: URL) -> Mapping[str, str]:
        """The headers of a download's GET: with the cookie on the API host; elsewhere the same few, built once."""
        if self.is_api_origin(url):
            return self._request_headers(url, None)
        if self._file_headers is None:
            self._file_headers = CIMultiDictProxy(CIMultiDict(self._request_headers(url, None)))
        return self._file_headers

    def redact(self, text: str) -> str:
        """The text with every cookie value (the session token above all) replaced by ``[redacted]``."""
        for value in self._cookies.values():
            if len(value) >= 8:
                text = text.replace(value, "[redacted]")
        return text

    def is_api_origin(self, url: URL) -> bool:
        """True when ``url`` is on the API host, the only host that may see our credentials."""
        return url.origin() == self._api_origin

    def url(self, path: str) -> URL:
        """The absolute URL of an API path (the few paths the API has are built once)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self.base_url.with_path(self.base_url.path.rstrip("/") + path)
        return url

    # --- session lifecycle -------------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the client is closed; create a new NanoBanana client")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # One pool per client; the pacer caps requests in flight, the connector caps sockets.
                connector=aiohttp.TCPConnector(limit=self.max_concurrency, limit_per_host=0),
                # Cookies are managed by hand so they go to the API host only (and work over http).
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self.timeout,
            )
        return self._session

    async def close(self) -> None:
        """Close the session if this transport created it. Safe to call twice."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    # --- sending -----------------------------------------------------------------------------------------

    def _request_headers(self, url: URL, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(self._headers)
        if extra:
            headers.update(extra)
        if self.is_api_origin(url):
            if self._cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
        else:
            # Caller-supplied headers may carry credentials: none of them leave the API host.
            headers = {k: v for k, v in headers.items() if k.lower() in ("user-agent", "accept")}
        return headers

    def status_error(
        self, method: str, url: URL, status: int, reason: str, headers: Mapping[str, str], text: str
    ) -> APIStatusError:
        text = self.redact(text)
        body: object
        try:
            body = json.loads(text)
        except ValueError:
            body = text[: _BODY_PREVIEW * 4]
        cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIStatusError)
        hint = _HINTS.get(cls, "")
        if cls is AuthenticationError and status == 403 and _looks_like_html(text):
            hint = "Cloudflare blocked the request; wait and retry, or refresh the session cookie."
        message = f"{method} {url.path} -> {status} {reason}: {_describe_body(body).rstrip('.')}. {hint}".strip()
        common: dict[str, Any] = {
            "method": method,
            "url": str(url),
            "status_code": status,
            "body": body,
            "headers": headers,
        }
        if cls is RateLimitError:
            return RateLimitError(message, retry_after=parse_retry_after(headers.get("Retry-After")), **common)
        return cls(message, **common)

    def retrying(self, *, idempotent: bool) -> AsyncRetrying:
        """The retry loop for one request, built from this client's settings."""
        return AsyncRetrying(
            retry=retry_if_exception(lambda exc: should_retry(exc, idempotent=idempotent)),
            wait=retry_wait,
            stop=stop_after_attempt(self.max_retries + 1),
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _log_retry(self, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome is not None else None
        delay = retry_state.next_action.sleep if retry_state.next_action is not None else 0.0
        if isinstance(exc, RateLimitError):
            self.pacer.on_throttled()
        logger.info(
            "Retrying in %.2fs (attempt %d of %d) after: %s",
            delay,
            retry_state.attempt_number + 1,
            self.max_retries + 1,
            exc,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        form: Mapping[str, str] | None = None,
        multipart: Callable[[], aiohttp.FormData] | None = None,
        idempotent: bool,
    ) -> Coroutine[Any, Any, Answer]:
        """Send one API request (with retries) and return its decoded JSON answer.

        Args:
            method: HTTP method.
            path: Path on the API host, e.g. ``/api/upload``.
            json_body: A JSON body, or None.
            form: A form-encoded body, or None.
            multipart: Builds a multipart body, or None. A factory, since aiohttp can send a FormData once
                and each attempt needs a fresh one.
            idempotent: Whether sending it twice is harmless; decides what is retried.

        Raises:
            APIConnectionError: No answer came back.
            APIStatusError: The server answered 4xx/5xx (a subclass per status).
            InvalidResponseError: A 2xx answer that is not JSON.
        """
        # A plain function handing back the first attempt's coroutine: a request waiting for its turn is then
        # one frame, and with thousands queued every object each holds is work for the garbage collector.
        return self._attempt(method, self.url(path), json_body, form, multipart, idempotent, 0)

    async def retry_after(self, failure: Exception, send: Callable[[int], Awaitable[_T]], *, idempotent: bool) -> _T:
        """Go on from a failed first attempt under the `retrying` loop, as if the loop had made that attempt.

        Callers send the first attempt themselves, outside tenacity, whose per-attempt bookkeeping costs more
        than a loopback round trip; the loop starts from that failure, so what is retried, the waits, the
        attempt count and the logs are exactly those of the loop alone. ``send`` is given the attempt's number of
        resends (1 for the first retry).
        """
        first_failure: Exception | None = failure
        async for attempt in self.retrying(idempotent=idempotent):
            with attempt:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                return await send(attempt.retry_state.attempt_number - 1)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        url: URL,
        json_body: object,
        form: Mapping[str, str] | None,
        multipart: Callable[[], aiohttp.FormData] | None,
        idempotent: bool,
        resend: int,
    ) -> Answer:
        """One attempt of an API request (``url`` is always on the API host); ``resend`` counts earlier attempts.

        If the first attempt fails, it hands over to `retry_after`, which sends the later ones, and gives the final
        error its advice.
        """
        try:
            # A fresh multipart body per attempt: aiohttp can send a FormData only once.
            body = multipart() if multipart is not None else form
            session = self._get_session()
            started = time.monotonic()
            async with self.pacer.slot():
                with self.telemetry.http_request(method, url, resend) as span:
                    status, reason, answer_headers, raw, set_cookies = await self._exchange(
                        session, method, url, json_body, body
                    )
                    span.status(status)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s %s -> %d (%.3fs)", method, url.path, status, time.monotonic() - started)
            return self._decode(method, url, status, reason, answer_headers, raw, set_cookies)
        except Exception as exc:
            if resend:
                raise
            # The retry callable is built only after a failure: a request waiting for its turn holds none.
            again = functools.partial(self._attempt, method, url, json_body, form, multipart, idempotent)
            try:
                return await self.retry_after(exc, again, idempotent=idempotent)
            except APIConnectionError as final:
                _advise(final, idempotent=idempotent)
                raise

    async def _exchange(
        self, session: aiohttp.ClientSession, method: str, url: URL, json_body: object, body: object
    ) -> tuple[int, str, CIMultiDictProxy[str], bytes, Mapping[str, str]]:
        """Send one request and read its whole answer: status, reason, headers, body and the cookies it sets."""
        try:
            async with session.request(
                method,
                url,
                json=json_body,
                data=body,
                # Read once the request has its turn, so it carries the cookies as they are then.
                headers=self._api_headers(),
                # A redirect could carry our Cookie header to another origin; the API never needs one.
                allow_redirects=False,
                # Per request, so the client's timeout also holds on a session= of the caller's.
                timeout=self.timeout,
            ) as response:
                raw = await response.read()
                # Kept as aiohttp's case-insensitive proxy: a server may spell it "retry-after".
                headers = response.headers
                set_cookies = _cookies_of(response) if "Set-Cookie" in headers else _NO_COOKIES
                return response.status, response.reason or "", headers, raw, set_cookies
        except AIOHTTP_ERRORS as exc:
            raise translate_error(method, url, exc) from exc

    def _decode(
        self,
        method: str,
        url: URL,
        status: int,
        reason: str,
        headers: Mapping[str, str],
        raw: bytes,
        set_cookies: Mapping[str, str],
    ) -> Answer:
        """The answer of one attempt, decoded: an error status raises, a 2xx must be JSON."""
        if set_cookies:
            self._store_cookies(set_cookies)
        text = raw.decode("utf-8", errors="replace")
        if status >= 400:
            raise self.status_error(method, url, status, reason, headers, text)
        if status >= 300:
            return Answer(status=status, headers=headers, data=None, cookies=set_cookies)
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            self._invalid(method, url, status, text)
        if isinstance(data, str) and _looks_like_html(data):
            self._invalid(method, url, status, text)
        return Answer(status=status, headers=headers, data=data, cookies=set_cookies)

    def _invalid(self, method: str, url: URL, status: int, text: str) -> NoReturn:
        text = self.redact(text)
        raise InvalidResponseError(
            f"{method} {url.path} -> {status}, but the body is {_describe_body(text)} "
            "This is usually a transient Cloudflare page; try again shortly.",
            method=method,
            url=str(url),
            status_code=status,
            body=text[:_BODY_PREVIEW],
        )

    def invalid_shape(self, method: str, path: str, status: int, data: object, problem: str) -> NoReturn:
        """Raise InvalidResponseError for JSON that does not have the expected shape."""
        text = self.redact(json.dumps(data)[:_BODY_PREVIEW])
        raise InvalidResponseError(
            f"{method} {path} -> {status}: unexpected answer ({problem}): {text}",
            method=method,
            url=str(self.url(path)),
            status_code=status,
            body=text,
        )

    def _store_cookies(self, cookies: Mapping[str, str]) -> None:
        for name, value in cookies.items():
            if value:
                self._cookies[name] = value
            else:
                self._cookies.pop(name, None)
        self._api_headers_cache = None

    async def get(self, url: URL, resend: int = 0) -> aiohttp.ClientResponse:
        """Send a download's GET, one attempt, following redirects by hand; the caller releases the response.

        Call it inside ``async with transport.pacer.slot():``, which holds the in-flight place, and read the body
        there; an error while reading is aiohttp's, for `translate_error`. A coroutine, not a context manager:
        with thousands of downloads at once, the generator and manager object each would hold are measurable
        work (see the benchmarks page). Credentials go only to the API host; every redirect hop is checked
        again, so a redirect from the API host to a file host drops them. ``resend`` counts earlier attempts.
        """
        session = self._get_session()
        try:
            for _ in range(10):
                with self.telemetry.http_request("GET", url, resend) as span:
                    response = await session.get(
                        url,
                        headers=self._get_headers(url),
                        allow_redirects=False,
                        timeout=self.download_timeout,
                    )
                    span.status(response.status)
                location = response.headers.get("Location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    response.release()
                    url = url.join(URL(location))
                    continue
                return response
        except AIOHTTP_ERRORS as exc:
            raise translate_error("GET", url, exc) from exc
        raise APIConnectionError("GET: too many redirects", method="GET", url=str(url))


# What aiohttp (and the socket under it) raises; `translate_error` turns each into ours, so none reaches a caller. A
# plain except clause rather than a context manager: no generator and no manager object on every request.
AIOHTTP_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


def translate_error(method: str, url: URL, exc: Exception) -> Exception:
    """Our exception for one of aiohttp's (or the socket's), naming the request."""
    shown = str(url)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(
            f"{method} {shown}: timed out connecting ({exc or 'no answer'}). Check your network.",
            method=method,
            url=shown,
            request_sent=False,
        )
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return APITimeoutError(f"{method} {shown}: timed out waiting for the answer.", method=method, url=shown)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"{method} {shown}: could not connect ({exc.os_error or exc}). Check base_url and your network.",
            method=method,
            url=shown,
            request_sent=False,
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidInputError(f"not a valid URL: {shown!r}")
    return APIConnectionError(
        f"{method} {shown}: the connection failed ({type(exc).__name__}: {exc}).", method=method, url=shown
    )


def _advise(exc: APIConnectionError, *, idempotent: bool) -> None:
    """Add to a request's final connection error what the caller should do about it."""
    if not idempotent and exc.request_sent:
        # "Try again" is the wrong advice here: the server may have acted on the request already.
        advice = (
            "The server may have acted on it anyway: check (for a create, your task history) before "
            "sending it again, or it may happen twice."
        )
    elif isinstance(exc, APITimeoutError):
        advice = "Raise the client's timeout, or try again later."
    else:
        return
    exc.message = f"{exc.message} {advice}"
    exc.args = (exc.message,)


def _cookies_of(response: aiohttp.ClientResponse) -> dict[str, str]:
    cookies: dict[str, str] = {}
    jar: SimpleCookie = response.cookies
    for name, morsel in jar.items():
        expired = morsel["max-age"] == "0" or (morsel["expires"] and _is_past(morsel["expires"]))
        cookies[name] = "" if expired else morsel.value
    return cookies


def _is_past(expires: str) -> bool:
    try:
        when = email.utils.parsedate_to_datetime(expires)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when < datetime.now(timezone.utc)

"""The one path every request of a client takes: its session, pacing and retry engine, put together."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping
from typing import NoReturn

import aiohttp
from yarl import URL

from . import _config
from ._error_map import advise, invalid_answer
from ._exceptions import APIError, InvalidInputError
from ._pacing import Pacer
from ._retry import Retrier, RetryBudget, resendable
from ._retry import may_have_acted as may_have_acted
from ._sending import Answer, Request, send_once
from ._session import Session, check_base_url
from ._telemetry import Telemetry

__all__ = ["Answer", "Transport", "may_have_acted"]


class Transport:
    """Sends requests for one client: its session and credentials, limits, pacing and retries.

    Args:
        base_url: The API host.
        session_token: The session cookie's value, or None.
        cookies: More cookies for the API host.
        headers: More headers for the API host.
        timeout: The timeout of one API request.
        max_retries: Retries after a request's first attempt.
        max_concurrency: API requests in flight at once.
        requests_per_second: A rate limit, or None.
        session: An aiohttp session of the caller's, or None to make one.
        allow_insecure_http: Allow a plain http base URL to a host that is not this machine.
        max_downloads: Downloads in flight at once (the file host's own limit).
        download_timeout: Seconds a whole download may take, or None for no limit.
    """

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
        allow_insecure_http: bool = False,
        max_downloads: int = _config.DEFAULT_MAX_DOWNLOADS,
        download_timeout: float | None = None,
    ) -> None:
        _at_least("max_retries", max_retries, 0)
        _at_least("max_concurrency", max_concurrency, 1)
        _at_least("max_concurrent_downloads", max_downloads, 1)
        if download_timeout is not None and not download_timeout > 0:
            raise InvalidInputError(f"download_timeout must be positive or None, got {download_timeout!r}")
        self.base_url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self.session = Session(
            base_url=self.base_url,
            cookies=cookies,
            headers=headers,
            timeout=timeout,
            max_connections=max_concurrency + max_downloads,
            session=session,
        )
        if session_token:
            self.session.session_token = session_token
        self.pacer = Pacer(max_in_flight=max_concurrency, requests_per_second=requests_per_second)
        self.retrier = Retrier(max_retries=max_retries, budget=RetryBudget())
        self.downloads = asyncio.Semaphore(max_downloads)
        # A large image may take longer than one API call may: bound the silence between bytes, not the total.
        self.download_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout.sock_connect, sock_read=timeout.sock_read or timeout.total
        )
        self.download_deadline = download_timeout
        self._urls: dict[str, URL] = {}
        # The client replaces it with one bound to its providers and settings.
        self.telemetry = Telemetry(server=self.base_url, redact=self.redact)

    @property
    def session_token(self) -> str | None:
        """The session cookie's value, or None when signed out."""
        return self.session.session_token

    @session_token.setter
    def session_token(self, token: str | None) -> None:
        self.session.session_token = token

    def redact(self, text: str) -> str:
        """The text with every cookie value (the session token above all) replaced by ``[redacted]``."""
        return self.session.redact(text)

    def url(self, path: str) -> URL:
        """The absolute URL of an API path (the few paths the API has are built once)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self.base_url.with_path(self.base_url.path.rstrip("/") + path)
        return url

    async def close(self) -> None:
        """Close the session if this client made it; calls in flight end with a clear error. Idempotent."""
        await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        form: Mapping[str, str] | None = None,
        multipart: Callable[[], aiohttp.FormData] | None = None,
        idempotent: bool,
        expect_redirect: bool = False,
        retry: bool = True,
    ) -> Answer:
        """Send one API request, with retries under the rule, and return its decoded JSON answer.

        Args:
            method: HTTP method.
            path: Path on the API host, e.g. ``/api/upload``.
            json_body: A JSON body, or None.
            form: A form-encoded body, or None.
            multipart: Builds a multipart body, or None (a factory: each attempt needs a fresh one).
            idempotent: Whether sending it twice is harmless; decides what is retried.
            expect_redirect: Whether a redirect is the answer expected (Auth.js's callbacks).
            retry: False to send one attempt only, for a caller that retries on its own schedule (a wait).

        Raises:
            APIConnectionError: No answer came back.
            APIStatusError: The server answered 4xx/5xx (a subclass per status).
            InvalidResponseError: A 2xx answer that is not JSON.
        """
        # The request's in-flight place, held across its attempts: while it waits for one it has built nothing.
        async with self.pacer.slot():
            request = Request(method, self.url(path), json_body, form, multipart, idempotent, expect_redirect)
            attempt = functools.partial(send_once, self.session, self.pacer, self.telemetry, request)
            try:
                if retry:
                    return await self.retrier.run(attempt, idempotent=idempotent)
                answer = await attempt(0)
                self.retrier.budget.refill()
                return answer
            except APIError as exc:
                exc.retryable = resendable(exc, idempotent=idempotent)
                advise(exc, idempotent=idempotent)
                raise

    def invalid_shape(self, method: str, path: str, status: int, data: object, problem: str) -> NoReturn:
        """Raise InvalidResponseError for JSON that does not have the expected shape."""
        text = json.dumps(data)[:300]
        raise invalid_answer(method, str(self.url(path)), status, text, f"unexpected ({problem})", self.redact)


def _at_least(name: str, value: int, low: int) -> None:
    if not isinstance(value, int) or value < low:
        raise InvalidInputError(f"{name} must be an integer >= {low}, got {value!r}")

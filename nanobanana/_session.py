"""The HTTP session of one client: its aiohttp session, and the headers and cookies each host may see."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Mapping

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from . import _config
from ._error_map import parse_http_date
from ._exceptions import ClientClosedError, InvalidInputError

_ACCEPT_JSON = {"Accept": "application/json"}
# Asked of the file host, so the size it announces is the size of the image (see _download).
_FILE_HEADERS = {"Accept-Encoding": "identity"}
_FORBIDDEN_IN_COOKIES = ("\r", "\n", ";", "\x00")


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> URL:
    """The API host as a URL, refusing one that is not absolute http(s) or sends the cookie in clear."""
    try:
        url = URL(base_url.rstrip("/"))
    except (TypeError, ValueError):
        url = URL()
    if not is_http_url(url):
        raise InvalidInputError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host or ""):
        raise InvalidInputError(
            f"base_url {base_url!r} is plain http to another machine, which would send the session cookie in "
            "clear: use https, or pass allow_insecure_http=True if you mean it."
        )
    return url


def is_http_url(url: URL) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host name that can be looked up."""
    host = url.raw_host
    if url.scheme not in ("http", "https") or not host:
        return False
    try:
        host.encode("idna")
    except UnicodeError:  # an empty or over-long label: the name lookup would raise this, past aiohttp's errors
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_cookie(name: str, value: str) -> None:
    """Refuse a cookie that would break the Cookie header or smuggle another cookie into it."""
    if any(bad in value for bad in _FORBIDDEN_IN_COOKIES):
        raise InvalidInputError(
            f"the value of cookie {name!r} contains a line break or ';': pass the cookie's value alone, "
            "not a whole Cookie header line."
        )
    if not name or "=" in name or any(bad in name or " " in name for bad in _FORBIDDEN_IN_COOKIES):
        raise InvalidInputError(f"not a valid cookie name: {name!r}")


class Session:
    """The aiohttp session of one client (its own, or the caller's) and the credentials of the API host."""

    def __init__(
        self,
        *,
        base_url: URL,
        cookies: Mapping[str, str],
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
        max_connections: int,
        session: aiohttp.ClientSession | None,
    ) -> None:
        for name, value in cookies.items():
            check_cookie(name, value)
        self.base_url = base_url
        self._api_origin = base_url.origin()
        self.timeout = timeout
        self._cookies: dict[str, str] = dict(cookies)
        self._headers = {"User-Agent": _config.user_agent(), **headers}
        self._api_headers: CIMultiDictProxy[str] | None = None
        self._file_headers = CIMultiDictProxy(CIMultiDict({**self._public_headers(), **_FILE_HEADERS}))
        self._max_connections = max_connections
        self._session = session
        self._owns_session = session is None
        # Downloads never go through a caller's session: its default headers and cookie jar would reach the
        # file host. They get one of the client's own, made on first use.
        self._file_session: aiohttp.ClientSession | None = None
        # The sleeps between polls in progress, each woken at once when the client closes.
        self._sleepers: set[asyncio.Future[None]] = set()
        self.closed = False

    # --- credentials ---------------------------------------------------------------------------------------

    @property
    def session_token(self) -> str | None:
        """The session cookie's value (joined from Auth.js's ``.0``, ``.1`` chunks if split), or None."""
        for name in _config.SESSION_COOKIE_NAMES:
            if self._cookies.get(name):
                return self._cookies[name]
            chunks: list[str] = []
            while self._cookies.get(f"{name}.{len(chunks)}"):
                chunks.append(self._cookies[f"{name}.{len(chunks)}"])
            if chunks:
                return "".join(chunks)
        return None

    @session_token.setter
    def session_token(self, token: str | None) -> None:
        if token:
            check_cookie(_config.SESSION_COOKIE, token)
        for name in list(self._cookies):
            if name.split(".session-token", 1)[0] + ".session-token" in _config.SESSION_COOKIE_NAMES:
                del self._cookies[name]
        if token:
            self._cookies[_config.SESSION_COOKIE] = token
        self._api_headers = None

    def store_cookies(self, cookies: Mapping[str, str]) -> None:
        """Keep the cookies an API answer set ("" removes one)."""
        for name, value in cookies.items():
            if value:
                self._cookies[name] = value
            else:
                self._cookies.pop(name, None)
        self._api_headers = None

    def redact(self, text: str) -> str:
        """The text with every cookie value (the session token above all) replaced by ``[redacted]``."""
        for value in self._cookies.values():
            if len(value) >= 8:
                text = text.replace(value, "[redacted]")
        return text

    # --- headers -------------------------------------------------------------------------------------------

    def is_api_origin(self, url: URL) -> bool:
        """True when ``url`` is on the API host, the only host that may see our credentials."""
        return url.origin() == self._api_origin

    def api_headers(self) -> CIMultiDictProxy[str]:
        """The headers of an API call (cookies included), built once per change of cookies.

        Read-only and shared by every request: aiohttp copies what it is given, and takes a proxy as it is.
        """
        if self._api_headers is None:
            headers = {**self._headers, **_ACCEPT_JSON}
            if self._cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
            self._api_headers = CIMultiDictProxy(CIMultiDict(headers))
        return self._api_headers

    def download_headers(self, url: URL) -> Mapping[str, str]:
        """The headers of a download's GET: the API's credentials on the API host only."""
        if self.is_api_origin(url):
            return {**self.api_headers(), **_FILE_HEADERS, "Accept": "*/*"}
        return self._file_headers

    def _public_headers(self) -> dict[str, str]:
        # Caller-supplied headers may carry credentials: none of them leave the API host.
        return {k: v for k, v in self._headers.items() if k.lower() in ("user-agent", "accept")}

    # --- lifecycle -----------------------------------------------------------------------------------------

    def get(self) -> aiohttp.ClientSession:
        """The aiohttp session for API calls, made on first use in the running event loop."""
        self._check_usable()
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def for_downloads(self) -> aiohttp.ClientSession:
        """The aiohttp session for downloads: the client's own, never one carrying a caller's defaults."""
        if self._owns_session:
            return self.get()
        self._check_usable()
        if self._file_session is None:
            self._file_session = self._new_session()
        return self._file_session

    async def sleep(self, seconds: float) -> None:
        """Sleep as ``asyncio.sleep`` does, but end at once with ClientClosedError when the client is closed."""
        self._check_usable()
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _wake, woken)
        self._sleepers.add(woken)
        try:
            await woken
        finally:
            timer.cancel()
            self._sleepers.discard(woken)
        if self.closed:
            raise ClientClosedError("The client was closed while waiting; the task keeps running on the server.")

    def _check_usable(self) -> None:
        if self.closed:
            raise ClientClosedError("The client is closed; create a new NanoBanana client.")
        session = self._session
        if session is not None and getattr(session, "_loop", None) not in (None, asyncio.get_running_loop()):
            raise ClientClosedError(
                "This client was first used in another event loop (another asyncio.run?); "
                "make one client per event loop."
            )

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            # One pool per client, as large as the API calls and downloads the limits let in flight: no
            # request ever waits for a pooled connection, so no timeout is spent queuing for one.
            connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
            # Cookies are managed by hand so they go to the API host only (and work over http).
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self.timeout,
        )

    async def close(self) -> None:
        """Close the aiohttp session if this client made it (a session of the caller's stays open)."""
        self.closed = True
        for woken in self._sleepers:
            _wake(woken)
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()
        file_session, self._file_session = self._file_session, None
        if file_session is not None and not file_session.closed:
            await file_session.close()


def _wake(sleeper: asyncio.Future[None]) -> None:
    if not sleeper.done():  # a sleep cancelled meanwhile is done already
        sleeper.set_result(None)


def cookies_of(response: aiohttp.ClientResponse) -> dict[str, str]:
    """The cookies an answer sets, an expired one as ""."""
    cookies: dict[str, str] = {}
    for name, morsel in response.cookies.items():
        expires = parse_http_date(morsel["expires"]) if morsel["expires"] else None
        expired = morsel["max-age"] == "0" or (expires is not None and expires < time.time())
        cookies[name] = "" if expired else morsel.value
    return cookies

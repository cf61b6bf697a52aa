"""Helpers of the unit tests: the fake API (aioresponses at the socket edge), URLs, payloads, readers.

HTTP is faked by aioresponses, which replaces ``aiohttp.ClientSession._request``: every request our transport
sends is recorded and answered from the registered responses, and anything unregistered fails as a refused
connection. Nothing of nanobanana's own is patched.

Kept out of conftest.py so that test modules can import it by a name no other test folder uses.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aioresponses import CallbackResult, aioresponses
from aioresponses.core import RequestCall

# Re-exported for the unit tests' imports; defined once, in `support`.
from support import FAST_POLL as FAST_POLL
from support import JPEG as JPEG
from support import PNG as PNG
from yarl import URL

from nanobanana import NanoBanana, TaskState

BASE = "https://nanabanana.ai"
FILES = "https://file.v03ai.com"
CREATE = f"{BASE}/api/image-generation-nano-banana/create"
STATUS = f"{BASE}/api/image-generation-nano-banana/status"
UPLOAD = f"{BASE}/api/upload"
CSRF = f"{BASE}/api/auth/csrf"
SEND_CODE = f"{BASE}/api/auth/email-verification"
CALLBACK = f"{BASE}/api/auth/callback/email-verification"
SESSION = f"{BASE}/api/auth/session"
SIGNOUT = f"{BASE}/api/auth/signout"

# What the `make_client` fixture is: opens a client of the fake API with these options.
ClientFactory = Callable[..., Awaitable[NanoBanana]]

TOKEN = "tok-0123456789abcdef-SECRET"
TASK_ID = "3b920033d9df92182e59a95f2c44f68f"
RESULT_URL = f"{FILES}/nano-banana/{TASK_ID}-ae89b48c.png"


# --- aioresponses on aiohttp 3.14 ---------------------------------------------------------------------------
# aiohttp 3.14 made ``stream_writer`` a required argument of ClientResponse, which aioresponses 0.7.9 does not
# pass (pnuckowski/aioresponses#289). The response class below supplies an inert one; every response the fake
# API builds uses it.


class _SentWriter:
    """Stands in for the stream writer of a request that has already been sent."""

    output_size = 0


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters


class _CompatResponse(aiohttp.ClientResponse):
    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("stream_writer", _SentWriter())
        super().__init__(method, url, **kwargs)


class FakeAPI(aioresponses):
    """aioresponses with helpers to read back what was sent."""

    def add(self, url: Any, method: str = "GET", **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("response_class", _CompatResponse)
        callback = kwargs.get("callback")
        if callback is not None:
            kwargs["callback"] = _compat_callback(callback)
        super().add(url, method=method, **kwargs)

    def calls(self, method: str, url: str | URL) -> list[RequestCall]:
        """The requests sent to ``method url``, oldest first."""
        return list(self.requests.get((method.upper(), URL(url)), []))

    def all_calls(self) -> list[tuple[str, URL, RequestCall]]:
        """Every request sent, as (method, url, call)."""
        return [(method, url, call) for (method, url), calls in self.requests.items() for call in calls]

    def count(self, method: str, url: str | URL) -> int:
        """How many requests were sent to ``method url``."""
        return len(self.calls(method, url))


def _compat_callback(callback: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapped(url: URL, **kwargs: Any) -> Any:
        result = callback(url, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, CallbackResult) and result.response_class is None:
            result.response_class = _CompatResponse
        return result

    return wrapped


# --- payload builders ---------------------------------------------------------------------------------------


def task_json(task_id: str = TASK_ID, **extra: Any) -> dict[str, Any]:
    """The create answer, as observed."""
    return {
        "task_id": task_id,
        "status": "waiting",
        "created_at": "2026-01-06T00:27:41.744Z",
        "updated_at": "2026-01-06T00:27:41.744Z",
        **extra,
    }


def status_json(state: str = "waiting", *, task_id: str = TASK_ID, url: str = "", fail_msg: str = "") -> dict[str, Any]:
    """The status answer, as observed."""
    if TaskState(state).is_success and not url:
        url = RESULT_URL
    return {
        "taskId": task_id,
        "generations": [
            {
                "id": task_id,
                "createdDate": "2026-01-06T00:27:41.598Z",
                "updatedDate": "2026-01-06T00:28:16.969Z",
                "status": state,
                "failMsg": fail_msg,
                "url": url,
                "mediaType": "image",
            }
        ],
    }


def sent_json(call: RequestCall) -> Any:
    """The JSON body of a recorded request."""
    return call.kwargs["json"]


def sent_headers(call: RequestCall) -> dict[str, str]:
    """The headers of a recorded request, with lower-case names."""
    return {k.lower(): v for k, v in (call.kwargs.get("headers") or {}).items()}


async def sent_multipart(call: RequestCall) -> bytes:
    """The multipart body of a recorded request, as it would go on the wire."""
    form = call.kwargs["data"]
    assert isinstance(form, aiohttp.FormData)
    payload = form()
    body: bytes = await payload.as_bytes()
    return body

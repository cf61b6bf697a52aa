"""Property tests of the answer decoding: whatever the server sends, a parsed answer or a NanoBananaError."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
from conftest import TOKEN
from hostile import Hostile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from nanobanana import NanoBanana, NanoBananaError
from nanobanana._error_map import parse_retry_after, status_error
from nanobanana._sending import Answer, Request, _Raw, decode
from nanobanana._session import Session

BASE = URL("http://127.0.0.1:1")

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
_shapes = st.dictionaries(
    st.sampled_from(["taskId", "task_id", "generations", "status", "url", "failMsg", "createdDate", "x"]),
    _json | st.lists(st.dictionaries(st.sampled_from(["id", "status", "url", "failMsg", "mediaType"]), _json)),
)


def _session() -> Session:
    return Session(
        base_url=BASE,
        cookies={"__Secure-authjs.session-token": TOKEN},
        headers={},
        timeout=aiohttp.ClientTimeout(total=1),
        max_connections=1,
        session=None,
    )


@given(body=st.binary(max_size=2048), status=st.integers(200, 599), idempotent=st.booleans())
def test_any_bytes_decode_to_an_answer_or_a_nanobanana_error(body: bytes, status: int, idempotent: bool) -> None:
    request = Request("POST", BASE / "api", idempotent=idempotent)
    headers = CIMultiDictProxy(CIMultiDict({"Location": body.decode("latin-1")[:50]}))
    outcome: Answer | NanoBananaError
    try:
        outcome = decode(_session(), request, _Raw(status, "Reason", headers, body, {}))
    except NanoBananaError as exc:
        outcome = exc
    assert isinstance(outcome, (Answer, NanoBananaError))
    assert TOKEN not in str(outcome)


@given(text=st.text(max_size=2048), status=st.integers(400, 599))
def test_any_error_body_gives_an_api_status_error(text: str, status: int) -> None:
    error = status_error("GET", str(BASE), status, "x", {"Retry-After": text[:30]}, text + TOKEN, _session().redact)

    assert error.status_code == status
    assert TOKEN not in str(error)


@given(value=st.text(max_size=60) | st.none())
def test_any_retry_after_is_a_delay_or_none(value: str | None) -> None:
    seconds = parse_retry_after(value)

    assert seconds is None or seconds >= 0


async def _status_of(shape: Any, tmp_path: Path) -> None:
    async with Hostile() as server:
        server.switches.api_body = json.dumps(shape).encode()
        async with NanoBanana(
            session_token=TOKEN, base_url=server.url, session_file=tmp_path / "s.json", max_retries=0
        ) as nb:
            with contextlib.suppress(NanoBananaError):
                await nb.status("t")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=_shapes | _json)
def test_any_json_from_status_is_a_status_or_a_nanobanana_error(shape: Any, tmp_path: Path) -> None:
    asyncio.run(_status_of(shape, tmp_path))

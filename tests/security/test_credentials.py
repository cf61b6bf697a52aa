"""The session token stays where it belongs: refused when malformed, never in clear, never in an error."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN, client_of
from hostile import Hostile

from nanobanana import APIStatusError, GenerationFailedError, InvalidInputError, NanoBanana


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "abc\ndef", "abc; other=1"])
def test_a_token_that_would_break_the_cookie_header_is_refused(token: str) -> None:
    with pytest.raises(InvalidInputError, match="line break or ';'") as caught:
        NanoBanana(session_token=token, base_url="http://127.0.0.1:1")

    assert token not in str(caught.value)


def test_a_token_from_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANOBANANA_SESSION_TOKEN", "abc; injected=1")

    with pytest.raises(InvalidInputError):
        NanoBanana(base_url="http://127.0.0.1:1")


def test_a_cookie_with_a_line_break_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        NanoBanana(session_token=TOKEN, base_url="http://127.0.0.1:1", cookies={"cf_clearance": "a\r\nb"})


def _another_machine() -> str:
    name = socket.gethostname()
    if name in ("localhost", "") or name.endswith(".localhost"):
        pytest.skip("this machine's name is a loopback name")
    return name


def test_plain_http_to_another_machine_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="allow_insecure_http"):
        NanoBanana(session_token=TOKEN, base_url=f"http://{_another_machine()}:1")


def test_plain_http_to_another_machine_is_allowed_when_asked_for() -> None:
    client = NanoBanana(session_token=TOKEN, base_url=f"http://{_another_machine()}:1", allow_insecure_http=True)

    assert client.base_url.startswith("http://")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_plain_http_to_loopback_needs_no_opt_in(host: str) -> None:
    NanoBanana(session_token=TOKEN, base_url=f"http://{host}:1")


async def test_a_fail_message_echoing_the_cookie_is_redacted(server: Hostile, client: NanoBanana) -> None:
    server.switches.echo_cookie = True

    with pytest.raises(GenerationFailedError) as caught:
        await client.wait("t")

    assert TOKEN in server.cookies[-1]
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caught.value.fail_msg


async def test_error_headers_echoing_the_cookie_are_redacted(server: Hostile, tmp_path: Path) -> None:
    server.switches.api_status = 500
    server.switches.echo_cookie = True

    async with client_of(server, tmp_path, max_retries=0) as nb:
        with pytest.raises(APIStatusError) as caught:
            await nb.status("t")

    assert TOKEN not in caught.value.headers["X-Echo"]


def _walk(value: Any, seen: set[int], depth: int = 0) -> list[str]:
    """Every text reachable from an error: its str and repr, its attributes, its causes and contexts."""
    if id(value) in seen or depth > 6:
        return []
    seen.add(id(value))
    texts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        for linked in (value.__cause__, value.__context__):
            if linked is not None:
                texts += _walk(linked, seen, depth + 1)
    children: list[Any] = []
    if isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set)):
        children = list(value)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        children = list(vars(value).values())
    elif hasattr(value, "items"):
        children = [*value.items()]
    for child in children:
        texts += _walk(child, seen, depth + 1)
    return texts


_FAULTS: list[dict[str, Any]] = [
    {"drop_status": True},
    {"api_status": 500, "echo_cookie": True},
    {"api_status": 401},
    {"api_status": 429, "api_headers": {"Retry-After": "600"}},
    {"cloudflare": True},
    {"sign_in_redirect": True},
    {"answer_bytes": 8 * 1024 * 1024},
    {"api_body": b"<html><head></head>x</html>"},
    {"echo_cookie": True},
]


@pytest.mark.parametrize("fault", _FAULTS, ids=lambda fault: "-".join(fault))
async def test_no_raised_error_carries_the_token_anywhere(
    server: Hostile, tmp_path: Path, fault: dict[str, Any]
) -> None:
    for name, value in fault.items():
        setattr(server.switches, name, value)

    async with client_of(server, tmp_path, max_retries=1, wait_timeout=1.0) as nb:
        errors = []
        for call in (nb.status("t"), nb.create("make it night"), nb.wait("t"), nb.download(f"{server.url}/x.png")):
            try:
                await call
            except Exception as exc:  # every error is walked
                errors.append(exc)

    assert errors
    for error in errors:
        assert not [text for text in _walk(error, set()) if TOKEN in text], error

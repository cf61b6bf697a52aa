"""Errors read as true sentences and say whether sending again is worth it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import client_of
from hostile import Hostile

from nanobanana import (
    ClientClosedError,
    DownloadError,
    GenerationFailedError,
    InvalidInputError,
    NanoBananaError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)


@pytest.mark.usefixtures("sleeps")
async def test_a_rate_limit_message_says_slow_down_once(server: Hostile, tmp_path: Path) -> None:
    server.switches.api_status = 429
    server.switches.api_body = b'{"error": "Too many requests, slow down."}'

    async with client_of(server, tmp_path, max_retries=0) as nb:
        with pytest.raises(RateLimitError) as caught:
            await nb.status("t")

    assert str(caught.value).lower().count("slow down") == 1
    assert caught.value.retryable is True


@pytest.mark.usefixtures("sleeps")
@pytest.mark.parametrize(("call", "retryable"), [("status", True), ("create", False)])
async def test_a_5xx_is_retryable_for_a_status_call_but_not_for_a_create(
    server: Hostile, tmp_path: Path, call: str, retryable: bool
) -> None:
    server.switches.api_status = 500

    async with client_of(server, tmp_path, max_retries=0) as nb:
        with pytest.raises(ServerError) as caught:
            await (nb.status("t") if call == "status" else nb.create("make it night"))

    assert caught.value.retryable is retryable


def test_every_error_class_has_a_retryable_attribute() -> None:
    import nanobanana

    classes = [getattr(nanobanana, name) for name in nanobanana.__all__]
    errors = [cls for cls in classes if isinstance(cls, type) and issubclass(cls, NanoBananaError)]

    assert errors
    assert all(isinstance(cls.retryable, bool) for cls in errors)
    assert not InvalidInputError.retryable
    assert not GenerationFailedError.retryable
    assert not ClientClosedError.retryable
    assert WaitTimeoutError("t", None, 1.0).retryable


async def test_messages_end_with_one_full_stop(server: Hostile, tmp_path: Path) -> None:
    server.switches.api_status = 500
    server.switches.api_body = b'{"error": "Internal error."}'

    async with client_of(server, tmp_path, max_retries=0) as nb:
        with pytest.raises(ServerError) as caught:
            await nb.status("t")

    message = str(caught.value)
    assert ".." not in message
    assert message.endswith(".")


async def test_a_download_error_from_the_connection_names_the_url_once(server: Hostile, tmp_path: Path) -> None:
    url = "http://127.0.0.1:1/result.png"

    async with client_of(server, tmp_path, max_retries=0) as nb:
        with pytest.raises(DownloadError) as caught:
            await nb.download(url)

    assert str(caught.value).count(url) == 1
    assert "400" not in str(caught.value)

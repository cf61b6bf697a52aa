"""API answers the client cannot trust: too large, redirected to sign in, a Cloudflare page, a dropped line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import client_of
from hostile import Hostile

from nanobanana import (
    APIConnectionError,
    AuthenticationError,
    CloudflareError,
    InvalidResponseError,
    NanoBanana,
)
from nanobanana._config import MAX_ANSWER_BYTES


async def test_an_answer_over_the_cap_is_an_invalid_response(server: Hostile, client: NanoBanana) -> None:
    server.switches.answer_bytes = MAX_ANSWER_BYTES * 4

    with pytest.raises(InvalidResponseError, match="larger than"):
        await client.status("t")

    assert server.hits["status"] == 1


async def test_an_answer_redirecting_to_sign_in_is_an_authentication_error(server: Hostile, client: NanoBanana) -> None:
    server.switches.sign_in_redirect = True

    with pytest.raises(AuthenticationError) as caught:
        await client.create("make it night")

    assert "may have acted" not in str(caught.value)
    assert caught.value.retryable is False
    assert server.hits["create"] == 1


async def test_a_cloudflare_page_is_its_own_error_and_not_an_authentication_error(
    server: Hostile, client: NanoBanana
) -> None:
    server.switches.cloudflare = True

    with pytest.raises(CloudflareError) as caught:
        await client.create("make it night")

    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.status_code == 403


async def test_a_wait_rides_out_cloudflare_pages(server: Hostile, client: NanoBanana) -> None:
    server.switches.cloudflare = True

    async def lift() -> None:
        while server.hits["status"] < 3:  # noqa: ASYNC110 - the server's counter has no event
            await asyncio.sleep(0.01)
        server.switches.cloudflare = False

    lifting = asyncio.create_task(lift())
    status = await client.wait("t", timeout=10)
    await lifting

    assert status.is_done


async def test_a_create_answer_that_is_not_json_does_not_advise_trying_again(
    server: Hostile, client: NanoBanana
) -> None:
    server.switches.api_body = b'{"task_id": "abc", "sta'

    with pytest.raises(InvalidResponseError) as caught:
        await client.create("make it night")

    message = str(caught.value)
    assert "try again" not in message.lower()
    assert "may have acted" in message
    assert caught.value.retryable is False


async def test_a_dropped_answer_is_a_connection_error(server: Hostile, tmp_path: Path) -> None:
    server.switches.drop_status = True

    async with client_of(server, tmp_path, max_retries=0) as nb:
        with pytest.raises(APIConnectionError) as caught:
            await nb.status("t")

    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None

"""What the client writes (respecting the umask) and what a failed sign-in leaves (the old session)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TOKEN
from hostile import Hostile

from nanobanana import NanoBanana, ServerError


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o077)
    yield
    os.umask(old)


@pytest.mark.usefixtures("umask")
async def test_a_saved_result_respects_the_umask(server: Hostile, client: NanoBanana, tmp_path: Path) -> None:
    path = await client.download(server.result_url, tmp_path / "out.png")

    assert path.stat().st_mode & 0o777 == 0o600


async def test_a_sign_in_that_fails_on_the_way_keeps_the_old_session(server: Hostile, client: NanoBanana) -> None:
    server.switches.sign_in_status = 503

    with pytest.raises(ServerError):
        await client.login("me@example.com", "123456")

    assert client.session_token == TOKEN


def test_split_session_cookies_are_joined() -> None:
    cookies = {"__Secure-authjs.session-token.0": "first-half-", "__Secure-authjs.session-token.1": "second-half"}

    client = NanoBanana(base_url="http://127.0.0.1:1", cookies=cookies)

    assert client.session_token == "first-half-second-half"

"""Shared fixtures of the unit tests: the fake API and a signed-in client pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from unit_support import BASE, FAST_POLL, TOKEN, ClientFactory, FakeAPI

from nanobanana import NanoBanana

# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    """The fake API: register answers on it, then read back what was sent."""
    with FakeAPI() as fake:
        yield fake


@pytest.fixture
async def make_client(api: FakeAPI) -> AsyncIterator[ClientFactory]:
    """Opens clients of the fake API, signed in unless told otherwise, and closes them after the test.

    Each test module's client fixture is this with the one option its tests are about.
    """
    opened: list[NanoBanana] = []

    async def make(**options: Any) -> NanoBanana:
        options.setdefault("session_token", TOKEN)
        options.setdefault("base_url", BASE)
        client = await NanoBanana(**options).__aenter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.close()


@pytest.fixture
async def client(make_client: ClientFactory, tmp_path: Path) -> NanoBanana:
    """A signed-in client of the fake API that polls fast."""
    return await make_client(session_file=tmp_path / "session" / "session.json", poll=FAST_POLL, wait_timeout=5.0)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make ``asyncio.sleep`` instant (time only), recording every delay asked for, in order."""
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def instant(delay: float, result: Any = None) -> Any:
        asked.append(float(delay))
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", instant)
    return asked

"""Shared fixtures of the unit tests: the fake API and a signed-in client pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from unit_support import BASE, FAST_POLL, TOKEN, FakeAPI

from nanobanana import NanoBanana

# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's token, base URL or saved session."""
    monkeypatch.delenv("NANOBANANA_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("NANOBANANA_BASE_URL", raising=False)
    home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(home / "session.json"))


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    """The fake API: register answers on it, then read back what was sent."""
    with FakeAPI() as fake:
        yield fake


@pytest.fixture
async def client(api: FakeAPI, tmp_path: Path) -> AsyncIterator[NanoBanana]:
    """A signed-in client of the fake API that polls fast."""
    async with NanoBanana(
        session_token=TOKEN,
        base_url=BASE,
        session_file=tmp_path / "session" / "session.json",
        poll=FAST_POLL,
        wait_timeout=5.0,
    ) as nb:
        yield nb


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

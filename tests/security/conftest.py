"""Fixtures of the security tests: the hostile server and a client of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hostile import Hostile

from nanobanana import NanoBanana, PollPolicy

TOKEN = "sess-0123456789abcdef-SECRET-TOKEN"
FAST_POLL = PollPolicy(initial=0.01, multiplier=1.0, maximum=0.01, jitter=0.0)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's token, base URL or saved session."""
    monkeypatch.delenv("NANOBANANA_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("NANOBANANA_BASE_URL", raising=False)
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(tmp_path_factory.mktemp("config") / "session.json"))


@pytest.fixture
async def server() -> AsyncIterator[Hostile]:
    """The hostile server, every switch off."""
    async with Hostile() as hostile:
        yield hostile


def client_of(server: Hostile, tmp_path: Path, **options: Any) -> NanoBanana:
    """A signed-in client of the hostile server that polls fast."""
    defaults: dict[str, Any] = {
        "session_token": TOKEN,
        "base_url": server.url,
        "session_file": tmp_path / "session.json",
        "poll": FAST_POLL,
        "wait_timeout": 10.0,
    }
    return NanoBanana(**{**defaults, **options})


@pytest.fixture
async def client(server: Hostile, tmp_path: Path) -> AsyncIterator[NanoBanana]:
    """A signed-in client of the hostile server."""
    async with client_of(server, tmp_path) as nb:
        yield nb


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make ``asyncio.sleep`` instant (time only), recording every delay asked for."""
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def instant(delay: float, result: Any = None) -> Any:
        asked.append(float(delay))
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", instant)
    return asked

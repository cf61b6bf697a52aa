"""Shared by every test folder: it puts ``tests/`` on the import path (for `support`) and isolates each test.

No test may read the developer's token, base URL or saved session: with a token in the environment, a test
of a signed-out client would send it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from nanobanana._session import Session


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No ``NANOBANANA_*`` variable from outside, and a session file in a fresh temporary folder."""
    for name in [name for name in os.environ if name.startswith("NANOBANANA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(tmp_path_factory.mktemp("config") / "session.json"))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make ``asyncio.sleep`` and a client's sleep between polls instant, recording every delay asked for, in order."""
    asked: list[float] = []
    real_sleep = asyncio.sleep
    client_sleep = Session.sleep

    async def instant(delay: float, result: Any = None) -> Any:
        asked.append(float(delay))
        return await real_sleep(0, result)

    async def instant_between_polls(self: Session, delay: float) -> None:
        asked.append(float(delay))
        await client_sleep(self, 0)

    monkeypatch.setattr(asyncio, "sleep", instant)
    monkeypatch.setattr(Session, "sleep", instant_between_polls)
    return asked

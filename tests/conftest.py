"""Shared by every test folder: it puts ``tests/`` on the import path (for `support`) and isolates each test.

No test may read the developer's token, base URL or saved session: with a token in the environment, a test
of a signed-out client would send it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No ``NANOBANANA_*`` variable from outside, and a session file in a fresh temporary folder."""
    for name in [name for name in os.environ if name.startswith("NANOBANANA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(tmp_path_factory.mktemp("config") / "session.json"))


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

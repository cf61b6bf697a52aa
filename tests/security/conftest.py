"""Fixtures of the security tests: the hostile server and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hostile import Hostile, client_of

from nanobanana import NanoBanana


@pytest.fixture
async def server() -> AsyncIterator[Hostile]:
    """The hostile server, every switch off."""
    async with Hostile() as hostile:
        yield hostile


@pytest.fixture
async def client(server: Hostile, tmp_path: Path) -> AsyncIterator[NanoBanana]:
    """A signed-in client of the hostile server."""
    async with client_of(server, tmp_path) as nb:
        yield nb

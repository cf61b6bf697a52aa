"""Shared by the emulator's tests: a raw HTTP session signed in to the module's ``emu`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from nanobanana.emulator import Emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    """Plain aiohttp against the emulator, with a session cookie it issued: the wire as a browser sends it."""
    token = emu.issue_token("me@example.com")
    async with aiohttp.ClientSession(
        base_url=emu.url, headers={"Cookie": f"__Secure-authjs.session-token={token}"}
    ) as session:
        yield session

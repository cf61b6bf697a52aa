"""A running emulator and a signed-in client on it, with a fast poll so tests do not wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support import FAST_POLL

from nanobanana import NanoBanana
from nanobanana.emulator import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(finish_after=0.05, states=("waiting", "processing"), seed=11) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: Emulator, tmp_path: Path) -> AsyncIterator[NanoBanana]:
    async with NanoBanana(
        base_url=emu.url,
        session_token=emu.issue_token("me@example.com"),
        session_file=tmp_path / "session.json",
        poll=FAST_POLL,
        timeout=5,
    ) as nano:
        yield nano

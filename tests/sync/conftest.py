"""A signed-in blocking client on the emulator (serving from its own thread), polling fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_support import FAST_POLL

from nanobanana import SyncNanoBanana
from nanobanana.emulator import Emulator


@pytest.fixture
def client(nanobanana_emulator: Emulator, tmp_path: Path) -> Iterator[SyncNanoBanana]:
    with SyncNanoBanana(
        base_url=nanobanana_emulator.url,
        session_token=nanobanana_emulator.issue_token("me@example.com"),
        session_file=tmp_path / "session.json",
        poll=FAST_POLL,
        timeout=5,
    ) as nano:
        yield nano

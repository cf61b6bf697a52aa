"""Shared by every test folder: it puts ``tests/`` on the import path (for `support`) and isolates each test.

No test may read the developer's token, base URL or saved session: with a token in the environment, a test
of a signed-out client would send it.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No ``NANOBANANA_*`` variable from outside, and a session file in a fresh temporary folder."""
    for name in [name for name in os.environ if name.startswith("NANOBANANA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(tmp_path_factory.mktemp("config") / "session.json"))

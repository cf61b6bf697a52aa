"""Fixtures of the batch-at-scale tests: an isolated environment (no developer token or saved session)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.delenv("NANOBANANA_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("NANOBANANA_BASE_URL", raising=False)
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(tmp_path_factory.mktemp("config") / "session.json"))

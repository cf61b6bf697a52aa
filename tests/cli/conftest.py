"""Fixtures of the command-line tests: the sandboxed command and the package's emulator fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import CLI

from nanobanana.emulator import Emulator


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    """The command line, sandboxed in the test's tmp_path."""
    return CLI(tmp_path)


@pytest.fixture
def emu(nanobanana_emulator: Emulator, cli: CLI) -> Emulator:
    """The package's emulator fixture (knobs from ``@pytest.mark.nanobanana_emulator``), with ``cli`` signed in."""
    cli.use(nanobanana_emulator)
    return nanobanana_emulator

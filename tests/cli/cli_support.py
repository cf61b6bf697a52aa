"""Helpers of the command-line tests: the real ``nanobanana`` command, in a subprocess, in a sandbox.

Every run gets its own HOME, XDG_CONFIG_HOME and NANOBANANA_SESSION_FILE under the test's tmp_path, and none of
the developer's NANOBANANA_* variables, so no test reads or writes a real configuration or session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nanobanana.emulator import Emulator

EMAIL = "me@example.com"


@dataclass(frozen=True)
class Run:
    """A finished run of the command."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> list[dict[str, Any]]:
        """stdout as JSON lines; fails the test if any line is not JSON."""
        return [json.loads(line) for line in self.out.splitlines()]

    def one_json(self) -> dict[str, Any]:
        """The single JSON object on stdout."""
        (record,) = self.json()
        return record

    def error_line(self) -> str:
        """The error of an expected failure: one line, the last on stderr, with no traceback.

        Progress notes (such as "Created task ...") may come before it; no other line is an error.
        """
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert lines, "nothing on stderr"
        assert lines[-1].startswith("error: "), f"the last line on stderr is not the error:\n{self.err}"
        assert not any("error" in line.lower() for line in lines[:-1]), f"more than one error line:\n{self.err}"
        return lines[-1]

    def __str__(self) -> str:
        return f"nanobanana {' '.join(self.args)} -> {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


class CLI:
    """Runs ``python -m nanobanana`` (the same entry point as the ``nanobanana`` script) in a sandbox."""

    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        home = tmp_path / "home"
        home.mkdir()
        self.session_file = home / ".config" / "nanobanana" / "session.json"
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("NANOBANANA_") and name not in ("FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS")
        }
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            NANOBANANA_SESSION_FILE=str(self.session_file),
            PYTHONWARNINGS="always::ResourceWarning",
        )

    def use(self, emu: Emulator, *, email: str | None = EMAIL) -> str | None:
        """Point later runs at ``emu``, signed in as ``email`` (None: signed out); returns the token."""
        self.env["NANOBANANA_BASE_URL"] = emu.url
        self.env.pop("NANOBANANA_SESSION_TOKEN", None)
        if email is None:
            return None
        token = emu.issue_token(email)
        self.env["NANOBANANA_SESSION_TOKEN"] = token
        return token

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "nanobanana", *args]

    def run(self, *args: str, input: str | None = None, timeout: float = 30) -> Run:
        done = subprocess.run(
            self.command(*args),
            cwd=self.cwd,
            env=self.env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return checked(Run(tuple(args), done.returncode, done.stdout, done.stderr))

    def popen(self, *args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            cwd=self.cwd,
            env=self.env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def finish(process: subprocess.Popen[str], *args: str, timeout: float = 30) -> Run:
    """Wait for a Popen'ed run and collect it."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the command did not finish in {timeout}s:\n{out}\n{err}")
    return checked(Run(tuple(args), process.returncode, out, err))


def checked(run: Run) -> Run:
    """Every run, whatever its outcome, closes what it opens (ResourceWarnings are shown, see `CLI`)."""
    assert "ResourceWarning" not in run.err, run
    return run


def interrupt(process: subprocess.Popen[str]) -> None:
    """Press Ctrl-C in the command."""
    process.send_signal(signal.SIGINT)

"""``NANOBANANA_LOG`` switches the SDK's logging on, to stderr, without code, and with the usual redaction."""

from __future__ import annotations

import os
import subprocess
import sys

from nanobanana.emulator import Emulator, Fault

SCRIPT = """
import asyncio, sys
from nanobanana import DownloadError, NanoBanana

async def main():
    async with NanoBanana(base_url=sys.argv[1], session_token=sys.argv[2]) as client:
        await client.create("make it night", image_urls=[sys.argv[3]])
        try:
            await client.download(sys.argv[4])
        except DownloadError:
            pass

asyncio.run(main())
"""


def run_logged(emulator: Emulator, token: str, level: str | None) -> str:
    """Run a create and a download in a fresh interpreter with ``NANOBANANA_LOG=level``; return its stderr."""
    url = emulator.add_file("/results/signed.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    env = {k: v for k, v in os.environ.items() if k != "NANOBANANA_LOG"}
    if level is not None:
        env["NANOBANANA_LOG"] = level
    args = [emulator.url, token, emulator.sample_urls[0], f"{url}?sig=SIGNATURE-1234"]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stderr


def test_info_logs_created_tasks_to_stderr(nanobanana_emulator: Emulator) -> None:
    stderr = run_logged(nanobanana_emulator, nanobanana_emulator.issue_token(), "info")

    assert "nanobanana INFO Created task" in stderr
    assert "DEBUG" not in stderr


def test_debug_logs_every_request_without_the_token_or_a_signed_query(nanobanana_emulator: Emulator) -> None:
    token = nanobanana_emulator.issue_token()
    nanobanana_emulator.faults.script("download", Fault.drop(), times=8)

    stderr = run_logged(nanobanana_emulator, token, "debug")

    assert "nanobanana DEBUG POST /api/image-generation-nano-banana/create -> 200" in stderr
    assert "signed.png?[redacted]" in stderr  # the retry's log line names the download's URL
    assert token not in stderr
    assert "SIGNATURE-1234" not in stderr


def test_nothing_is_logged_when_it_is_unset(nanobanana_emulator: Emulator) -> None:
    assert run_logged(nanobanana_emulator, nanobanana_emulator.issue_token(), None) == ""

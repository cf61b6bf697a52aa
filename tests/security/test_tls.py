"""A TLS certificate the client refuses is never retried."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import client_of
from hostile import Hostile

from nanobanana import APIConnectionError


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[Hostile]:
    """The hostile server over https, with a self-signed certificate no client trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    await asyncio.to_thread(
        subprocess.run, [*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    async with Hostile(tls=context) as server:
        yield server


async def test_a_refused_certificate_is_not_retried(
    tls_server: Hostile, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nanobanana")

    async with client_of(tls_server, tmp_path, max_retries=3) as nb:
        with pytest.raises(APIConnectionError, match="TLS") as caught:
            await nb.status("t")

    assert caught.value.retryable is False
    assert caught.value.request_sent is False
    assert "Retrying" not in caplog.text

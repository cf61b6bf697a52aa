"""Signing in by e-mail code against the emulator, and the saved session."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nanobanana import AuthenticationError, NanoBanana
from nanobanana.emulator import Emulator


async def test_email_code_sign_in_then_saved_session(emu: Emulator, tmp_path: Path) -> None:
    session_file = tmp_path / "config" / "session.json"
    async with NanoBanana(base_url=emu.url, session_file=session_file) as client:
        assert await client.whoami() is None
        await client.send_login_code("me@example.com")
        session = await client.login("me@example.com", emu.login_codes["me@example.com"], save=True)
        assert session.user.email == "me@example.com"
        token = client.session_token
        assert token is not None
        assert token not in repr(client)
        await client.create("signed in")
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert token not in session_file.parent.name
    async with NanoBanana(base_url=emu.url, session_file=session_file) as later:
        who = await later.whoami()
        assert who is not None
        assert who.user.email == "me@example.com"
        await later.logout()
        assert await later.whoami() is None
    assert not session_file.exists()


async def test_a_wrong_code_is_refused(emu: Emulator, tmp_path: Path) -> None:
    async with NanoBanana(base_url=emu.url, session_file=tmp_path / "s.json") as client:
        await client.send_login_code("me@example.com")
        wrong = "000000" if emu.login_codes["me@example.com"] != "000000" else "111111"
        with pytest.raises(AuthenticationError, match="not accepted"):
            await client.login("me@example.com", wrong)
        assert client.session_token is None


async def test_a_saved_session_is_for_its_own_host_only(emu: Emulator, tmp_path: Path) -> None:
    session_file = tmp_path / "session.json"
    async with NanoBanana(base_url=emu.url, session_token=emu.issue_token(), session_file=session_file) as client:
        client.save_session()
    async with NanoBanana(base_url="http://127.0.0.1:9", session_file=session_file) as elsewhere:
        assert elsewhere.session_token is None


async def test_a_wrong_code_does_not_sign_out_a_signed_in_client(emu: Emulator, tmp_path: Path) -> None:
    token = emu.issue_token("me@example.com")
    async with NanoBanana(base_url=emu.url, session_token=token, session_file=tmp_path / "s.json") as client:
        await client.send_login_code("other@example.com")
        wrong = "000000" if emu.login_codes["other@example.com"] != "000000" else "111111"
        with pytest.raises(AuthenticationError):
            await client.login("other@example.com", wrong)
        assert client.session_token == token
        assert (await client.whoami()) is not None

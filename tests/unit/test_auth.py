"""Signing in, the saved session, signing out, and keeping the token secret."""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict
from unit_support import (
    BASE,
    CALLBACK,
    CREATE,
    CSRF,
    PNG,
    RESULT_URL,
    SEND_CODE,
    SESSION,
    SIGNOUT,
    STATUS,
    TASK_ID,
    TOKEN,
    UPLOAD,
    ClientFactory,
    FakeAPI,
    sent_headers,
    sent_json,
    status_json,
)
from yarl import URL

from nanobanana import (
    AuthenticationError,
    InvalidInputError,
    InvalidResponseError,
    NanoBanana,
    NanoBananaError,
    SessionInfo,
)

EMAIL = "me@example.com"
NEW_TOKEN = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..fresh-session-token"
CSRF_TOKEN = "b7f1c3e2d4a5968778695a4b3c2d1e0f"
CSRF_COOKIE = f"__Host-authjs.csrf-token={CSRF_TOKEN}%7Chash0123456789; Path=/; HttpOnly; Secure; SameSite=Lax"
USER = {"user": {"name": "Me", "email": EMAIL, "image": None}, "expires": "2026-02-05T00:27:41.744Z"}


def serve_csrf(api: FakeAPI) -> None:
    api.get(CSRF, payload={"csrfToken": CSRF_TOKEN}, headers={"Set-Cookie": CSRF_COOKIE})


def serve_sign_in(api: FakeAPI, *, token: str = NEW_TOKEN) -> None:
    serve_csrf(api)
    cookie = f"__Secure-authjs.session-token={token}; Path=/; Expires=Thu, 05 Feb 2099 00:27:41 GMT; HttpOnly; Secure"
    api.post(CALLBACK, status=302, headers=CIMultiDict({"Location": f"{BASE}/", "Set-Cookie": cookie}))
    api.get(SESSION, payload=USER)


def saved(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def permissions(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def exists(path: Path) -> bool:
    return path.exists()


@pytest.fixture
def session_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "nanobanana" / "session.json"


@pytest.fixture
async def signed_out(make_client: ClientFactory, session_file: Path) -> NanoBanana:
    return await make_client(session_token=None, session_file=session_file)


@pytest.fixture
async def signed_in(make_client: ClientFactory, session_file: Path) -> NanoBanana:
    return await make_client(session_file=session_file, max_retries=1)


# --- asking for a code --------------------------------------------------------------------------------------


async def test_send_login_code_gets_a_csrf_token_then_posts_the_email(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_csrf(api)
    api.post(SEND_CODE, payload={"code": 0, "message": "Verification code sent"})

    await signed_out.send_login_code(EMAIL)

    assert list(api.requests) == [("GET", URL(CSRF)), ("POST", URL(SEND_CODE))]
    assert sent_json(api.calls("POST", SEND_CODE)[0]) == {"email": EMAIL}


async def test_send_login_code_refused_is_an_authentication_error(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_csrf(api)
    api.post(SEND_CODE, payload={"code": 1, "message": "Too many codes requested"})

    with pytest.raises(AuthenticationError, match="Too many codes requested"):
        await signed_out.send_login_code(EMAIL)


@pytest.mark.parametrize("email", ["", "me", "me@localhost", "@example.com", "me @example.com"])
async def test_send_login_code_needs_an_email_address(api: FakeAPI, signed_out: NanoBanana, email: str) -> None:
    with pytest.raises(InvalidInputError):
        await signed_out.send_login_code(email)

    assert api.requests == {}


# --- signing in ---------------------------------------------------------------------------------------------


async def test_login_follows_the_auth_js_sequence(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_sign_in(api)

    session = await signed_out.login(EMAIL, "123456")

    assert list(api.requests) == [("GET", URL(CSRF)), ("POST", URL(CALLBACK)), ("GET", URL(SESSION))]
    [callback] = api.calls("POST", CALLBACK)
    assert callback.kwargs["data"] == {"csrfToken": CSRF_TOKEN, "email": EMAIL, "code": "123456", "json": "true"}
    assert callback.kwargs["json"] is None
    assert callback.kwargs["allow_redirects"] is False
    assert isinstance(session, SessionInfo)
    assert session.user.email == EMAIL


async def test_login_sends_the_csrf_cookie_back(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_sign_in(api)

    await signed_out.login(EMAIL, "123456")

    cookie = sent_headers(api.calls("POST", CALLBACK)[0])["cookie"]
    assert f"__Host-authjs.csrf-token={CSRF_TOKEN}%7Chash0123456789" in cookie


async def test_login_picks_up_the_session_cookie(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_sign_in(api)

    await signed_out.login(EMAIL, "123456")

    assert signed_out.session_token == NEW_TOKEN
    assert f"__Secure-authjs.session-token={NEW_TOKEN}" in sent_headers(api.calls("GET", SESSION)[0])["cookie"]
    assert "signed_in=True" in repr(signed_out)


async def test_login_does_not_follow_the_redirect(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_sign_in(api)

    await signed_out.login(EMAIL, "123456")

    assert ("GET", URL(f"{BASE}/")) not in api.requests


async def test_a_wrong_code_is_an_authentication_error(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_csrf(api)
    api.post(CALLBACK, status=302, headers={"Location": f"{BASE}/api/auth/error?error=Verification"})

    with pytest.raises(AuthenticationError, match="send_login_code"):
        await signed_out.login(EMAIL, "000000")

    assert signed_out.session_token is None
    assert ("GET", URL(SESSION)) not in api.requests


async def test_a_cookie_the_site_does_not_recognise_is_refused(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_csrf(api)
    cookie = f"__Secure-authjs.session-token={NEW_TOKEN}; Path=/"
    api.post(CALLBACK, status=302, headers=CIMultiDict({"Location": f"{BASE}/", "Set-Cookie": cookie}))
    api.get(SESSION, payload={})

    with pytest.raises(AuthenticationError, match="does not recognise"):
        await signed_out.login(EMAIL, "123456")

    assert signed_out.session_token is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "one"])
async def test_login_needs_the_six_digits(api: FakeAPI, signed_out: NanoBanana, code: str) -> None:
    with pytest.raises(InvalidInputError, match="6 digits"):
        await signed_out.login(EMAIL, code)

    assert api.requests == {}


async def test_login_with_save_writes_the_session_file(
    api: FakeAPI, signed_out: NanoBanana, session_file: Path
) -> None:
    serve_sign_in(api)

    await signed_out.login(EMAIL, " 123456 ", save=True)

    assert saved(session_file)["session_token"] == NEW_TOKEN
    assert saved(session_file)["base_url"] == BASE
    assert saved(session_file)["email"] == EMAIL


# --- the session file ---------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
async def test_the_session_file_is_readable_by_its_owner_only(signed_in: NanoBanana, session_file: Path) -> None:
    written = signed_in.save_session()

    assert written == session_file
    assert permissions(session_file) == 0o600
    assert [p.name for p in session_file.parent.iterdir()] == ["session.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o077])
async def test_folders_made_for_the_session_file_follow_the_umask(
    signed_in: NanoBanana, tmp_path: Path, umask: int
) -> None:
    target = tmp_path / "made" / "for" / "it" / "session.json"
    previous = os.umask(umask)
    try:
        signed_in.save_session(target)
    finally:
        os.umask(previous)

    assert {permissions(folder) for folder in (target.parent, target.parent.parent)} == {0o777 & ~umask}
    assert permissions(target) == 0o600


async def test_a_new_client_reads_the_saved_session(api: FakeAPI, signed_in: NanoBanana, session_file: Path) -> None:
    signed_in.save_session(email=EMAIL)
    api.post(STATUS, payload=status_json())

    async with NanoBanana(base_url=BASE, session_file=session_file) as later:
        assert later.session_token == TOKEN
        await later.status(TASK_ID)

    assert TOKEN in sent_headers(api.calls("POST", STATUS)[0])["cookie"]


async def test_a_saved_session_is_used_for_its_own_host_only(signed_in: NanoBanana, session_file: Path) -> None:
    signed_in.save_session()

    async with NanoBanana(base_url="http://127.0.0.1:8000", session_file=session_file) as other:
        assert other.session_token is None
        assert "signed_in=False" in repr(other)


async def test_the_session_file_comes_from_the_environment(
    signed_in: NanoBanana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "elsewhere" / "s.json"
    signed_in.save_session(path)
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(path))

    async with NanoBanana(base_url=BASE) as later:
        assert later.session_file == path
        assert later.session_token == TOKEN


async def test_save_session_without_a_session_is_refused(signed_out: NanoBanana, session_file: Path) -> None:
    with pytest.raises(InvalidInputError, match="sign in first"):
        signed_out.save_session()

    assert not exists(session_file)


@pytest.fixture
def corrupt_session_file(session_file: Path) -> Path:
    session_file.parent.mkdir(parents=True)
    session_file.write_text("{not json", encoding="utf-8")
    return session_file


async def test_a_corrupt_session_file_is_ignored(corrupt_session_file: Path) -> None:
    session_file = corrupt_session_file

    async with NanoBanana(base_url=BASE, session_file=session_file) as client:
        assert client.session_token is None


# --- who and sign out ---------------------------------------------------------------------------------------


async def test_whoami_reads_the_session(api: FakeAPI, signed_in: NanoBanana) -> None:
    api.get(SESSION, payload=USER)

    who = await signed_in.whoami()

    assert who is not None
    assert who.user.email == EMAIL
    assert who.expires is not None


async def test_whoami_of_an_expired_session_is_none(api: FakeAPI, signed_in: NanoBanana) -> None:
    api.get(SESSION, payload={})

    assert await signed_in.whoami() is None


async def test_whoami_signed_out_sends_nothing(api: FakeAPI, signed_out: NanoBanana) -> None:
    assert await signed_out.whoami() is None
    assert api.requests == {}


async def test_logout_ends_the_session_and_deletes_the_saved_one(
    api: FakeAPI, signed_in: NanoBanana, session_file: Path
) -> None:
    signed_in.save_session()
    serve_csrf(api)
    api.post(SIGNOUT, status=302, headers={"Location": f"{BASE}/"})

    await signed_in.logout()

    assert api.calls("POST", SIGNOUT)[0].kwargs["data"] == {"csrfToken": CSRF_TOKEN, "json": "true"}
    assert signed_in.session_token is None
    assert not exists(session_file)


async def test_logout_can_keep_the_saved_session(api: FakeAPI, signed_in: NanoBanana, session_file: Path) -> None:
    signed_in.save_session()
    serve_csrf(api)
    api.post(SIGNOUT, status=302, headers={"Location": f"{BASE}/"})

    await signed_in.logout(forget_saved=False)

    assert signed_in.session_token is None
    assert exists(session_file)


@pytest.mark.usefixtures("sleeps")
async def test_logout_forgets_the_session_even_when_the_server_fails(
    api: FakeAPI, signed_in: NanoBanana, session_file: Path
) -> None:
    signed_in.save_session()
    api.get(CSRF, status=503, repeat=True)

    with pytest.raises(NanoBananaError):
        await signed_in.logout()

    assert signed_in.session_token is None
    assert not exists(session_file)


async def test_a_cookie_expired_by_the_server_signs_the_client_out(api: FakeAPI, signed_in: NanoBanana) -> None:
    expired = "__Secure-authjs.session-token=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    api.get(SESSION, payload={}, headers={"Set-Cookie": expired})

    assert await signed_in.whoami() is None
    assert signed_in.session_token is None


# --- the token stays secret ---------------------------------------------------------------------------------


async def test_the_token_is_never_in_the_client_repr(signed_in: NanoBanana) -> None:
    assert TOKEN not in repr(signed_in)
    assert TOKEN not in str(signed_in)


@pytest.mark.usefixtures("sleeps")
async def test_the_token_is_never_in_an_error(api: FakeAPI, signed_in: NanoBanana) -> None:
    echo = f"your cookie __Secure-authjs.session-token={TOKEN} is invalid"
    api.post(STATUS, status=401, payload={"error": echo})
    api.post(STATUS, status=400, body=echo, content_type="text/plain")
    api.post(STATUS, status=200, body=f"<html><head></head><body>{echo}</body></html>", content_type="text/html")
    api.post(STATUS, status=200, body=f'{{"oops": "{echo}"', content_type="application/json")
    api.post(CREATE, payload={"detail": echo})
    api.post(UPLOAD, payload={"error": echo})
    api.post(STATUS, status=503, payload={"message": echo}, repeat=True)
    api.get(RESULT_URL, status=403, body=echo, content_type="text/plain")

    errors: list[NanoBananaError] = []
    for call in [
        *(lambda: signed_in.status(TASK_ID) for _ in range(4)),
        lambda: signed_in.create("make it night"),
        lambda: signed_in.upload(PNG),
        lambda: signed_in.status(TASK_ID),
        lambda: signed_in.wait(TASK_ID, timeout=0.01),
        lambda: signed_in.download(RESULT_URL),
    ]:
        with pytest.raises(NanoBananaError) as caught:
            await call()
        errors.append(caught.value)

    assert len(errors) == 9
    for err in errors:
        everything = " ".join([str(err), repr(err), repr(vars(err)), str(err.__cause__), str(err.__context__)])
        assert TOKEN not in everything, type(err).__name__


@pytest.mark.usefixtures("sleeps")
async def test_the_token_is_never_logged(
    api: FakeAPI, signed_out: NanoBanana, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    serve_sign_in(api)
    api.post(STATUS, status=429, payload={"error": f"cookie {NEW_TOKEN} throttled"})
    api.post(STATUS, payload=status_json("succeed"))
    api.post(CREATE, status=400, payload={"error": f"bad cookie {NEW_TOKEN}"})

    await signed_out.login(EMAIL, "123456", save=True)
    await signed_out.wait(TASK_ID)
    with pytest.raises(NanoBananaError):
        await signed_out.create("make it night")
    signed_out.save_session()

    assert caplog.records
    for record in caplog.records:
        assert NEW_TOKEN not in record.getMessage()
        assert NEW_TOKEN not in repr(record.args)


async def test_the_token_is_never_sent_to_the_file_host_after_login(api: FakeAPI, signed_out: NanoBanana) -> None:
    serve_sign_in(api)
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    await signed_out.login(EMAIL, "123456")
    await signed_out.download(RESULT_URL)

    assert "cookie" not in sent_headers(api.calls("GET", RESULT_URL)[0])


async def test_a_cookie_of_the_caller_session_is_not_needed(api: FakeAPI) -> None:
    # The token travels in our own Cookie header, so a caller's session with its own jar works the same.
    api.post(STATUS, payload=status_json())
    async with (
        aiohttp.ClientSession() as session,
        NanoBanana(base_url=BASE, session_token=TOKEN, session=session) as client,
    ):
        await client.status(TASK_ID)

    assert TOKEN in sent_headers(api.calls("POST", STATUS)[0])["cookie"]


# --- answers the sign-in does not expect, and the session file on disk -----------------------------------------


async def test_a_csrf_answer_without_a_token_is_an_invalid_response(api: FakeAPI, signed_out: NanoBanana) -> None:
    api.get(CSRF, payload={"something": "else"})

    with pytest.raises(InvalidResponseError, match="csrf"):
        await signed_out.send_login_code(EMAIL)

    assert api.count("POST", SEND_CODE) == 0


async def test_a_send_code_answer_that_is_not_an_object_says_no_code_was_sent(
    api: FakeAPI, signed_out: NanoBanana
) -> None:
    serve_csrf(api)
    api.post(SEND_CODE, payload=["not", "an", "object"])

    with pytest.raises(AuthenticationError, match=f"did not send a code to {EMAIL}"):
        await signed_out.send_login_code(EMAIL)


async def test_logout_while_signed_out_sends_nothing(api: FakeAPI, signed_out: NanoBanana) -> None:
    await signed_out.logout()

    assert api.requests == {}
    assert signed_out.session_token is None


async def test_a_session_file_others_can_read_is_used_with_a_warning(
    signed_in: NanoBanana, session_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    signed_in.save_session()
    session_file.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="nanobanana"):
        async with NanoBanana(base_url=BASE, session_file=session_file) as client:
            assert client.session_token == TOKEN

    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "readable by others" in warning
    assert f"chmod 600 {session_file}" in warning
    assert TOKEN not in caplog.text


async def test_a_malformed_session_file_is_ignored_with_a_warning(
    session_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session_file.parent.mkdir(parents=True)
    session_file.write_text('{"session_token": "tok', encoding="utf-8")
    session_file.chmod(0o600)

    with caplog.at_level(logging.WARNING, logger="nanobanana"):
        async with NanoBanana(base_url=BASE, session_file=session_file) as client:
            assert client.session_token is None

    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"Ignoring the saved session at {session_file}")


async def test_a_save_that_fails_part_way_leaves_no_temporary_file_and_the_old_session(
    signed_in: NanoBanana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "session.json"
    target.write_text('{"session_token": "the older session"}', encoding="utf-8")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)  # the temporary file is written, then the disk refuses it

    with pytest.raises(InvalidInputError, match=r"cannot save the session to .*No space left on device"):
        signed_in.save_session(target)

    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]  # no temporary file left
    assert target.read_text(encoding="utf-8") == '{"session_token": "the older session"}'


@pytest.mark.parametrize("content", ['["a list"]', '{"session_token": 42}'], ids=["list", "wrong-type"])
async def test_a_session_file_of_the_wrong_shape_is_ignored(session_file: Path, content: str) -> None:
    session_file.parent.mkdir(parents=True)
    session_file.write_text(content, encoding="utf-8")
    session_file.chmod(0o600)

    async with NanoBanana(base_url=BASE, session_file=session_file) as client:
        assert client.session_token is None


async def test_saving_onto_a_folder_is_a_nanobanana_error_and_leaves_it_alone(
    signed_in: NanoBanana, tmp_path: Path
) -> None:
    target = tmp_path / "session.json"
    target.mkdir()
    (target / "inside").write_text("x")

    with pytest.raises(NanoBananaError, match="session"):
        signed_in.save_session(target)

    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]  # no temporary file left
    assert [p.name for p in target.iterdir()] == ["inside"]


async def test_a_cookie_expired_by_its_expires_date_alone_signs_the_client_out(
    api: FakeAPI, signed_in: NanoBanana
) -> None:
    expired = "__Secure-authjs.session-token=gone; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure"
    api.get(SESSION, payload={}, headers={"Set-Cookie": expired})

    assert await signed_in.whoami() is None
    assert signed_in.session_token is None

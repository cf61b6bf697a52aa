"""Signing in to the emulator with clients that are not ours: a cookie jar that follows the prefix rules.

Browsers (and JavaScript's tough-cookie) drop a ``__Secure-`` cookie not set with ``Secure`` from https, and a
``__Host-`` cookie that also has a Domain or a Path other than ``/``. The standard library's jar does not apply
these rules, so `PrefixRules` adds them: a sign-in that passes here passes in a browser's jar.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
import urllib.response
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from nanobanana import NanoBanana
from nanobanana.emulator import Emulator

EMAIL = "me@example.com"


class PrefixRules(http.cookiejar.DefaultCookiePolicy):
    """The standard policy plus the cookie-prefix rules of RFC 6265bis, as browsers apply them."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        https = request.type == "https"
        if cookie.name.startswith(("__Secure-", "__Host-")) and not (cookie.secure and https):
            return False
        if cookie.name.startswith("__Host-") and (cookie.domain_specified or cookie.path != "/"):
            return False
        return bool(super().set_ok(cookie, request))


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Auth.js answers the callback with a redirect whose Location and cookies are the answer."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def strict_browser(context: ssl.SSLContext | None = None) -> tuple[urllib.request.OpenerDirector, Any]:
    jar = http.cookiejar.CookieJar(PrefixRules())
    handlers: list[Any] = [urllib.request.HTTPCookieProcessor(jar), NoRedirects()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers), jar


def sign_in(emu: Emulator, opener: urllib.request.OpenerDirector) -> dict[str, Any]:
    """Walk the e-mail sign-in as a web page would, then read the session."""
    with opener.open(emu.url + "/api/auth/csrf") as answer:
        csrf = json.load(answer)["csrfToken"]
    send = urllib.request.Request(
        emu.url + "/api/auth/email-verification",
        data=json.dumps({"email": EMAIL}).encode(),
        headers={"Content-Type": "application/json"},
    )
    opener.open(send).close()
    form = {"csrfToken": csrf, "email": EMAIL, "code": emu.login_codes[EMAIL], "json": "true"}
    callback = emu.url + "/api/auth/callback/email-verification"
    with pytest.raises(urllib.error.HTTPError) as redirect:  # the 302, not followed
        opener.open(callback, urllib.parse.urlencode(form).encode())
    redirect.value.close()
    assert redirect.value.code == 302
    assert "error=" not in redirect.value.headers["Location"]
    with opener.open(emu.url + "/api/auth/session") as answer:
        session: dict[str, Any] = json.load(answer)
    return session


def test_a_strict_cookie_jar_signs_in_over_http() -> None:
    with Emulator(finish_after=0).run_in_thread() as emu:
        opener, jar = strict_browser()

        session = sign_in(emu, opener)

    assert session["user"]["email"] == EMAIL
    assert {cookie.name for cookie in jar} == {"authjs.csrf-token", "authjs.session-token"}
    assert not any(cookie.secure for cookie in jar)


def test_a_strict_cookie_jar_signs_in_over_https_with_the_prefixed_names() -> None:
    with Emulator(finish_after=0, https=True).run_in_thread() as emu:
        opener, jar = strict_browser(emu.client_ssl_context())

        session = sign_in(emu, opener)
        assert emu.url.startswith("https://")

    assert session["user"]["email"] == EMAIL
    assert {cookie.name for cookie in jar} == {"__Host-authjs.csrf-token", "__Secure-authjs.session-token"}
    assert all(cookie.secure for cookie in jar)


def test_the_prefix_rules_would_refuse_the_secure_names_over_http() -> None:
    """The jar of these tests is strict indeed: the https names, sent over http, are dropped."""
    jar = http.cookiejar.CookieJar(PrefixRules())
    request = urllib.request.Request("http://127.0.0.1/api/auth/csrf")
    headers = http.client.HTTPMessage()
    headers["Set-Cookie"] = "__Host-authjs.csrf-token=abc; Path=/; HttpOnly; SameSite=Lax"

    jar.extract_cookies(urllib.response.addinfourl(None, headers, request.full_url), request)  # type: ignore[arg-type]

    assert len(jar) == 0


async def test_a_browser_like_client_signs_in_over_http() -> None:
    async with (
        Emulator(finish_after=0) as emu,
        aiohttp.ClientSession(base_url=emu.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser,
    ):
        async with browser.get("/api/auth/csrf") as answer:
            csrf = (await answer.json())["csrfToken"]
        (await browser.post("/api/auth/email-verification", json={"email": EMAIL})).release()
        form = {"csrfToken": csrf, "email": EMAIL, "code": emu.login_codes[EMAIL], "json": "true"}
        (await browser.post("/api/auth/callback/email-verification", data=form, allow_redirects=False)).release()
        async with browser.get("/api/auth/session") as answer:
            assert (await answer.json())["user"]["email"] == EMAIL


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
async def test_the_sdk_signs_in_with_either_cookie_name(https: bool, tmp_path: Path) -> None:
    async with Emulator(finish_after=0, https=https) as emu:
        connector = aiohttp.TCPConnector(ssl=emu.client_ssl_context() if https else True)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            NanoBanana(base_url=emu.url, session=session, session_file=tmp_path / "session.json") as client,
        ):
            await client.send_login_code(EMAIL)
            await client.login(EMAIL, emu.login_codes[EMAIL], save=True)
            who = await client.whoami()
            task = await client.create("a banana", image_urls=emu.sample_urls[:1])

    assert who is not None
    assert who.user.email == EMAIL
    assert task.task_id in emu.tasks

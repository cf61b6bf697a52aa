"""Signing in by e-mail code, the way the website does it (Auth.js).

1. ``GET /api/auth/csrf`` gives a CSRF token and sets its cookie.
2. ``POST /api/auth/email-verification`` with the e-mail sends a 6-digit code (``{"code": 0}`` means sent).
3. ``POST /api/auth/callback/email-verification``, form-encoded, exchanges the code for the session cookie
   (the answer is a redirect, which is not followed).
4. ``GET /api/auth/session`` confirms who is signed in.
"""

from __future__ import annotations

import logging

from ._exceptions import AuthenticationError, InvalidInputError
from ._transport import Transport
from .types import SessionInfo

logger = logging.getLogger("nanobanana")

_AUTH = "/api/auth"


def _check_email(email: str) -> str:
    email = email.strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        raise InvalidInputError(f"not an e-mail address: {email!r}")
    return email


def _check_code(code: str) -> str:
    code = code.strip()
    if not code.isdigit() or len(code) != 6:
        raise InvalidInputError("the sign-in code is the 6 digits from the e-mail")
    return code


async def _csrf_token(transport: Transport) -> str:
    answer = await transport.request("GET", f"{_AUTH}/csrf", idempotent=True)
    token = answer.data.get("csrfToken") if isinstance(answer.data, dict) else None
    if not isinstance(token, str) or not token:
        transport.invalid_shape("GET", f"{_AUTH}/csrf", answer.status, answer.data, "no csrfToken")
    return token


async def send_login_code(transport: Transport, email: str) -> None:
    """Ask the site to e-mail a sign-in code to ``email``."""
    email = _check_email(email)
    await _csrf_token(transport)
    path = f"{_AUTH}/email-verification"
    answer = await transport.request("POST", path, json_body={"email": email}, idempotent=False)
    data = answer.data
    if not isinstance(data, dict) or data.get("code") != 0:
        message = data.get("message") if isinstance(data, dict) else None
        raise AuthenticationError(
            f"The site did not send a code to {email}: {message or data!r}.",
            method="POST",
            url=str(transport.url(path)),
            status_code=answer.status,
            body=data,
            headers=answer.headers,
        )
    logger.info("Sign-in code sent to %s", email)


async def login(transport: Transport, email: str, code: str) -> SessionInfo:
    """Exchange an e-mailed code for a session; the transport then carries the new session cookie."""
    email, code = _check_email(email), _check_code(code)
    csrf = await _csrf_token(transport)
    previous, transport.session_token = transport.session_token, None
    path = f"{_AUTH}/callback/email-verification"
    try:
        answer = await transport.request(
            "POST",
            path,
            form={"csrfToken": csrf, "email": email, "code": code, "json": "true"},
            idempotent=False,
            expect_redirect=True,
        )
    except BaseException:
        # A sign-in that failed on the way (5xx, network) must not sign out a client that was signed in.
        transport.session_token = previous
        raise
    location = answer.headers.get("Location", "")
    if transport.session_token is None or "error=" in location:
        # A wrong code must not sign out a client that was signed in.
        transport.session_token = previous
        raise AuthenticationError(
            "The sign-in code was not accepted: it may be wrong, used or expired. "
            "Ask for a new one with `send_login_code`.",
            method="POST",
            url=str(transport.url(path)),
            status_code=answer.status,
            body=location,
            headers=answer.headers,
        )
    session = await whoami(transport)
    if session is None:
        transport.session_token = previous
        raise AuthenticationError(
            "The site set a session cookie but does not recognise it; try signing in again.",
            method="GET",
            url=str(transport.url(f"{_AUTH}/session")),
            status_code=200,
            body={},
            headers={},
        )
    logger.info("Signed in as %s", session.user.email or email)
    return session


async def whoami(transport: Transport) -> SessionInfo | None:
    """Who the session belongs to, or None when signed out or expired."""
    answer = await transport.request("GET", f"{_AUTH}/session", idempotent=True)
    data = answer.data
    if not isinstance(data, dict) or not data.get("user"):
        return None
    return SessionInfo.model_validate(data)


async def sign_out(transport: Transport) -> None:
    """End the session on the server (Auth.js sign-out) and forget it locally."""
    if transport.session_token is None:
        return
    try:
        csrf = await _csrf_token(transport)
        await transport.request(
            "POST",
            f"{_AUTH}/signout",
            form={"csrfToken": csrf, "json": "true"},
            idempotent=True,
            expect_redirect=True,
        )
    finally:
        transport.session_token = None

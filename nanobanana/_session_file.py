"""The saved sign-in: a small JSON file readable by its owner only.

The file holds the session token and the API host it belongs to, so a token saved against the emulator is
never sent to the real site (or the other way round). It is written atomically, created with mode 0600 (folders
made for it follow the umask, like any other folder the user makes), and never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from . import _arguments
from ._exceptions import InvalidInputError

logger = logging.getLogger("nanobanana")


def _same_host(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def load_token(path: Path, base_url: str) -> str | None:
    """The token saved in ``path`` for ``base_url``, or None when there is none (or it is for another host)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("Ignoring the saved session at %s: %s", path, type(exc).__name__)
        return None
    if not isinstance(data, dict):
        return None
    token, saved_for = data.get("session_token"), data.get("base_url")
    if not isinstance(token, str) or not token or not isinstance(saved_for, str):
        return None
    token = _arguments.session_token(token, source=f"the session file {str(path)!r} (delete it, then sign in again)")
    if not _same_host(saved_for, base_url):
        logger.debug("The saved session at %s is for another host; not using it", path)
        return None
    if os.name == "posix" and path.stat().st_mode & 0o077:
        logger.warning("The saved session at %s is readable by others; run `chmod 600 %s`", path, path)
    return token


def check_target(path: Path) -> Path:
    """Refuse a session file path that cannot be written (a folder, or under a file), before signing in.

    Raises:
        InvalidInputError: The path is a folder, lies under a file, or its folder cannot be written.
    """
    path = path.expanduser()
    if path.is_dir():
        raise InvalidInputError(
            f"the session file {str(path)!r} is a folder: give a file path, such as {str(path / 'session.json')!r}"
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InvalidInputError(f"cannot save the session under {str(folder)!r}: it is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInputError(f"cannot save the session in {str(folder)!r}: the folder is not writable")
    return path


def save_token(path: Path, base_url: str, token: str, email: str | None = None) -> Path:
    """Write the session file atomically with owner-only permissions and return its path.

    Raises:
        InvalidInputError: There is no token, or the file cannot be written there (the reason says why).
    """
    if not token:
        raise InvalidInputError("there is no session to save: sign in first")
    path = check_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, _body(base_url, token, email))
    except OSError as exc:
        raise InvalidInputError(f"cannot save the session to {str(path)!r}: {exc.strerror or exc}") from None
    return path


def _body(base_url: str, token: str, email: str | None) -> str:
    return json.dumps(
        {
            "base_url": base_url.rstrip("/"),
            "session_token": token,
            "email": email,
            "saved_at": datetime.now(timezone.utc).isoformat(),
        },
        indent=2,
    )


def _write_atomically(path: Path, body: str) -> None:
    # mkstemp creates the file 0600 from the start: the token is never readable by others, even briefly.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def delete(path: Path) -> bool:
    """Remove the session file; True if there was one."""
    try:
        path.expanduser().unlink()
    except FileNotFoundError:
        return False
    return True

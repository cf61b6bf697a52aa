"""Checks of the public methods' arguments, each raising `InvalidInputError` that says what to pass instead."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from ._exceptions import InvalidInputError

T = TypeVar("T")

MAX_TASK_ID_LENGTH = 256
# Characters that end a header line or separate cookies: a token holding one would break the Cookie header or
# smuggle another cookie into it.
_HEADER_BREAKERS = ("\r", "\n", ";", "\x00")


def _kind(value: object) -> str:
    return type(value).__name__


def text(name: str, value: object, *, blank_ok: bool = False) -> str:
    """``value`` as a string, not blank unless ``blank_ok`` (when the caller checks the content itself)."""
    if not isinstance(value, str) or not (blank_ok or value.strip()):
        raise InvalidInputError(f"{name} must be a non-empty string, got {_kind(value)} {value!r:.40}")
    return value


def task_id(value: object) -> str:
    """A task id as `create` returned it: printable text without spaces, at most 256 characters."""
    value = text("task_id", value)
    # isprintable() is False for every space but " " itself (tabs, line breaks, no-break spaces).
    if len(value) > MAX_TASK_ID_LENGTH or not value.isprintable() or " " in value:
        raise InvalidInputError(f"task_id must be the id `create` returned (like '3b92...'), got {value!r:.60}")
    return value


def session_token(value: object, *, source: str) -> str:
    """A session token fit for the Cookie header: text without CR, LF, NUL or ';' (a pasted cookie line)."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"the session token from {source} must be a non-empty string")
    if any(c in value for c in _HEADER_BREAKERS) or value != value.strip():
        # The value itself is never quoted: it is a secret.
        raise InvalidInputError(
            f"the session token from {source} contains a line break or ';' (or surrounding spaces): give only "
            "the value of the __Secure-authjs.session-token cookie, not a whole Cookie header line"
        )
    return value


def header_fields(name: str, fields: Mapping[str, str] | None, *, breakers: str = "\r\n\x00") -> dict[str, str]:
    """Extra cookies or headers: text names and values without any of ``breakers`` (which break a header)."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise InvalidInputError(f"{name} must be a dict of names to values, got {_kind(fields)}")
    for key, value in fields.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInputError(f"{name} names and values must be strings, got {key!r:.40}: {_kind(value)}")
        if any(c in breakers for c in key + value):
            raise InvalidInputError(f"{name}[{key!r:.40}] holds a line break or separator; give one value per name")
    return dict(fields)


def positive(name: str, value: object, *, unit: str = "seconds", none_means: str | None = None) -> float | None:
    """A positive, finite number, or None when ``none_means`` says what None stands for."""
    if value is None and none_means is not None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value <= 0:
        alternative = f" or None ({none_means})" if none_means else ""
        raise InvalidInputError(f"{name} must be a positive number of {unit}{alternative}, got {value!r:.40}")
    if math.isinf(value):
        raise InvalidInputError(f"{name} must be finite" + (f"; None means {none_means}" if none_means else ""))
    return float(value)


def count(name: str, value: object, *, minimum: int) -> int:
    """A whole number at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{name} must be a whole number >= {minimum}, got {value!r:.40}")
    return value


def callback(name: str, value: T | None) -> T | None:
    """A function (plain or async) or None."""
    if value is not None and not callable(value):
        raise InvalidInputError(f"{name} must be a function (plain or async) or None, got {_kind(value)}")
    return value


def path(name: str, value: object, *, optional: bool = True) -> Path | None:
    """A file system path given as text or a path object."""
    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)):
        fspath = os.fspath(value)
        if isinstance(fspath, str) and fspath and "\x00" not in fspath:
            return Path(fspath).expanduser()
    raise InvalidInputError(f"{name} must be a file or folder path (str or pathlib.Path), got {_kind(value)}")


def listed(name: str, value: object, *, of: str, one: str) -> Sequence[object]:
    """A list or tuple of inputs, not one input on its own."""
    if isinstance(value, (str, bytes, bytearray, memoryview)) or not isinstance(value, Sequence):
        single = "string" if isinstance(value, str) else _kind(value)
        raise InvalidInputError(f"{name} must be a list of {of}, not a single {single}: wrap a single {one} in [...]")
    return value


def flag(name: str, value: object) -> bool:
    """True or False."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, got {_kind(value)}")
    return value

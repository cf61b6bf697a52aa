"""Scrubbing of URLs in text that leaves the SDK (error messages, telemetry, the ``NANOBANANA_LOG`` log): no query.

A result or upload URL may be signed: its query string is then a credential, and whoever reads it can fetch the
file. The path is kept (it names the file); the query becomes ``?[redacted]``.
"""

from __future__ import annotations

import re

from yarl import URL

_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'\"<>]*)\?[^\s#'\"<>]*")


def hide_url_queries(text: str) -> str:
    """The text with the query string of every URL in it replaced by ``[redacted]``."""
    if "?" not in text:
        return text
    return _QUERY.sub(r"\1?[redacted]", text)


def bare_url(url: str | URL) -> str:
    """The URL without its query, fragment and any user or password: what a message or telemetry may show of it."""
    try:
        parsed = url if isinstance(url, URL) else URL(url)
        return str(parsed.with_query(None).with_fragment(None).with_user(None))
    except (TypeError, ValueError):
        return hide_url_queries(str(url)).split("#", 1)[0]

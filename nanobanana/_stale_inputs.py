"""Uploaded inputs the service no longer has: which of them a create's refusal blames."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from urllib.parse import unquote

from ._exceptions import APIStatusError

# What a create refused for an input image that is gone says, besides naming the image or its URL.
_GONE = re.compile(r"expired|not found|no longer|does ?n[o']t exist|unavailable|(?:fetch|download|load)", re.IGNORECASE)
_ABOUT_INPUTS = re.compile(r"image|url|file|upload", re.IGNORECASE)
# Refusals about the account or the pace, never about an input; only an answered 4xx proves nothing was created.
_NOT_ABOUT_INPUTS = frozenset({401, 402, 403, 429})


def stale_inputs(exc: APIStatusError, uploaded: Sequence[str]) -> set[str]:
    """The uploaded input URLs a create's 4xx refusal blames: those it names, or all if it says one is gone.

    Args:
        exc: The create's error.
        uploaded: The input URLs the client uploaded for this create (a caller's own URLs are never blamed:
            uploading again cannot mend them).

    Returns:
        The URLs to upload again before sending the create once more; empty when the refusal is not about them.
    """
    if not uploaded or not 400 <= exc.status_code < 500 or exc.status_code in _NOT_ABOUT_INPUTS:
        return set()
    said = exc.body if isinstance(exc.body, str) else json.dumps(exc.body)
    named = {url for url in uploaded if url in said or unquote(url) in said or url.rsplit("/", 1)[-1] in said}
    if named:
        return named
    return set(uploaded) if _GONE.search(said) and _ABOUT_INPUTS.search(said) else set()

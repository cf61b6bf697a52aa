"""Logging switched on without code: ``NANOBANANA_LOG=info|debug`` sends the SDK's log to stderr."""

from __future__ import annotations

import logging
import os
import sys

from ._config import ENV_LOG
from ._redact import hide_url_queries

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class _HideUrlQueries(logging.Filter):
    """Replaces the query string of any URL in a message (a signed result URL's is a credential)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = hide_url_queries(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``NANOBANANA_LOG`` adds, recognisable so that it is added once."""


def setup_from_env() -> None:
    """Log the ``nanobanana`` logger to stderr at the level ``NANOBANANA_LOG`` names; nothing when it is unset.

    The logger keeps propagating, so a program's own logging set-up still sees every message too.
    """
    word = os.environ.get(ENV_LOG, "").strip().lower()
    if not word:
        return
    logger = logging.getLogger("nanobanana")
    if any(isinstance(handler, _EnvHandler) for handler in logger.handlers):
        return
    handler = _EnvHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(_HideUrlQueries())
    logger.addHandler(handler)
    level = _LEVELS.get(word)
    if level is None:
        logger.setLevel(logging.WARNING)
        logger.warning("%s=%r is not one of %s; showing warnings only", ENV_LOG, word, ", ".join(_LEVELS))
        return
    logger.setLevel(level)

"""Exit codes, one per kind of failure, and the JSON record of a failure, so scripts can tell them apart."""

from __future__ import annotations

import json
import sys
from typing import Any

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    DownloadError,
    GenerationFailedError,
    InsufficientCreditsError,
    InvalidInputError,
    InvalidResponseError,
    JournalLockedError,
    NanoBananaError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)

OK = 0
ERROR = 1
USAGE = 2
AUTH = 3
CREDITS = 4
RATE_LIMITED = 5
GENERATION_FAILED = 6
TIMEOUT = 7
NETWORK = 8
DOWNLOAD = 9
BATCH_FAILURES = 10
INTERRUPTED = 130

EXIT_CODES_HELP = """exit codes:
  0  success                      6  the generation failed
  1  other error                  7  timed out waiting (the task keeps running)
  2  bad usage or input           8  network or server error
  3  not signed in / expired      9  download failed
  4  out of credits              10  batch finished with failed items
  5  rate limited               130  interrupted (Ctrl-C)
"""

_TABLE: tuple[tuple[type[NanoBananaError], int], ...] = (
    (InvalidInputError, USAGE),
    (JournalLockedError, USAGE),
    (AuthenticationError, AUTH),
    (InsufficientCreditsError, CREDITS),
    (RateLimitError, RATE_LIMITED),
    (GenerationFailedError, GENERATION_FAILED),
    (WaitTimeoutError, TIMEOUT),
    (DownloadError, DOWNLOAD),
    (APIConnectionError, NETWORK),
    (ServerError, NETWORK),
    (InvalidResponseError, NETWORK),
    (APIStatusError, ERROR),
)


def exit_code(error: NanoBananaError) -> int:
    """The exit code for an error."""
    for cls, code in _TABLE:
        if isinstance(error, cls):
            return code
    return ERROR


def failure_json(
    error_type: str, message: str, code: int, task_id: str | None = None, *, extra: dict[str, Any] | None = None
) -> None:
    """Print the ``--json`` record of a failure as one line on stdout (the last line a failing run prints).

    ``extra`` adds the command's own fields beside ``error`` (``whoami``: ``signed_in``).
    """
    record = {**(extra or {}), "error": {"type": error_type, "message": message, "task_id": task_id, "exit_code": code}}
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()

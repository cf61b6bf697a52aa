"""Defaults and environment variables, in one place.

Environment variables read by the client (an explicit argument always wins):

- ``NANOBANANA_SESSION_TOKEN``: the site's session cookie value.
- ``NANOBANANA_BASE_URL``: the API host, ``https://nanabanana.ai`` when unset.
- ``NANOBANANA_SESSION_FILE``: where ``login`` saves the session and the client looks for it.
- ``NANOBANANA_LOG``: ``info`` or ``debug`` logs the SDK to stderr, without code (read at import).
- ``NANOBANANA_OTEL_CAPTURE_CONTENT``: ``true`` records the prompt and URLs in OpenTelemetry spans.
- ``NANOBANANA_OTEL_HTTP_SPANS``: ``false`` leaves HTTP spans to another instrumentation.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import aiohttp
import platformdirs
from pydantic import BaseModel, ConfigDict, Field

from ._version import __version__

__all__ = ["PollPolicy"]

DEFAULT_BASE_URL = "https://nanabanana.ai"
SESSION_COOKIE = "__Secure-authjs.session-token"
# Auth.js drops the __Secure- prefix when the site is served over plain http (as the emulator is).
SESSION_COOKIE_NAMES = (SESSION_COOKIE, "authjs.session-token")

ENV_SESSION_TOKEN = "NANOBANANA_SESSION_TOKEN"
ENV_BASE_URL = "NANOBANANA_BASE_URL"
ENV_SESSION_FILE = "NANOBANANA_SESSION_FILE"
ENV_LOG = "NANOBANANA_LOG"
ENV_OTEL_CAPTURE_CONTENT = "NANOBANANA_OTEL_CAPTURE_CONTENT"
# The switch the GenAI instrumentations of opentelemetry-python-contrib read; honoured too, so one setting serves.
ENV_GENAI_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_OTEL_HTTP_SPANS = "NANOBANANA_OTEL_HTTP_SPANS"

DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_CONCURRENCY = 64
DEFAULT_WAIT_TIMEOUT = 600.0
DEFAULT_MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
DOWNLOAD_CHUNK_BYTES = 256 * 1024
# Downloads at once across a client: the file host's own limit, apart from the API's max_concurrency.
DEFAULT_MAX_DOWNLOADS = 16
# The largest API answer read (create, status, upload, sign-in answers are a few hundred bytes).
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# Redirect hops a download follows before giving up.
MAX_REDIRECTS = 10
# The client-wide retry budget, in tokens (a retry costs 5, one after a timeout 10; a success gives 1 back),
# as in AWS's "standard" retry mode: 100 retries in a row at most, then only as successes refill it.
RETRY_BUDGET = 500

# Backoff between retries of one request: full jitter, as AWS recommends, capped so a user never waits long.
RETRY_BACKOFF_BASE = 0.5
RETRY_BACKOFF_MAX = 8.0
# A Retry-After longer than this is not waited out inside one call: the error is raised for the caller to
# decide, since silently sleeping for minutes looks like a hang.
RETRY_AFTER_MAX = 60.0

API_PREFIX = "/api/image-generation-nano-banana"


class PollPolicy(BaseModel):
    """A fixed schedule for ``wait``'s status calls, instead of the schedule the client learns by default.

    The interval starts at ``initial`` and grows by ``multiplier`` up to ``maximum``; each sleep adds a random
    ``0..jitter`` fraction of itself so that many waiting tasks never poll in lockstep. The website polls every
    3.5 s and a task takes about 35 s: the defaults notice a finished task within 4.8 s at most (4 s plus
    jitter) and make about 11 status calls for a 35-second task.

    Attributes:
        initial: The first interval, seconds.
        multiplier: The growth factor of the interval, at least 1.
        maximum: The ceiling of the interval, seconds.
        jitter: The random extra added to each sleep, as a fraction of the interval (0 to 1).

    Example:
        ```python
        client = NanoBanana(poll=PollPolicy(initial=0.5, maximum=2.0))
        ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial: float = Field(default=1.0, gt=0, description="First interval, seconds.")
    multiplier: float = Field(default=1.5, ge=1, description="Growth factor of the interval.")
    maximum: float = Field(default=4.0, gt=0, description="Ceiling of the interval, seconds.")
    jitter: float = Field(default=0.2, ge=0, le=1, description="Random extra, as a fraction of the interval.")

    def interval(self, attempt: int) -> float:
        """The interval before status call number ``attempt + 1`` (``attempt`` starts at 1), without jitter."""
        return float(min(self.maximum, self.initial * self.multiplier ** max(0, attempt - 1)))


def client_timeout(timeout: float | aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """An aiohttp timeout from the client's ``timeout`` option."""
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, DEFAULT_CONNECT_TIMEOUT))


def default_session_file() -> Path:
    """Where the signed-in session is saved: ``NANOBANANA_SESSION_FILE``, else the user's config folder."""
    override = os.environ.get(ENV_SESSION_FILE)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("nanobanana") / "session.json"


def user_agent() -> str:
    """The ``User-Agent`` sent with every request: the SDK, its version, and the runtime."""
    return (
        f"nanobanana-python/{__version__} aiohttp/{aiohttp.__version__} "
        f"{platform.python_implementation()}/{sys.version_info.major}.{sys.version_info.minor}"
    )

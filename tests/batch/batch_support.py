"""Helpers shared by the batch tests: a fast client of an emulator, fault mixes, and request analysis."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from nanobanana import NanoBanana, PollPolicy
from nanobanana.emulator import Emulator, Fault, RecordedRequest

# Gentler than `support.FAST_POLL`: thousands of tasks wait at once here, and the emulator serves them all.
BATCH_POLL = PollPolicy(initial=0.05, multiplier=1.5, maximum=0.2, jitter=0.2)


def client_of(url: str, token: str, **options: Any) -> NanoBanana:
    """A client of the emulator at ``url`` that polls fast, rides out long fault streaks and waits for ever.

    No wait timeout: on a loaded machine thousands of tasks may take long to be polled to the end, and a timeout
    would measure the machine; pytest-timeout guards against a hang.
    """
    options.setdefault("poll", BATCH_POLL)
    options.setdefault("max_retries", 8)
    options.setdefault("wait_timeout", None)
    return NanoBanana(base_url=url, session_token=token, **options)


def client_for(emu: Emulator, **options: Any) -> NanoBanana:
    return client_of(emu.url, emu.issue_token(), **options)


def add_background_faults(emu: Emulator, *, rate: float = 0.01) -> None:
    """5xx at ``rate`` each on create and status, and connections dropped before processing on create.

    None of them acts on the request, so none may ever lead to a second task for one item.
    """
    for endpoint in ("create", "status"):
        for code in (500, 502, 503):
            emu.faults.rate(endpoint, Fault.status(code), probability=rate)
    emu.faults.rate("create", Fault.drop(after_processing=False), probability=rate)


def add_rate_limits(emu: Emulator, *, rate: float, retry_after: float = 0.05) -> None:
    for endpoint in ("create", "status"):
        emu.faults.rate(endpoint, Fault.status(429, retry_after=retry_after), probability=rate)


def fired(emu: Emulator, endpoint: str, code: int) -> int:
    """How many ``code`` status faults fired on ``endpoint``."""
    return sum(
        1
        for f in emu.faults.fired
        if f.endpoint == endpoint and f.fault.kind == "status" and f.fault.status_code == code
    )


def creates_per_prompt(emu: Emulator) -> Counter[str]:
    """How many tasks the emulator created for each prompt."""
    return Counter(task.prompt for task in emu.tasks.values())


def requests_to(emu: Emulator, endpoint: str) -> list[RecordedRequest]:
    return [r for r in list(emu.requests) if r.endpoint == endpoint]


def rate_between(requests: Iterable[RecordedRequest], start: float, end: float) -> float:
    """Requests per second that arrived in ``[start, end)`` (monotonic times)."""
    return sum(1 for r in requests if start <= r.at < end) / (end - start)


def assert_complete_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), path
    assert data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"), f"{path} is cut short"
    with Image.open(io.BytesIO(data)) as image:
        image.verify()

"""Telemetry read back in memory: a tracer and a meter provider of the OpenTelemetry SDK per test, passed explicitly.

The global providers can be set only once per process, so no test sets them: each client gets its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from otel_support import Recorded

from nanobanana import NanoBanana, PollPolicy
from nanobanana.emulator import Emulator, sample_images

FAST_POLL = PollPolicy(initial=0.02, multiplier=1.5, maximum=0.05, jitter=0.2)


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    telemetry = Recorded()
    yield telemetry
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


@pytest.fixture
def png() -> bytes:
    """A small PNG to upload."""
    return sample_images()[0][1]


@pytest.fixture
def token(nanobanana_emulator: Emulator) -> str:
    return nanobanana_emulator.issue_token("me@example.com")


@pytest.fixture
async def client(
    nanobanana_emulator: Emulator, recorded: Recorded, token: str, tmp_path: Path
) -> AsyncIterator[NanoBanana]:
    async with NanoBanana(
        base_url=nanobanana_emulator.url,
        session_token=token,
        session_file=tmp_path / "session.json",
        poll=FAST_POLL,
        timeout=5,
        tracer_provider=recorded.tracer_provider,
        meter_provider=recorded.meter_provider,
    ) as nano:
        yield nano

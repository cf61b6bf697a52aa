"""No secret reaches telemetry: not the session token, not a cookie, not the query string of a signed URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from otel_support import Recorded
from support import FAST_POLL

from nanobanana import DownloadError, NanoBanana
from nanobanana.emulator import Emulator, Fault

SIGNATURE = "sig=SIGNATURE-9f8e7d6c5b4a"


def exported_text(recorded: Recorded) -> Iterator[str]:
    """Every name, attribute value and event attribute value exported, as text."""
    for span in recorded.spans:
        yield span.name
        yield span.status.description or ""
        yield from (f"{key}={value}" for key, value in (span.attributes or {}).items())
        for event in span.events:
            yield event.name
            yield from (f"{key}={value}" for key, value in (event.attributes or {}).items())
    for metric in ("nanobanana.client.requests", "nanobanana.client.failures", "gen_ai.client.operation.duration"):
        for point in recorded.points(metric):
            yield from (f"{key}={value}" for key, value in point.attributes.items())


@pytest.fixture
async def capturing(nanobanana_emulator: Emulator, recorded: Recorded, token: str) -> Any:
    async with NanoBanana(
        base_url=nanobanana_emulator.url,
        session_token=token,
        tracer_provider=recorded.tracer_provider,
        meter_provider=recorded.meter_provider,
        capture_content=True,
        cookies={"cf_clearance": "CLOUDFLARE-COOKIE-1234"},
        poll=FAST_POLL,
    ) as client:
        yield client


async def test_the_session_token_and_cookies_are_in_no_exported_value(
    capturing: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded, token: str
) -> None:
    nanobanana_emulator.faults.script("create", Fault.status(401))
    with pytest.raises(Exception, match="401"):
        await capturing.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])
    await capturing.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    text = "\n".join(exported_text(recorded))
    assert "make it night" in text  # content capture is on, so this is a fair search
    assert token not in text
    assert "CLOUDFLARE-COOKIE-1234" not in text


async def test_a_signed_urls_query_is_in_no_exported_value(
    capturing: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    url = nanobanana_emulator.add_file("/results/signed.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    await capturing.download(f"{url}?{SIGNATURE}")
    nanobanana_emulator.faults.script("download", Fault.status(404))
    with pytest.raises(DownloadError):
        await capturing.download(f"{url}?{SIGNATURE}")

    text = "\n".join(exported_text(recorded))
    assert "/results/signed.png" in text  # the URL is there (content capture), without its query
    assert "SIGNATURE-9f8e7d6c5b4a" not in text


async def test_without_content_capture_neither_prompt_nor_urls_are_recorded(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    text = "\n".join(exported_text(recorded))
    assert "make it night" not in text
    assert "://" not in text

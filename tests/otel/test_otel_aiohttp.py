"""Next to opentelemetry-instrumentation-aiohttp-client: ``http_spans=False`` leaves one span per request, its."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind
from otel_support import Recorded

from nanobanana import NanoBanana
from nanobanana.emulator import Emulator

aiohttp_client = pytest.importorskip("opentelemetry.instrumentation.aiohttp_client")


@pytest.fixture
def instrumented(recorded: Recorded) -> Iterator[None]:
    """aiohttp instrumented for the test's tracer provider, and restored afterwards."""
    instrumentor = aiohttp_client.AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=recorded.tracer_provider)
    yield
    instrumentor.uninstrument()


async def create_with(emulator: Emulator, recorded: Recorded, token: str, *, http_spans: bool) -> None:
    async with NanoBanana(
        base_url=emulator.url, session_token=token, tracer_provider=recorded.tracer_provider, http_spans=http_spans
    ) as client:
        await client.create("make it night", image_urls=emulator.sample_urls[:1])


@pytest.mark.usefixtures("instrumented")
async def test_with_http_spans_off_each_request_is_the_instrumentations_one_span_under_the_step(
    nanobanana_emulator: Emulator, recorded: Recorded, token: str
) -> None:
    await create_with(nanobanana_emulator, recorded, token, http_spans=False)

    create = recorded.one("nanobanana.create")
    (request,) = recorded.children(create)
    assert request.kind is SpanKind.CLIENT
    assert request.name == "POST"


@pytest.mark.usefixtures("instrumented")
async def test_with_both_on_each_request_is_traced_twice(
    nanobanana_emulator: Emulator, recorded: Recorded, token: str
) -> None:
    await create_with(nanobanana_emulator, recorded, token, http_spans=True)

    requests = [s for s in recorded.spans if s.kind is SpanKind.CLIENT]
    assert len(requests) == 2

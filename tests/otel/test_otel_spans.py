"""The span tree of the client's work, as an OpenTelemetry SDK exports it."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.trace import SpanKind, StatusCode
from otel_support import Recorded

from nanobanana import GenerationFailedError, NanoBanana
from nanobanana.emulator import Emulator, Fault, sample_images

GENERATION = "generate_content nano-banana-pro"
pytestmark = pytest.mark.nanobanana_emulator(finish_after=0.1, states=("waiting", "processing"))


async def test_a_generation_is_a_client_span_with_a_child_per_step(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    root = recorded.one(GENERATION)
    assert root.parent is None
    assert root.kind is SpanKind.CLIENT
    assert [s.name for s in recorded.children(root)] == ["nanobanana.create", "nanobanana.wait", "nanobanana.download"]


async def test_the_generation_span_carries_the_genai_and_request_attributes(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    result = await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:2], resolution="2K")

    attributes = recorded.one(GENERATION).attributes or {}
    assert attributes["gen_ai.operation.name"] == "generate_content"
    assert attributes["gen_ai.provider.name"] == "nanobanana"
    assert attributes["gen_ai.request.model"] == "nano-banana-pro"
    assert attributes["gen_ai.response.id"] == result.task_id
    assert attributes["nanobanana.task.id"] == result.task_id
    assert attributes["nanobanana.request.resolution"] == "2K"
    assert attributes["nanobanana.request.image_count"] == 2
    assert attributes["nanobanana.task.final_state"] == "succeed"
    assert attributes["nanobanana.status_calls"] >= 1


async def test_each_http_request_is_a_client_span_under_its_step(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    (post,) = recorded.children(recorded.one("nanobanana.create"))
    assert post.kind is SpanKind.CLIENT
    assert post.name == "POST /api/image-generation-nano-banana/create"
    attributes = post.attributes or {}
    assert attributes["http.request.method"] == "POST"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] > 0
    assert attributes["http.response.status_code"] == 200
    assert "url.full" not in attributes
    (get,) = recorded.children(recorded.one("nanobanana.download"))
    assert get.name == "GET"  # a file host's path names a result: not in the name, nor in url.template
    assert (get.attributes or {})["http.response.status_code"] == 200
    assert "url.template" not in (get.attributes or {})


async def test_local_images_are_uploaded_under_the_generation(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded, png: bytes
) -> None:
    other = sample_images()[1][1]  # different bytes: the same image twice is uploaded once
    await client.generate("make it night", images=[png, other])

    root = recorded.one(GENERATION)
    names = [s.name for s in recorded.children(root)]
    assert names.count("nanobanana.upload") == 2
    assert (root.attributes or {})["nanobanana.request.image_count"] == 2


async def test_the_wait_records_each_status_call_and_each_change_of_state(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    wait = recorded.one("nanobanana.wait")
    calls = [e for e in wait.events if e.name == "nanobanana.status_call"]
    changes = [
        (e.attributes or {})["nanobanana.task.state"] for e in wait.events if e.name == "nanobanana.state_change"
    ]
    assert len(calls) == (wait.attributes or {})["nanobanana.status_calls"] == len(recorded.children(wait))
    assert changes[-1] == "succeed"
    assert len(changes) == len(set(changes))


async def test_a_retried_request_is_one_span_per_attempt_with_the_resend_count(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    nanobanana_emulator.faults.script("create", Fault.status(503, retry_after=0))

    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    first, second = recorded.children(recorded.one("nanobanana.create"))
    assert (first.attributes or {})["http.response.status_code"] == 503
    assert (first.attributes or {})["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in (first.attributes or {})
    assert (second.attributes or {})["http.request.resend_count"] == 1
    assert (second.attributes or {})["http.response.status_code"] == 200


async def test_a_retried_download_is_one_get_span_per_attempt_with_the_resend_count(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    nanobanana_emulator.faults.script("download", Fault.status(503, retry_after=0))

    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    first, second = recorded.children(recorded.one("nanobanana.download"))
    assert (first.attributes or {})["http.response.status_code"] == 503
    assert "http.request.resend_count" not in (first.attributes or {})
    assert (second.attributes or {})["http.request.resend_count"] == 1
    assert (second.attributes or {})["http.response.status_code"] == 200


@pytest.mark.nanobanana_emulator(failure_rate=1.0, failure_message="no face found")
async def test_a_failed_task_marks_the_wait_and_the_generation_failed(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    with pytest.raises(GenerationFailedError):
        await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    for name in (GENERATION, "nanobanana.wait"):
        span = recorded.one(name)
        attributes = span.attributes or {}
        assert span.status.status_code is StatusCode.ERROR
        assert attributes["error.type"] == "GenerationFailedError"
        assert attributes["nanobanana.task.final_state"] == "failed"
        assert attributes["nanobanana.task.fail_message"] == "no face found"
        assert [e.name for e in span.events][-1] == "exception"
    assert recorded.named("nanobanana.download") == []


async def test_a_step_called_alone_is_its_own_root_span(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    task = await client.create("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    create = recorded.one("nanobanana.create")
    assert create.parent is None
    assert (create.attributes or {})["nanobanana.task.id"] == task.task_id
    assert recorded.named(GENERATION) == []


async def test_a_batch_puts_every_item_under_one_batch_span(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    url = nanobanana_emulator.sample_urls[0]
    outcomes = await client.generate_batch([{"prompt": f"look {n}", "image_urls": [url]} for n in range(3)])

    batch = recorded.one("nanobanana.batch")
    items = recorded.named(GENERATION)
    assert len(items) == 3
    assert all(item.parent is not None and item.parent.span_id == batch.context.span_id for item in items)
    assert {(item.attributes or {})["nanobanana.task.id"] for item in items} == {o.task_id for o in outcomes}
    assert (batch.attributes or {})["nanobanana.batch.size"] == 3
    assert (batch.attributes or {})["nanobanana.batch.succeeded"] == 3


@pytest.mark.nanobanana_emulator(failure_rate=1.0)
async def test_a_failed_batch_item_marks_its_span_failed(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    (outcome,) = await client.generate_batch([{"prompt": "look", "image_urls": nanobanana_emulator.sample_urls[:1]}])

    assert not outcome.ok
    item = recorded.one(GENERATION)
    assert item.status.status_code is StatusCode.ERROR
    assert (item.attributes or {})["nanobanana.task.final_state"] == "failed"
    assert (recorded.one("nanobanana.batch").attributes or {})["nanobanana.batch.failed"] == 1


async def test_http_spans_can_be_switched_off(nanobanana_emulator: Emulator, recorded: Recorded, token: str) -> None:
    async with NanoBanana(
        base_url=nanobanana_emulator.url,
        session_token=token,
        tracer_provider=recorded.tracer_provider,
        meter_provider=recorded.meter_provider,
        http_spans=False,
    ) as client:
        await client.create("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    assert [s.name for s in recorded.spans] == ["nanobanana.create"]
    assert recorded.total("nanobanana.client.requests") == 1


async def test_spans_are_recorded_on_a_session_of_the_callers(
    nanobanana_emulator: Emulator, recorded: Recorded, token: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        NanoBanana(
            base_url=nanobanana_emulator.url,
            session_token=token,
            session=session,
            tracer_provider=recorded.tracer_provider,
        ) as client,
    ):
        await client.create("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    (post,) = recorded.children(recorded.one("nanobanana.create"))
    assert (post.attributes or {})["http.response.status_code"] == 200


async def test_each_redirect_hop_of_a_download_is_its_own_get_span(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(nanobanana_emulator.sample_urls[0])

    app = web.Application()
    app.router.add_get("/moved.png", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        await client.download(f"http://127.0.0.1:{port}/moved.png")
    finally:
        await runner.cleanup()

    first, second = recorded.children(recorded.one("nanobanana.download"))
    assert (first.attributes or {})["http.response.status_code"] == 302
    assert (first.attributes or {})["server.port"] == port
    assert (second.attributes or {})["http.response.status_code"] == 200

"""The client's metrics, as an OpenTelemetry SDK's metric reader collects them."""

from __future__ import annotations

import pytest
from otel_support import Recorded

from nanobanana import GenerationFailedError, NanoBanana
from nanobanana.emulator import Emulator, Fault

pytestmark = pytest.mark.nanobanana_emulator(finish_after=0.05)


async def test_a_generation_records_its_duration_by_final_state(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    (point,) = recorded.points("gen_ai.client.operation.duration")
    assert point.count == 1
    assert point.sum > 0
    assert point.attributes["gen_ai.operation.name"] == "generate_content"
    assert point.attributes["gen_ai.request.model"] == "nano-banana-pro"
    assert point.attributes["nanobanana.task.final_state"] == "succeed"
    assert "error.type" not in point.attributes


@pytest.mark.nanobanana_emulator(failure_rate=1.0)
async def test_a_failed_generation_is_counted_by_its_error_class(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    with pytest.raises(GenerationFailedError):
        await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    assert recorded.total("nanobanana.client.failures", error__type="GenerationFailedError") == 1
    (point,) = recorded.points("gen_ai.client.operation.duration")
    assert point.attributes["nanobanana.task.final_state"] == "failed"
    assert point.attributes["error.type"] == "GenerationFailedError"


async def test_generations_in_flight_go_back_to_zero(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    await client.generate("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    assert recorded.total("nanobanana.client.active_generations") == 0


async def test_requests_retries_and_429s_are_counted(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    nanobanana_emulator.faults.script("create", Fault.rate_limited(0), times=2)

    await client.create("make it night", image_urls=nanobanana_emulator.sample_urls[:1])

    assert recorded.total("nanobanana.client.requests", http__request__method="POST") == 3
    assert recorded.total("nanobanana.client.requests", http__response__status_code=429) == 2
    assert recorded.total("nanobanana.client.retries") == 2
    assert recorded.total("nanobanana.client.rate_limited") == 2


async def test_a_step_that_fails_alone_is_counted_as_a_failure(
    client: NanoBanana, nanobanana_emulator: Emulator, recorded: Recorded
) -> None:
    nanobanana_emulator.faults.script("status", Fault.status(404))

    with pytest.raises(Exception, match="404"):
        await client.wait("no-such-task", timeout=5)

    assert recorded.total("nanobanana.client.failures", nanobanana__operation="wait", error__type="NotFoundError") == 1

"""Fault injection: each kind, scripted and at a seeded rate."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from nanobanana.emulator import Emulator, Fault, Faults

STATUS = "/api/image-generation-nano-banana/status"
CREATE = "/api/image-generation-nano-banana/create"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(finish_after=0.0, require_auth=False, seed=3) as emulator:
        yield emulator


@pytest.fixture
async def task_id(emu: Emulator) -> str:
    async with aiohttp.ClientSession() as session, session.post(emu.url + CREATE, json={"prompt": "x"}) as response:
        return str((await response.json())["task_id"])


async def _status(emu: Emulator, task_id: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        response = await session.post(emu.url + STATUS, json={"taskId": task_id})
        await response.read()
        return response


async def test_scripted_faults_fire_the_given_number_of_times(emu: Emulator, task_id: str) -> None:
    emu.faults.script("status", Fault.status(502), times=2)
    codes = [(await _status(emu, task_id)).status for _ in range(3)]
    assert codes == [502, 502, 200]
    assert emu.faults.count("status", "status") == 2
    assert emu.faults.pending == 0


async def test_429_carries_retry_after(emu: Emulator, task_id: str) -> None:
    emu.faults.script("status", Fault.rate_limited(3))
    response = await _status(emu, task_id)
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"


@pytest.mark.parametrize("status", [403, 200, 503])
async def test_html_challenge_pages(emu: Emulator, task_id: str, status: int) -> None:
    emu.faults.script("status", Fault.html_challenge(status))
    async with aiohttp.ClientSession() as session, session.post(emu.url + STATUS, json={"taskId": task_id}) as response:
        assert response.status == status
        assert response.content_type == "text/html"
        assert "Just a moment" in await response.text()


async def test_malformed_json(emu: Emulator, task_id: str) -> None:
    emu.faults.script("status", Fault.malformed_json())
    async with aiohttp.ClientSession() as session, session.post(emu.url + STATUS, json={"taskId": task_id}) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
            await response.json()


async def test_slow_answers_arrive_late(emu: Emulator, task_id: str) -> None:
    emu.faults.script("status", Fault.slow(1))  # five times the client's patience; the emulator waits it out on stop
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as session:
        with pytest.raises(TimeoutError):
            await session.post(emu.url + STATUS, json={"taskId": task_id})


async def test_a_dropped_connection_gets_no_answer(emu: Emulator) -> None:
    emu.faults.script("create", Fault.drop())
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(emu.url + CREATE, json={"prompt": "x"})
    assert emu.created_count == 0


async def test_a_drop_after_processing_creates_the_task(emu: Emulator) -> None:
    emu.faults.script("create", Fault.drop(after_processing=True))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(emu.url + CREATE, json={"prompt": "x"})
    assert emu.created_count == 1


async def test_truncated_download_is_shorter_than_announced(emu: Emulator) -> None:
    url = emu.add_file("/big.png", b"\x89PNG" + bytes(100_000))
    emu.faults.script("download", Fault.truncate())
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.content_length == 100_004
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_rates_are_seeded_and_reproducible() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = Faults()
        faults.rng.seed(seed)
        faults.rate("status", Fault.status(500), probability=0.3)
        return [faults.take("status") is not None for _ in range(200)]

    assert pattern(1) == pattern(1)
    assert 30 < sum(pattern(1)) < 90


async def test_scripts_fire_before_rates_and_wildcards_match_any_endpoint() -> None:
    faults = Faults()
    faults.rate("*", Fault.status(500), probability=1.0)
    faults.script("create", Fault.status(429))
    first = faults.take("create")
    second = faults.take("upload")
    assert first is not None
    assert first.status_code == 429
    assert second is not None
    assert second.status_code == 500


def test_bad_fault_settings_are_refused() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="unknown endpoint"):
        faults.script("statuss", Fault.status(500))
    with pytest.raises(ValueError, match="probability"):
        faults.rate("status", Fault.status(500), probability=2)
    with pytest.raises(ValueError, match="400 to 599"):
        Fault.status(200)


async def test_clear_forgets_pending_faults(emu: Emulator, task_id: str) -> None:
    emu.faults.script("status", Fault.status(500), times=5)
    emu.faults.clear()
    assert (await _status(emu, task_id)).status == 200


async def test_rate_limit_answers_429_beyond_the_rate(emu: Emulator, task_id: str) -> None:
    # One a second with a one-second burst: the first call spends the burst, the next cannot have earned one.
    emu.configure(rate_limit=1)
    allowed = await _status(emu, task_id)
    limited = await _status(emu, task_id)
    assert (allowed.status, limited.status) == (200, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert emu.rate_limited_count == 1

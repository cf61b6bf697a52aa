"""Every fault the emulator can inject, met by the real client: retried, ridden out, or reported clearly."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from support import PNG_SIGNATURE, eventually, settle

from nanobanana import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    CloudflareError,
    DownloadError,
    GenerationFailedError,
    InsufficientCreditsError,
    InvalidResponseError,
    NanoBanana,
    NotFoundError,
    RateLimitError,
    WaitTimeoutError,
)
from nanobanana.emulator import Emulator, Fault

PROMPT = "change the clothes from image 1 to image 2"


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_5xx_while_polling_is_ridden_out(emu: Emulator, client: NanoBanana, code: int) -> None:
    emu.faults.script("status", Fault.status(code), times=3)
    result = await client.generate(PROMPT)
    assert result.content is not None
    assert emu.faults.count("status") == 3


async def test_429_on_create_is_retried_after_retry_after_and_creates_once(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("create", Fault.rate_limited(0.2), times=2)
    started = asyncio.get_running_loop().time()
    task = await client.create(PROMPT)
    assert asyncio.get_running_loop().time() - started >= 0.4
    assert emu.count("create") == 3
    assert emu.created_count == 1
    assert task.task_id in emu.tasks


async def test_503_on_create_is_retried(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("create", Fault.status(503, retry_after=0))
    task = await client.create(PROMPT)
    assert task.task_id in emu.tasks
    assert emu.count("create") == 2
    assert emu.created_count == 1


async def test_500_on_create_is_not_retried(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("create", Fault.status(500))
    with pytest.raises(Exception, match="500") as caught:
        await client.create(PROMPT)
    assert caught.value.__class__.__name__ == "ServerError"
    assert emu.count("create") == 1


async def test_429_that_never_ends_is_reported_with_retry_after(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.rate("create", Fault.rate_limited(0.01), probability=1.0)
    async with NanoBanana(
        base_url=emu.url, session_token=emu.issue_token(), max_retries=2, session_file=tmp_path / "s"
    ) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.create(PROMPT)
    assert caught.value.retry_after == pytest.approx(0.01)
    assert emu.count("create") == 3
    assert emu.created_count == 0


@pytest.mark.parametrize("status", [200, 403, 503])
async def test_cloudflare_pages_while_polling_are_ridden_out(emu: Emulator, client: NanoBanana, status: int) -> None:
    emu.faults.script("status", Fault.html_challenge(status), times=2)
    assert (await client.generate(PROMPT)).content is not None


async def test_a_cloudflare_page_on_create_is_reported_not_misread(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("create", Fault.html_challenge(200))
    with pytest.raises(InvalidResponseError, match="HTML page"):
        await client.create(PROMPT)
    assert emu.created_count == 0


async def test_a_403_challenge_on_create_says_it_is_cloudflare(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("create", Fault.html_challenge(403))
    with pytest.raises(CloudflareError, match="Cloudflare"):
        await client.create(PROMPT)


async def test_malformed_json_while_polling_is_ridden_out(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("status", Fault.malformed_json(), times=2)
    assert (await client.generate(PROMPT)).content is not None


async def test_malformed_json_from_status_is_an_invalid_response(emu: Emulator, client: NanoBanana) -> None:
    task = await client.create(PROMPT)
    emu.faults.script("status", Fault.malformed_json())
    with pytest.raises(InvalidResponseError):
        await client.status(task.task_id)


async def test_a_slow_status_times_out_then_the_wait_goes_on(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.script("status", Fault.slow(2), times=1)
    async with NanoBanana(
        base_url=emu.url, session_token=emu.issue_token(), timeout=0.3, max_retries=0, session_file=tmp_path / "s"
    ) as client:
        task = await client.create(PROMPT)
        with pytest.raises(APITimeoutError):
            await client.status(task.task_id)
        emu.faults.script("status", Fault.slow(2), times=1)
        final = await client.wait(task.task_id, timeout=10)
    assert final.is_done


async def test_a_connection_dropped_before_create_is_not_retried_blindly(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("create", Fault.drop())
    with pytest.raises(APIConnectionError) as caught:
        await client.create(PROMPT)
    assert caught.value.request_sent  # the server may have acted on it: the caller must look first
    assert emu.count("create") == 1


async def test_a_connection_dropped_after_create_leaves_one_task(emu: Emulator, client: NanoBanana) -> None:
    emu.faults.script("create", Fault.drop(after_processing=True))
    with pytest.raises(APIConnectionError):
        await client.create(PROMPT)
    assert emu.count("create") == 1
    assert emu.created_count == 1


async def test_dropped_status_calls_are_retried(emu: Emulator, client: NanoBanana) -> None:
    task = await client.create(PROMPT)
    emu.faults.script("status", Fault.drop(), times=2)
    status = await client.status(task.task_id)
    assert status.task_id == task.task_id
    assert emu.count("status") == 3


async def test_a_truncated_download_is_retried(emu: Emulator, client: NanoBanana, tmp_path: Path) -> None:
    emu.faults.script("download", Fault.truncate())
    result = await client.generate(PROMPT, output=tmp_path / "out.png")
    assert result.path is not None
    assert result.path.read_bytes().startswith(b"\x89PNG")


async def test_a_download_that_stays_truncated_leaves_no_file(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    emu.faults.rate("download", Fault.truncate(), probability=1.0)
    with pytest.raises(DownloadError) as caught:
        await client.generate(PROMPT, output=tmp_path / "out.png")
    assert caught.value.task_id is not None
    assert list(tmp_path.iterdir()) == []


async def test_a_failed_generation_carries_the_task_and_message(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(failure_rate=1.0, failure_state="error", failure_message="Content policy violation")
    with pytest.raises(GenerationFailedError) as caught:
        await client.generate(PROMPT)
    assert caught.value.fail_msg == "Content policy violation"
    assert caught.value.task_id in emu.tasks
    assert "Content policy violation" in str(caught.value)


async def test_a_wait_timeout_names_the_task_to_resume(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(finish_after=60)
    with pytest.raises(WaitTimeoutError) as caught:
        await client.generate(PROMPT, timeout=0.3)
    task_id = caught.value.task_id
    assert task_id in emu.tasks
    assert caught.value.last_status is not None
    emu.finish(task_id)
    assert (await client.wait(task_id)).is_done


async def test_cancelling_a_wait_stops_polling_at_once(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(finish_after=60)
    task = await client.create(PROMPT)
    waiting = asyncio.create_task(client.wait(task.task_id))
    await eventually(lambda: emu.count("status") >= 2, what="the wait to poll")
    waiting.cancel()
    await settle(waiting)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    polls = emu.count("status")
    await asyncio.sleep(0.3)  # several poll intervals: room for a poll that should not come
    assert emu.count("status") == polls


async def test_no_session_is_an_authentication_error_that_says_how_to_sign_in(emu: Emulator, tmp_path: Path) -> None:
    async with NanoBanana(base_url=emu.url, session_file=tmp_path / "none.json") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.create(PROMPT)
    assert "login" in str(caught.value).lower() or "sign in" in str(caught.value).lower()
    assert emu.count("create") == 1


async def test_no_credits_is_reported(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(credits=0)
    with pytest.raises(InsufficientCreditsError):
        await client.create(PROMPT)


async def test_an_unknown_task_is_not_found(client: NanoBanana) -> None:
    with pytest.raises(NotFoundError):
        await client.status("0" * 32)


async def test_failures_at_a_rate_over_many_generations(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(record_requests=False, result_size=(8, 8))
    emu.faults.rate("status", Fault.status(502), probability=0.1)
    emu.faults.rate("create", Fault.rate_limited(0.01), probability=0.05)
    emu.faults.rate("download", Fault.truncate(), probability=0.05)
    results = await asyncio.gather(*(client.generate(f"p{i}") for i in range(100)))
    assert all(r.content is not None and r.content.startswith(PNG_SIGNATURE) for r in results)
    assert sorted(r.status.task_id for r in results) == sorted(emu.tasks)  # one task each, none twice
    for endpoint in ("status", "create", "download"):
        assert emu.faults.count(endpoint) > 0, f"no fault fired on {endpoint}: the test would prove nothing"


async def test_a_rate_limited_server_is_met_by_slowing_down(
    emu: Emulator, client: NanoBanana, caplog: pytest.LogCaptureFixture
) -> None:
    # A burst of 5, then 5 a second: 10 generations (20 calls or more) at once cannot all get through.
    emu.configure(result_size=(8, 8), rate_limit=5)
    with caplog.at_level(logging.INFO, logger="nanobanana"):
        results = await asyncio.gather(*(client.generate(f"p{i}") for i in range(10)))
    assert all(r.content is not None for r in results)
    assert emu.created_count == 10
    assert emu.rate_limited_count > 0
    assert emu.count("create") <= 10 + emu.rate_limited_count  # a create is sent again only after a 429
    # The client slowed itself down (for every coroutine sharing it), and said so.
    assert any("slowing this client" in record.getMessage() for record in caplog.records)


async def test_a_create_that_times_out_says_to_look_before_sending_it_again(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.script("create", Fault.slow(2))
    async with NanoBanana(
        base_url=emu.url, session_token=emu.issue_token(), timeout=0.3, session_file=tmp_path / "s"
    ) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.create(PROMPT)
        assert "may have acted on it" in str(caught.value)
        assert "try again" not in str(caught.value)
        emu.faults.script("status", Fault.slow(2), times=10)
        with pytest.raises(APITimeoutError, match="Raise the client's timeout"):
            await client.status("0" * 32)
    assert emu.count("create") == 1

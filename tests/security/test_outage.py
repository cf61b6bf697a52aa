"""Load during an outage: a retry budget, the server's pacing, downloads apart from API calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import client_of
from hostile import Hostile

from nanobanana import DownloadError, RateLimitError, ServerError
from nanobanana._retry import RetryBudget


@pytest.mark.usefixtures("sleeps")
async def test_an_outage_does_not_multiply_the_requests(server: Hostile, tmp_path: Path) -> None:
    server.switches.api_status = 503
    calls = 200

    async with client_of(server, tmp_path, max_retries=3) as nb:
        results = await asyncio.gather(*(nb.status(f"t{n}") for n in range(calls)), return_exceptions=True)

    assert all(isinstance(result, ServerError) for result in results)
    budget_retries = RetryBudget().capacity // RetryBudget.RETRY_COST
    assert server.hits["status"] <= calls + budget_retries
    assert server.hits["status"] < calls * 4


async def test_retry_after_ms_is_honoured_before_retry_after(
    server: Hostile, tmp_path: Path, sleeps: list[float]
) -> None:
    server.switches.api_status = 429
    server.switches.api_headers = {"retry-after-ms": "1500", "Retry-After": "30"}

    async with client_of(server, tmp_path, max_retries=1) as nb:
        with pytest.raises(RateLimitError) as caught:
            await nb.status("t")

    assert caught.value.retry_after == 1.5
    assert 1.5 in sleeps


async def test_a_stalled_download_does_not_hold_the_places_of_api_calls(server: Hostile, tmp_path: Path) -> None:
    server.switches.stall_download = True

    async with client_of(server, tmp_path, max_concurrency=1) as nb:
        downloading = asyncio.create_task(nb.download(server.result_url))
        await server.download_started.wait()
        server.switches.stall_download = False

        status = await asyncio.wait_for(nb.status("t"), 5)

        downloading.cancel()
    assert status.is_done


async def test_a_download_over_its_overall_deadline_is_a_download_error(server: Hostile, tmp_path: Path) -> None:
    server.switches.stall_download = True

    async with client_of(server, tmp_path, download_timeout=0.2) as nb:
        with pytest.raises(DownloadError, match="download_timeout"):
            await nb.download(server.result_url, tmp_path / "out.png")

    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize("options", [{"download_timeout": 0}, {"max_concurrent_downloads": 0}])
def test_bad_download_settings_are_refused(server: Hostile, tmp_path: Path, options: dict[str, float]) -> None:
    from nanobanana import InvalidInputError

    with pytest.raises(InvalidInputError):
        client_of(server, tmp_path, **options)

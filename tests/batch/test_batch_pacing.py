"""Pacing seen from the server: a 429 slows the whole client, and many waiting tasks never poll in lockstep.

No check here depends on how fast this machine is: every rate is compared with another rate measured on the
same requests at the same time, or bounds what a busy machine could only make smaller. Speed targets live in
``benchmarks/``.
"""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from batch_support import client_for, rate_between, requests_to
from support import eventually

from nanobanana import NanoBanana
from nanobanana.emulator import Emulator, Fault, RecordedRequest

WORKERS = 16
_SLOWED_TO = re.compile(r"slowing this client to ([\d.]+) requests/s")


async def _poll_forever(client: NanoBanana, task_id: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await client.status(task_id)


async def _loaded(client: NanoBanana, task_id: str) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    stop = asyncio.Event()
    return stop, [asyncio.create_task(_poll_forever(client, task_id, stop)) for _ in range(WORKERS)]


async def _unload(stop: asyncio.Event, workers: list[asyncio.Task[None]]) -> None:
    stop.set()
    await asyncio.gather(*workers)


def _span(requests: list[RecordedRequest]) -> float:
    """Seconds from the first request to the last."""
    return requests[-1].at - requests[0].at if requests else 0.0


def _slowed_to(caplog: pytest.LogCaptureFixture) -> float:
    """The rate the client announced it slowed itself to, after a 429 (it must have announced it once)."""
    (rate,) = [float(m[1]) for r in caplog.records if (m := _SLOWED_TO.search(r.getMessage()))]
    return rate


@pytest.mark.parametrize("requests_per_second", [None, 100_000.0], ids=["no-limit", "limit-far-above-traffic"])
async def test_a_429_on_one_request_slows_every_request_of_the_client(
    requests_per_second: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        Emulator(finish_after=3600.0) as emu,
        client_for(emu, max_concurrency=WORKERS, requests_per_second=requests_per_second) as client,
    ):
        task = await client.create("keep me waiting", image_urls=emu.sample_urls[:1])
        stop, workers = await _loaded(client, task.task_id)
        await eventually(lambda: _span(requests_to(emu, "status")) > 1.2, what="a second of steady polling")
        # A create, not a status call, is told to slow down...
        emu.faults.script("create", Fault.status(429, retry_after=0.05), times=2)
        with caplog.at_level(logging.INFO, logger="nanobanana"):
            await client.create("a second task", image_urls=emu.sample_urls[:1])
        throttled_at = requests_to(emu, "create")[1].at
        # ...and the status calls of every other coroutine slow down with it: over the next second (the
        # cool-down, before any recovery) no more than the announced rate allows, besides those already sent.
        await eventually(lambda: requests_to(emu, "status")[-1].at > throttled_at + 1.0, what="a second more")
        await _unload(stop, workers)
    status_calls = requests_to(emu, "status")
    before = rate_between(status_calls, throttled_at - 1.0, throttled_at)
    after = rate_between(status_calls, throttled_at, throttled_at + 1.0)
    slowed_to = _slowed_to(caplog)
    assert emu.faults.pending == 0
    assert slowed_to <= 0.6 * before, (before, slowed_to)  # about half of what it was sending
    assert after <= slowed_to + WORKERS + 1, (before, slowed_to, after)


async def test_a_429_early_in_a_burst_halves_the_rate_rather_than_crawling(caplog: pytest.LogCaptureFixture) -> None:
    """The rate halved is the one actually sent, even when the client has sent for less than a second."""
    async with Emulator(finish_after=3600.0) as emu:
        token = emu.issue_token()
        async with NanoBanana(base_url=emu.url, session_token=token) as setup:
            task_id = (await setup.create("keep me waiting", image_urls=emu.sample_urls[:1])).task_id
        async with NanoBanana(base_url=emu.url, session_token=token, max_concurrency=WORKERS) as client:
            stop, workers = await _loaded(client, task_id)
            # Past the meter's shortest span (0.1 s), well inside its one-second window.
            await eventually(lambda: _span(requests_to(emu, "status")) > 0.3, what="the burst to get going")
            before_fault = len(requests_to(emu, "status"))
            emu.faults.script("status", Fault.status(429, retry_after=0.05), times=1)
            with caplog.at_level(logging.INFO, logger="nanobanana"):
                await eventually(lambda: any(_SLOWED_TO.search(r.getMessage()) for r in caplog.records))
            await _unload(stop, workers)
    status_calls = requests_to(emu, "status")
    throttled = status_calls[before_fault].at  # the emulator takes faults in the order requests arrive
    first = status_calls[0].at
    # What the client really sent in its short life before the 429, measured by the server.
    sent = rate_between(status_calls, first, throttled)
    assert 0.25 * sent < _slowed_to(caplog) < 0.75 * sent, (sent, _slowed_to(caplog))

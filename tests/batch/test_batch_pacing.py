"""Pacing seen from the server: a 429 slows the whole client, and many waiting tasks never poll in lockstep."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import defaultdict

import pytest
from batch_support import client_for, eventually, rate_between, requests_to

from nanobanana import NanoBanana, PollPolicy
from nanobanana.emulator import Emulator, Fault

WORKERS = 16


async def _poll_forever(client: NanoBanana, task_id: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await client.status(task_id)


async def _status_rate(emu: Emulator, seconds: float) -> float:
    """The status calls per second the emulator receives over the next ``seconds``."""
    start = time.monotonic()
    await asyncio.sleep(seconds)
    return rate_between(requests_to(emu, "status"), start, time.monotonic())


async def _loaded(client: NanoBanana, task_id: str) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    stop = asyncio.Event()
    return stop, [asyncio.create_task(_poll_forever(client, task_id, stop)) for _ in range(WORKERS)]


async def _unload(stop: asyncio.Event, workers: list[asyncio.Task[None]]) -> None:
    stop.set()
    await asyncio.gather(*workers)


@pytest.mark.parametrize("requests_per_second", [None, 100_000.0], ids=["no-limit", "limit-far-above-traffic"])
async def test_a_429_on_one_request_slows_every_request_of_the_client(requests_per_second: float | None) -> None:
    async with (
        Emulator(finish_after=600.0) as emu,
        client_for(emu, max_concurrency=WORKERS, requests_per_second=requests_per_second) as client,
    ):
        task = await client.create("keep me waiting", image_urls=emu.sample_urls[:1])
        stop, workers = await _loaded(client, task.task_id)
        await asyncio.sleep(1.2)  # past the first second: a steady state
        before = await _status_rate(emu, 0.8)
        # A create, not a status call, is told to slow down...
        emu.faults.script("create", Fault.status(429, retry_after=0.05), times=2)
        await client.create("a second task", image_urls=emu.sample_urls[:1])
        # ...and the status calls of every other coroutine slow down with it.
        after = await _status_rate(emu, 0.8)
        await _unload(stop, workers)
    assert emu.faults.pending == 0
    assert before > 100, before
    assert after < 0.7 * before, (before, after)


async def test_a_429_early_in_a_burst_halves_the_rate_rather_than_crawling() -> None:
    """The rate halved is the one actually sent, even when the client has sent for less than a second."""
    async with Emulator(finish_after=600.0) as emu:
        token = emu.issue_token()
        task_id = ""
        async with NanoBanana(base_url=emu.url, session_token=token, max_concurrency=WORKERS) as warmup:
            task_id = (await warmup.create("keep me waiting", image_urls=emu.sample_urls[:1])).task_id
            stop, workers = await _loaded(warmup, task_id)
            await asyncio.sleep(0.3)
            unthrottled = await _status_rate(emu, 0.8)
            await _unload(stop, workers)
        async with NanoBanana(base_url=emu.url, session_token=token, max_concurrency=WORKERS) as client:
            stop, workers = await _loaded(client, task_id)
            await asyncio.sleep(0.25)
            emu.faults.script("status", Fault.status(429, retry_after=0.05), times=1)
            await eventually(lambda: emu.faults.pending == 0)
            throttled = await _status_rate(emu, 0.8)
            await _unload(stop, workers)
    assert 0.25 * unthrottled < throttled < 0.75 * unthrottled, (unthrottled, throttled)


async def _poll_times(n: int, jitter: float) -> tuple[float, dict[str, list[float]]]:
    """Run ``n`` generations created together; the spread of their creates and each task's status call times."""
    poll = PollPolicy(initial=0.5, multiplier=1.0, maximum=0.5, jitter=jitter)
    async with Emulator(finish_after=2.0, result_size=(8, 8)) as emu, client_for(emu, poll=poll) as client:
        results = await asyncio.gather(
            *(client.generate(f"jitter {i}", image_urls=emu.sample_urls[:1]) for i in range(n))
        )
    assert len(results) == n
    creates = [r.at for r in requests_to(emu, "create")]
    polls: dict[str, list[float]] = defaultdict(list)
    for request in requests_to(emu, "status"):
        polls[request.body["taskId"]].append(request.at)
    assert len(polls) == n
    return max(creates) - min(creates), polls


def _busiest_window(polls: dict[str, list[float]], seconds: float = 0.02) -> int:
    every = sorted(t for times in polls.values() for t in times)
    return max(sum(1 for t in every[i:] if t < start + seconds) for i, start in enumerate(every))


async def test_many_waiting_tasks_do_not_poll_in_lockstep() -> None:
    n = 60
    create_spread, polls = await _poll_times(n, jitter=1.0)
    # The k-th status calls of the tasks, created together, are spread over the jitter window...
    for k in range(2):
        kth = [times[k] for times in polls.values()]
        assert max(kth) - min(kth) > create_spread + 0.2, (k, create_spread, max(kth) - min(kth))
    # ...so no short window sees a crowd of them: measured against the same run without jitter (a loaded
    # machine bunches both alike, so a fixed threshold would measure the machine, not the client),
    _, lockstep = await _poll_times(n, jitter=0.0)
    assert _busiest_window(polls) * 2 <= _busiest_window(lockstep), (_busiest_window(polls), _busiest_window(lockstep))
    # and each task's own intervals vary.
    gaps = [b - a for times in polls.values() for a, b in itertools.pairwise(times)]
    assert statistics.pstdev(gaps) > 0.05, gaps

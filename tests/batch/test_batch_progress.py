"""Progress and outcomes: consistent counts at every call, outcomes as they finish or in order, no abort."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from batch_support import client_for
from support import eventually

from nanobanana import BatchOutcome, BatchProgress, GenerationFailedError, InvalidInputError, PollPolicy
from nanobanana.emulator import Emulator

STAGES = ("queued", "creating", "waiting", "downloading", "done", "failed")
QUICK = PollPolicy(initial=0.02, multiplier=1.0, maximum=0.02, jitter=0.1)


def _check_snapshots(snapshots: list[BatchProgress], total: int) -> None:
    assert snapshots
    finished = 0
    for progress in snapshots:
        counts = dataclasses.asdict(progress)
        assert all(counts[stage] >= 0 for stage in STAGES), counts
        assert sum(counts[stage] for stage in STAGES) == progress.total == total, counts
        assert progress.finished >= finished, "finished items never go back"
        finished = progress.finished
    assert snapshots[-1].finished == total


@pytest.mark.parametrize("kind", ["plain", "async"])
async def test_progress_counts_add_up_at_every_call(kind: str, tmp_path: Path) -> None:
    n = 60
    snapshots: list[BatchProgress] = []

    def plain(progress: BatchProgress) -> None:
        snapshots.append(progress)

    async def coroutine(progress: BatchProgress) -> None:
        snapshots.append(progress)
        await asyncio.sleep(0)

    async with Emulator(finish_after=(0.05, 0.3), failure_rate=0.2, result_size=(8, 8), seed=11) as emu:
        items: list[object] = [f"progress {i}" for i in range(n - 1)]
        items.insert(17, {"prompt": ""})  # invalid: fails on its own, without stopping the others
        async with client_for(emu, poll=QUICK) as client:
            outcomes = await client.generate_batch(
                items,  # type: ignore[arg-type]
                concurrency=8,
                output_dir=tmp_path,
                on_progress=plain if kind == "plain" else coroutine,
                journal=tmp_path / "run.jsonl",
            )
    _check_snapshots(snapshots, n)
    ok = sum(o.ok for o in outcomes)
    assert snapshots[-1].done == ok
    assert snapshots[-1].failed == n - ok
    assert 0 < n - ok < n // 2
    assert isinstance(outcomes[17].error, InvalidInputError)
    assert all(isinstance(o.error, GenerationFailedError) and o.task_id for o in outcomes if not o.ok and o.index != 17)
    # Somewhere along the way, items were seen waiting and downloading.
    assert max(p.waiting for p in snapshots) > 0
    assert max(p.downloading for p in snapshots) > 0


async def _created(emu: Emulator, n: int) -> dict[str, str]:
    await eventually(lambda: emu.created_count >= n)
    return {task.prompt: task_id for task_id, task in emu.tasks.items()}


async def test_async_iteration_yields_outcomes_as_they_finish() -> None:
    order = [3, 1, 4, 0, 2]
    async with Emulator(finish_after=600.0, result_size=(8, 8)) as emu, client_for(emu, poll=QUICK) as client:
        seen: list[BatchOutcome] = []

        async def consume() -> None:
            async for outcome in client.generate_batch([f"item {i}" for i in range(5)], concurrency=5):
                seen.append(outcome)

        consumer = asyncio.create_task(consume())
        ids = await _created(emu, 5)
        for finished, index in enumerate(order, start=1):
            emu.finish(ids[f"item {index}"])
            await eventually(lambda count=finished: len(seen) >= count)
        await consumer
    assert [o.index for o in seen] == order
    assert all(o.ok for o in seen)


async def test_awaiting_gives_input_order_and_one_failure_does_not_abort() -> None:
    order = [4, 2, 0, 3, 1]
    snapshots: list[BatchProgress] = []
    async with Emulator(finish_after=600.0, result_size=(8, 8)) as emu, client_for(emu, poll=QUICK) as client:
        run = client.generate_batch([f"item {i}" for i in range(5)], concurrency=5, on_progress=snapshots.append)
        waiting = asyncio.ensure_future(run)
        ids = await _created(emu, 5)
        for finished, index in enumerate(order, start=1):
            if index == 2:
                emu.finish(ids["item 2"], fail_message="the banana slipped")
            else:
                emu.finish(ids[f"item {index}"])
            # Each one over before the next ends, so they finish in `order`, not in input order.
            await eventually(lambda n=finished: snapshots[-1].done + snapshots[-1].failed >= n)
        outcomes = await waiting
    assert [o.index for o in outcomes] == [0, 1, 2, 3, 4]
    assert [o.ok for o in outcomes] == [True, True, False, True, True]
    error = outcomes[2].error
    assert isinstance(error, GenerationFailedError)
    assert error.fail_msg == "the banana slipped"
    assert outcomes[2].task_id == ids["item 2"]
    _check_snapshots(snapshots, 5)
    assert (snapshots[-1].done, snapshots[-1].failed) == (4, 1)

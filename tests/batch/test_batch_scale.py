"""2,000 generations against the emulator with 429s, 5xx and dropped connections: every item succeeds, once.

The retry rule decides what the client may do on its own. 429 and 503 answers to a create are refusals, so the
transport retries them; a 500, a 502 or a connection dropped after the request was sent may have created the
task, so they are never retried blindly: `generate` raises, and a batch marks the item uncertain. The emulator
injects those faults *before* processing, so the test, playing the user who checks their history, finds no task
for those items and sends them again. In the end every prompt has exactly one task.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from batch_support import (
    add_background_faults,
    add_rate_limits,
    client_for,
    creates_per_prompt,
    fired,
)
from support import eventually

from nanobanana import APIConnectionError, BatchOutcome, GenerationResult, NanoBananaError, ServerError
from nanobanana.emulator import Emulator, Fault

N = 2000
PASSES = 6
# Tasks created before the 429 storms begin: the client is then sending at full speed.
WARM_UP = 100


@contextlib.asynccontextmanager
async def rate_limit_storms(emu: Emulator) -> AsyncIterator[None]:
    """Storms of 429s with ``Retry-After: 0.05``, once the run is at speed: a 0.3 s window in which a fifth of
    create and status calls answer 429, then a run of 429s on creates and one on the next status calls.

    Storms rather than a steady rate: a 429 halves the client's rate (once per second), so a steady share of
    429s independent of the client's rate would, by design, slow it to a crawl. At speed, because the halving
    starts from the rate the client measured: in its first moments that is a few requests a second, and the
    scripted runs, drained at that rate, would halve it again each second.
    """

    async def storms() -> None:
        await eventually(lambda: emu.created_count >= WARM_UP, what=f"{WARM_UP} tasks created before the storms")
        # A window in which a fifth of the calls answer 429...
        add_rate_limits(emu, rate=0.2)
        await asyncio.sleep(0.3)
        emu.faults.clear()
        add_background_faults(emu)
        # ...then runs of 429s on the next calls, scripted after the window's clear so that nothing drops them
        # before they fire, however fast or loaded the machine is.
        emu.faults.script("create", Fault.status(429, retry_after=0.05), times=20)
        await eventually(lambda: emu.count("status") > 0, what="a status call")
        emu.faults.script("status", Fault.status(429, retry_after=0.05), times=40)

    task = asyncio.create_task(storms())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _may_exist(error: BaseException) -> bool:
    """The failures the retry rule leaves to the caller: the create may have arrived."""
    if isinstance(error, APIConnectionError):
        return error.request_sent
    return isinstance(error, ServerError) and error.status_code in (500, 502)


def _assert_each_created_once(emu: Emulator, prompts: list[str]) -> None:
    per_prompt = creates_per_prompt(emu)
    assert [p for p, n in per_prompt.items() if n > 1] == []
    assert set(per_prompt) == set(prompts)
    assert emu.created_count == N


def _assert_faults_fired(emu: Emulator) -> None:
    for endpoint in ("create", "status"):
        assert fired(emu, endpoint, 429) > 0, endpoint
        assert fired(emu, endpoint, 500) + fired(emu, endpoint, 502) + fired(emu, endpoint, 503) > 0, endpoint
    assert emu.faults.count("create", "drop") > 0


@pytest.mark.slow
@pytest.mark.timeout(900)  # a guard against a hang, not a speed claim (those are in benchmarks/)
async def test_2000_generations_with_gather_each_created_once() -> None:
    async with Emulator(finish_after=0.0, result_size=(8, 8), seed=20260106) as emu:
        add_background_faults(emu)
        urls = emu.sample_urls[:1]
        prompts = [f"scale gather {i}" for i in range(N)]
        results: dict[str, GenerationResult] = {}
        async with client_for(emu) as client, rate_limit_storms(emu):
            todo = prompts
            for _ in range(PASSES):
                answers = await asyncio.gather(
                    *(client.generate(p, image_urls=urls) for p in todo), return_exceptions=True
                )
                existing = creates_per_prompt(emu)
                retry = []
                for prompt, answer in zip(todo, answers, strict=True):
                    if isinstance(answer, GenerationResult):
                        results[prompt] = answer
                        continue
                    assert isinstance(answer, NanoBananaError), repr(answer)
                    assert _may_exist(answer), repr(answer)
                    assert answer.task_id is None
                    # The user looks at their history: the faults struck before processing, so no task.
                    assert existing[prompt] == 0
                    retry.append(prompt)
                todo = retry
                if not todo:
                    break
        assert todo == []
        assert len(results) == N
        assert all(r.content is not None and r.content.startswith(b"\x89PNG") for r in results.values())
        assert len({r.task_id for r in results.values()}) == N
        _assert_each_created_once(emu, prompts)
        _assert_faults_fired(emu)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a guard against a hang, not a speed claim (those are in benchmarks/)
async def test_2000_generations_with_generate_batch_each_created_once(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    async with Emulator(finish_after=0.0, result_size=(8, 8), seed=20260107) as emu:
        add_background_faults(emu)
        urls = emu.sample_urls[:1]
        items = [{"id": f"item-{i:04d}", "prompt": f"scale batch {i}", "image_urls": urls} for i in range(N)]
        prompts = [str(item["prompt"]) for item in items]
        final: dict[str, BatchOutcome] = {}
        async with client_for(emu) as client, rate_limit_storms(emu):
            outcomes = await client.generate_batch(items, concurrency=64, journal=journal)
            for attempt in range(PASSES):
                assert [o.index for o in outcomes] == list(range(N))
                existing = creates_per_prompt(emu)
                uncertain = []
                for outcome in outcomes:
                    if outcome.ok:
                        final[outcome.key] = outcome
                        continue
                    assert outcome.error is not None
                    if attempt == 0 or not outcome.resumed:
                        assert _may_exist(outcome.error), repr(outcome.error)
                    else:  # an item left uncertain by the previous pass, run again only if asked to
                        assert "retry_uncertain" in str(outcome.error)
                    assert outcome.task_id is None
                    assert existing[prompts[outcome.index]] == 0
                    uncertain.append(outcome)
                if not uncertain:
                    break
                # Without retry_uncertain the journal refuses to send them again...
                again = await client.generate_batch(items, concurrency=64, journal=journal)
                assert {o.key for o in again if not o.ok} == {o.key for o in uncertain}
                assert all(o.resumed for o in again)
                # ...with it, having checked the history, the user has them created.
                outcomes = await client.generate_batch(items, concurrency=64, journal=journal, retry_uncertain=True)
        assert len(final) == N
        assert all(o.result is not None for o in final.values())
        _assert_each_created_once(emu, prompts)
        _assert_faults_fired(emu)

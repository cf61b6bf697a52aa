"""Outcomes keep their meaning across a resume, the batch stops early when the account fails, progress is true."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import client_for, client_of

from nanobanana import (
    APIConnectionError,
    AuthenticationError,
    BatchAbortedError,
    BatchProgress,
    GenerationFailedError,
    InsufficientCreditsError,
    NanoBananaError,
    UncertainCreateError,
)
from nanobanana._batch_outcomes import rebuilt_error
from nanobanana._journal import Entry
from nanobanana.emulator import Emulator, Fault


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emulator:
        yield emulator


def _items(emu: Emulator, n: int = 3, prompt: str = "look") -> list[dict[str, Any]]:
    return [{"id": f"item-{i}", "prompt": f"{prompt} {i}", "image_urls": emu.sample_urls[:1]} for i in range(n)]


# --- error classes across a resume ----------------------------------------------------------------------------


async def test_a_resumed_failure_keeps_its_error_class_message_and_task(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    emu.configure(failure_rate=1.0, failure_message="the prompt was refused")
    async with client_for(emu) as client:
        [first] = await client.generate_batch(_items(emu, 1), journal=journal)
        [again] = await client.generate_batch(_items(emu, 1), journal=journal)
    assert again.resumed
    assert isinstance(again.error, GenerationFailedError)
    assert again.error.task_id == first.task_id == again.task_id
    assert str(again.error) == str(first.error)
    assert again.error.fail_msg == "the prompt was refused"
    assert emu.count("create") == 1


async def test_a_lost_create_answer_is_uncertain_in_the_run_and_after_the_resume(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    emu.faults.script("create", Fault.drop(after_processing=True), times=1)
    async with client_for(emu) as client:
        [first] = await client.generate_batch(_items(emu, 1), journal=journal)
        [again] = await client.generate_batch(_items(emu, 1), journal=journal)
    assert isinstance(first.error, APIConnectionError)
    assert first.uncertain
    assert again.uncertain
    assert isinstance(again.error, UncertainCreateError)
    assert again.error.key == "item-0"
    assert again.error.cause_type == "APIConnectionError"
    assert again.error.retryable is False
    assert "retry_uncertain=True" in str(again.error)


async def test_a_create_cut_off_by_a_crash_is_uncertain_with_its_send_time(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    lines = [
        {"event": "journal", "version": 2},
        {"key": "item-0", "event": "creating", "index": 0, "time": "2026-11-29T20:00:00.000+00:00"},
    ]
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    async with client_for(emu) as client:
        [outcome] = await client.generate_batch(_items(emu, 1), journal=journal)
    assert isinstance(outcome.error, UncertainCreateError)
    assert outcome.error.cause_type is None
    assert outcome.error.sent_at == "2026-11-29T20:00:00.000+00:00"
    assert "stopped before the answer" in str(outcome.error)
    assert emu.count("create") == 0


# --- stopping early ----------------------------------------------------------------------------------------------


async def test_repeated_401s_stop_new_creates_and_leave_the_rest_not_started(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    items = _items(emu, 10)
    async with client_of(emu.url, "an-expired-token") as client:
        outcomes = await client.generate_batch(items, concurrency=1, journal=journal)
    assert [type(o.error) for o in outcomes[:3]] == [AuthenticationError] * 3
    not_started = outcomes[3:]
    assert all(isinstance(o.error, BatchAbortedError) for o in not_started)
    assert all(o.error is not None and o.error.retryable for o in not_started)
    assert emu.count("create") == 3
    async with client_for(emu) as client:  # signed in again: the same journal starts every item
        again = await client.generate_batch(items, concurrency=1, journal=journal)
    assert all(o.ok for o in again)
    assert emu.created_count == 10


async def test_running_out_of_credits_stops_the_batch(emu: Emulator) -> None:
    emu.configure(credits=2)
    async with client_for(emu) as client:
        outcomes = await client.generate_batch(_items(emu, 8), concurrency=1)
    assert [o.ok for o in outcomes[:2]] == [True, True]
    assert all(isinstance(o.error, InsufficientCreditsError) for o in outcomes[2:5])
    assert all(isinstance(o.error, BatchAbortedError) for o in outcomes[5:])
    assert emu.count("create") == 5


async def test_a_cloudflare_block_stops_the_batch(emu: Emulator) -> None:
    emu.faults.script("create", Fault.html_challenge(403), times=50)
    async with client_for(emu) as client:
        outcomes = await client.generate_batch(_items(emu, 6), concurrency=1)
    assert all(not o.ok for o in outcomes)
    assert all(isinstance(o.error, BatchAbortedError) for o in outcomes[3:])
    assert emu.count("create") == 3


async def test_account_failures_with_successes_between_do_not_stop_the_batch(emu: Emulator) -> None:
    emu.faults.script("create", Fault.status(401), times=2)
    async with client_for(emu) as client:
        outcomes = await client.generate_batch(_items(emu, 6), concurrency=1)
    assert [o.ok for o in outcomes] == [False, False, True, True, True, True]
    emu.faults.script("create", Fault.status(401), times=1)
    async with client_for(emu) as client:
        outcomes = await client.generate_batch(_items(emu, 6, "again"), concurrency=1)
    assert not any(isinstance(o.error, BatchAbortedError) for o in outcomes)


async def test_progress_counts_items_not_started(emu: Emulator) -> None:
    seen: list[BatchProgress] = []
    async with client_of(emu.url, "an-expired-token") as client:
        await client.generate_batch(_items(emu, 5), concurrency=1, on_progress=seen.append)
    assert seen[-1].not_started == 2
    assert seen[-1].failed == 5


# --- progress over a resume ---------------------------------------------------------------------------------------


async def test_progress_after_a_resume_counts_skipped_items_apart(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    items = _items(emu, 6)
    seen: list[BatchProgress] = []
    async with client_for(emu) as client:
        await client.generate_batch(items[:4], journal=journal)
        await client.generate_batch(items, journal=journal, on_progress=seen.append)
    first, last = seen[0], seen[-1]
    assert (first.skipped, first.done, first.run_total, first.run_finished) == (4, 4, 2, 0)
    assert (last.skipped, last.done, last.run_total, last.run_finished) == (4, 6, 2, 2)


async def test_progress_counts_items_re_attached_to_earlier_tasks(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    items = _items(emu, 2)
    seen: list[BatchProgress] = []
    async with client_for(emu) as client:
        task = await client.create(items[0]["prompt"], image_urls=items[0]["image_urls"])
        lines = [
            {"event": "journal", "version": 2},
            {"key": "item-0", "event": "creating", "index": 0},
            {"key": "item-0", "event": "created", "task_id": task.task_id},
        ]
        journal.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        outcomes = await client.generate_batch(items, journal=journal, on_progress=seen.append)
    assert outcomes[0].task_id == task.task_id
    assert all(o.ok for o in outcomes)
    assert (seen[0].reattached, seen[0].run_finished, seen[0].queued) == (1, 0, 2)  # told before anything runs
    assert seen[-1].reattached == 1
    assert seen[-1].skipped == 0
    assert emu.count("create") == 2


def test_a_recorded_error_is_rebuilt_as_its_class_with_its_recorded_details() -> None:
    entry = Entry(
        key="item-0", event="failed", task_id="t-1", error="402: out of credits", error_type="InsufficientCreditsError"
    )
    error = rebuilt_error(Entry(**{**entry.__dict__, "status_code": 402}))
    assert isinstance(error, InsufficientCreditsError)
    assert (error.status_code, error.task_id, str(error)) == (402, "t-1", "402: out of credits (task t-1)")
    assert error.headers is None  # a live object of the earlier run: not recorded


def test_an_error_class_this_version_does_not_know_is_rebuilt_as_the_base_class() -> None:
    error = rebuilt_error(Entry(key="item-0", event="failed", error="odd", error_type="ErrorOfANewerVersion"))
    assert type(error) is NanoBananaError
    assert error.message == "odd"

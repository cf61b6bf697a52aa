"""Crash safety: a batch killed with SIGKILL resumes from its journal without paying twice or losing a file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import assert_complete_png, client_of, creates_per_prompt, requests_to
from support import eventually_blocking, journal_events, last_record_per_key

from nanobanana import APIConnectionError, GenerationFailedError, JournalLockedError
from nanobanana.emulator import Emulator, Fault, sample_images

RUNNER = Path(__file__).with_name("batch_runner.py")
N = 40


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An emulator serving from its own thread, so a child process and the test can both use it."""
    with Emulator(finish_after=(0.5, 2.0), result_size=(64, 64), seed=4242).run_in_thread() as emu:
        yield emu


def _items(emu: Emulator, n: int = N) -> list[dict[str, Any]]:
    return [{"id": f"item-{i:02d}", "prompt": f"crash safety {i}", "image_urls": emu.sample_urls[:1]} for i in range(n)]


def _start_runner(
    emu: Emulator, token: str, journal: Path, out: Path, items: list[dict[str, Any]], concurrency: int
) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(RUNNER), emu.url, token, str(journal), str(out), json.dumps(items), str(concurrency)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(
    process: subprocess.Popen[bytes], journal: Path, *, done: int, created: int
) -> dict[str, dict[str, Any]]:
    """SIGKILL the runner once the journal shows ``done`` items done and ``created`` created (or beyond)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the runner ended early: {process.stderr.read() if process.stderr else ''}"
        state = last_record_per_key(journal)
        events = Counter(record["event"] for record in state.values())
        if events["done"] >= done and events["done"] + events["created"] >= created and events["done"] < N:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            assert process.stderr is not None
            process.stderr.close()
            return last_record_per_key(journal)
        time.sleep(0.005)
    process.kill()
    process.wait()
    raise AssertionError("the journal never reached the state to kill at")


@pytest.mark.parametrize("concurrency", [N, 8], ids=["all-created-at-once", "creating-while-killed"])
async def test_a_killed_batch_resumes_without_duplicates(emulator: Emulator, tmp_path: Path, concurrency: int) -> None:
    emu = emulator
    token = emu.issue_token()
    journal, out = tmp_path / "run.jsonl", tmp_path / "out"
    items = _items(emu)
    runner = _start_runner(emu, token, journal, out, items, concurrency)
    try:
        state = _kill_when(runner, journal, done=3, created=N if concurrency == N else 12)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    done_before = {key: record for key, record in state.items() if record["event"] == "done"}
    in_flight = {key for key, record in state.items() if record["event"] == "creating"}
    assert 3 <= len(done_before) < N
    if concurrency == N:
        assert in_flight == set()  # every create had been answered before the kill

    async with client_of(emu.url, token) as client:
        outcomes = await client.generate_batch(items, concurrency=16, output_dir=out, journal=journal)
        assert [o.index for o in outcomes] == list(range(N))
        # Items whose create was in flight at the kill are uncertain: reported, never sent again on their own.
        uncertain = {o.key for o in outcomes if not o.ok}
        assert uncertain <= in_flight
        for outcome in outcomes:
            if not outcome.ok:
                assert "retry_uncertain" in str(outcome.error)
        per_prompt = creates_per_prompt(emu)
        # The user checks their history: an uncertain create that never arrived is sent again on request.
        never_arrived = [item for item in items if item["id"] in uncertain and per_prompt[item["prompt"]] == 0]
        if never_arrived:
            again = await client.generate_batch(never_arrived, output_dir=out, journal=journal, retry_uncertain=True)
            assert all(o.ok for o in again)

    per_prompt = creates_per_prompt(emu)
    assert max(per_prompt.values()) == 1, [p for p, n in per_prompt.items() if n > 1]
    assert set(per_prompt) == {item["prompt"] for item in items}
    arrived_but_unknown = {item["id"] for item in items if item["id"] in uncertain and item not in never_arrived}
    ok = {o.key for o in outcomes if o.ok} | {item["id"] for item in never_arrived}
    assert ok | arrived_but_unknown == {item["id"] for item in items}
    # Creates, as the emulator received them: one per prompt.
    sent = Counter(r.body["prompt"] for r in requests_to(emu, "create"))
    assert max(sent.values()) == 1
    # Finished items were not downloaded again.
    downloads = Counter(r.path for r in requests_to(emu, "download"))
    for key, record in done_before.items():
        assert downloads[emu.tasks[record["task_id"]].result_path] == 1, key
        assert next(o for o in outcomes if o.key == key).resumed
    # Complete files only, one per finished item, no temporary leftovers.
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{key}.png" for key in ok)
    for path in out.iterdir():
        assert_complete_png(path)


def test_a_running_batch_locks_its_journal_against_other_processes(emulator: Emulator, tmp_path: Path) -> None:
    emu = emulator
    emu.configure(finish_after=3600.0)  # the first run holds the lock until the test kills it
    token = emu.issue_token()
    journal, out = tmp_path / "run.jsonl", tmp_path / "out"
    items = _items(emu, 8)
    first = _start_runner(emu, token, journal, out, items, 8)
    try:
        eventually_blocking(lambda: journal_events(journal, "created"), what="the first run to create a task")
        second = subprocess.run(
            [sys.executable, str(RUNNER), emu.url, token, str(journal), str(out), json.dumps(items), "8"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3
        assert str(journal) in second.stderr
        assert "in use by another batch run" in second.stderr
    finally:
        first.kill()
        first.wait()
        if first.stderr:
            first.stderr.close()


async def test_two_runs_on_one_journal_at_once_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    journal = tmp_path / "shared.jsonl"
    async with Emulator(finish_after=0.2, result_size=(8, 8)) as emu:
        client = client_of(emu.url, emu.issue_token())
        async with client:
            results = await asyncio.gather(
                client.generate_batch(["a banana"], journal=journal),
                client.generate_batch(["a banana"], journal=journal),
                return_exceptions=True,
            )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], JournalLockedError)
    message = str(errors[0])
    assert str(journal) in message
    assert "in use by another batch run" in message
    assert "use another file" in message
    outcomes = next(r for r in results if isinstance(r, list))
    assert [o.ok for o in outcomes] == [True]
    assert emu.created_count == 1


async def test_a_create_dropped_after_processing_is_uncertain_not_created_twice(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emu:
        items = [{"id": f"item-{i}", "prompt": f"dropped {i}", "image_urls": emu.sample_urls[:1]} for i in range(3)]
        emu.faults.script("create", Fault.drop(after_processing=True), times=1)
        async with client_of(emu.url, emu.issue_token()) as client:
            first = await client.generate_batch(items, concurrency=1, journal=journal)
            assert [o.ok for o in first] == [False, True, True]
            assert isinstance(first[0].error, APIConnectionError)
            assert first[0].error.request_sent
            assert first[0].task_id is None
            assert emu.created_count == 3  # the server did create it

            again = await client.generate_batch(items, concurrency=1, journal=journal)
            assert [o.ok for o in again] == [False, True, True]
            assert all(o.resumed for o in again)
            assert "may exist" in str(again[0].error)
            assert "retry_uncertain=True" in str(again[0].error)
            assert emu.count("create") == 3
            assert emu.created_count == 3

            forced = await client.generate_batch(items, concurrency=1, journal=journal, retry_uncertain=True)
            assert [o.ok for o in forced] == [True, True, True]
            assert emu.created_count == 4  # asked for: the user accepted the risk
    assert creates_per_prompt(emu)["dropped 0"] == 2


@pytest.mark.parametrize("code", [500, 502])
async def test_a_create_answered_with_a_5xx_is_uncertain_on_resume(tmp_path: Path, code: int) -> None:
    """A 500 or 502 may come after the task was made (the retry rule): resuming must not send it again."""
    journal = tmp_path / "run.jsonl"
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emu:
        items = [{"id": "only", "prompt": "a banana", "image_urls": emu.sample_urls[:1]}]
        emu.faults.script("create", Fault.status(code), times=1)
        async with client_of(emu.url, emu.issue_token()) as client:
            first = await client.generate_batch(items, journal=journal)
            assert not first[0].ok
            assert emu.count("create") == 1
            again = await client.generate_batch(items, journal=journal)
            assert not again[0].ok
            assert again[0].resumed
            assert "retry_uncertain" in str(again[0].error)
            assert emu.count("create") == 1
            forced = await client.generate_batch(items, journal=journal, retry_uncertain=True)
            assert forced[0].ok
            assert emu.count("create") == 2


async def test_an_upload_that_failed_is_not_mistaken_for_an_uncertain_create(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    image = tmp_path / "me.png"
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emu:
        image.write_bytes(sample_images()[0][1])
        items = [{"id": "only", "prompt": "a banana", "images": [str(image)]}]
        emu.faults.script("upload", Fault.drop(), times=1)
        async with client_of(emu.url, emu.issue_token()) as client:
            first = await client.generate_batch(items, journal=journal)
            assert not first[0].ok
            assert emu.count("create") == 0
            again = await client.generate_batch(items, journal=journal)  # nothing was created: just run it
            assert again[0].ok
            assert not again[0].resumed
    assert emu.created_count == 1


async def test_retrying_a_failed_item_whose_new_create_is_lost_is_uncertain(tmp_path: Path) -> None:
    """retry_failed replaces the failed task; if the new create's answer is lost, the item is uncertain."""
    journal = tmp_path / "run.jsonl"
    async with Emulator(finish_after=0.0, result_size=(8, 8), failure_rate=1.0) as emu:
        items = [{"id": "only", "prompt": "a banana", "image_urls": emu.sample_urls[:1]}]
        async with client_of(emu.url, emu.issue_token()) as client:
            first = await client.generate_batch(items, journal=journal)
            assert isinstance(first[0].error, GenerationFailedError)
            failed_task = first[0].task_id
            emu.configure(failure_rate=0.0)
            emu.faults.script("create", Fault.drop(after_processing=True), times=1)
            second = await client.generate_batch(items, journal=journal, retry_failed=True)
            assert isinstance(second[0].error, APIConnectionError)
            assert second[0].task_id != failed_task  # not the old task: its replacement's id is unknown
            assert emu.created_count == 2
            third = await client.generate_batch(items, journal=journal, retry_failed=True)
            assert not third[0].ok
            assert "retry_uncertain" in str(third[0].error)
            assert emu.created_count == 2


async def test_a_resumed_batch_removes_partial_downloads_of_its_items(tmp_path: Path) -> None:
    journal, out = tmp_path / "run.jsonl", tmp_path / "out"
    out.mkdir()
    (out / ".item-1.png.k3j4h5g6.part").write_bytes(b"\x89PNG half an image")  # left by a kill -9
    (out / ".notes.txt.abcdefgh.part").write_bytes(b"not ours")
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emu:
        items = [{"id": f"item-{i}", "prompt": f"p {i}", "image_urls": emu.sample_urls[:1]} for i in range(3)]
        async with client_of(emu.url, emu.issue_token()) as client:
            outcomes = await client.generate_batch(items, output_dir=out, journal=journal)
    assert all(o.ok for o in outcomes)
    assert sorted(p.name for p in out.iterdir()) == [
        ".notes.txt.abcdefgh.part",
        "item-0.png",
        "item-1.png",
        "item-2.png",
    ]

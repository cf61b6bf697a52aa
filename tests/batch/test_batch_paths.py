"""The batch's less travelled paths, through `generate_batch` and `read_batch_file` on the emulator.

Journal repair and unreadable lines, the per-task timeout, output names and extensions, resuming after a file
was deleted, running a batch twice, breaking out of or cancelling one, and a create answered with a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import client_for
from support import JPEG, PNG_SIGNATURE, eventually, journal_events, journal_records, settle

from nanobanana import InvalidInputError, NanoBanana, WaitTimeoutError, read_batch_file
from nanobanana._journal import Journal
from nanobanana.emulator import Emulator, Fault


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(finish_after=0.0, result_size=(8, 8), seed=5) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[NanoBanana]:
    async with client_for(emu) as nano:
        yield nano


def _items(emu: Emulator, *ids: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": key, "prompt": f"prompt {key}", "image_urls": emu.sample_urls[:1], **extra} for key in ids]


# --- the journal ----------------------------------------------------------------------------------------------


async def test_a_journal_cut_short_by_a_crash_is_repaired_and_resumed(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    await client.generate_batch(_items(emu, "a"), journal=journal)
    with journal.open("a", encoding="utf-8") as file:
        file.write('{"key":"b","event":"crea')  # the last line, cut by a kill -9

    outcomes = await client.generate_batch(_items(emu, "a", "b"), journal=journal)

    assert [(o.key, o.ok, o.resumed) for o in outcomes] == [("a", True, True), ("b", True, False)]
    assert emu.created_count == 2
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert lines.count('{"key":"b","event":"crea') == 1  # kept, on a line of its own
    assert len(journal_records(journal)) == len(lines) - 1  # every later record is whole
    assert [r["key"] for r in journal_events(journal, "done")] == ["a", "b"]


async def test_an_unreadable_journal_line_is_skipped_with_a_warning(
    emu: Emulator, client: NanoBanana, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "run.jsonl"
    await client.generate_batch(_items(emu, "a"), journal=journal)
    lines = journal.read_text(encoding="utf-8").splitlines()
    journal.write_text("\n".join([lines[0], "not json at all", *lines[1:]]) + "\n", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="nanobanana"):
        outcomes = await client.generate_batch(_items(emu, "a"), journal=journal)

    assert [(o.ok, o.resumed) for o in outcomes] == [(True, True)]
    assert emu.created_count == 1
    assert [r.getMessage() for r in caplog.records] == [f"Journal {journal}: ignoring unreadable line 2"]


async def test_items_without_an_id_resume_by_their_content(emu: Emulator, client: NanoBanana, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    prompts = ["a banana", "two bananas"]
    first = await client.generate_batch(prompts, journal=journal)
    again = await client.generate_batch(prompts, journal=journal)

    assert [o.key for o in again] == [o.key for o in first]
    assert all(o.ok and o.resumed for o in again)
    assert emu.count("create") == 2


# --- outputs --------------------------------------------------------------------------------------------------


async def test_an_items_output_name_and_format_name_its_file(emu: Emulator, client: NanoBanana, tmp_path: Path) -> None:
    items = [*_items(emu, "named", output="chosen.png"), *_items(emu, "photo", output_format="jpeg")]

    outcomes = await client.generate_batch(items, output_dir=tmp_path)

    assert [o.result.path for o in outcomes if o.result] == [tmp_path / "chosen.png", tmp_path / "photo.jpg"]
    assert (tmp_path / "chosen.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (tmp_path / "photo.jpg").read_bytes()[:3] == JPEG[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chosen.png", "photo.jpg"]


async def test_a_finished_file_deleted_before_resuming_is_downloaded_again(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    journal, out = tmp_path / "run.jsonl", tmp_path / "out"
    await client.generate_batch(_items(emu, "a", "b"), output_dir=out, journal=journal)
    (out / "a.png").unlink()

    outcomes = await client.generate_batch(_items(emu, "a", "b"), output_dir=out, journal=journal)

    assert all(o.ok for o in outcomes)
    assert (out / "a.png").read_bytes().startswith(PNG_SIGNATURE)
    assert emu.count("create") == 2  # the task was not paid for again: only its result fetched
    assert emu.count("download") == 3


# --- timeouts and failures ------------------------------------------------------------------------------------


async def test_a_task_past_the_batch_timeout_fails_with_a_wait_timeout(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(finish_after=3600.0)  # never done: only the timeout ends the wait

    (outcome,) = await client.generate_batch(_items(emu, "slow"), timeout=0.1)

    assert not outcome.ok
    assert isinstance(outcome.error, WaitTimeoutError)
    assert outcome.error.timeout == 0.1
    assert outcome.task_id == next(iter(emu.tasks))


async def test_a_create_answered_with_a_page_is_uncertain_on_resume(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    """An HTML page with a 200 may stand in front of a create that went through: never sent again blindly."""
    journal = tmp_path / "run.jsonl"
    emu.faults.script("create", Fault.html_challenge(200))
    first = await client.generate_batch(_items(emu, "a"), journal=journal)
    again = await client.generate_batch(_items(emu, "a"), journal=journal)

    assert not first[0].ok
    assert not again[0].ok
    assert "retry_uncertain" in str(again[0].error)
    assert emu.count("create") == 1


# --- running it -----------------------------------------------------------------------------------------------


async def test_a_batch_runs_once(emu: Emulator, client: NanoBanana) -> None:
    run = client.generate_batch(_items(emu, "a"))
    assert [o.ok for o in await run] == [True]

    with pytest.raises(RuntimeError, match="a batch runs once"):
        await run
    assert emu.created_count == 1


async def _no_more_polls(emu: Emulator) -> None:
    # A poll sent just before the batch stopped still reaches the emulator (on this loop) a few turns later.
    for _ in range(100):
        await asyncio.sleep(0)
    polls = emu.count("status")
    await asyncio.sleep(0.5)  # a few poll intervals: room for a poll that must not come
    assert emu.count("status") == polls


async def _resume_all(emu: Emulator, client: NanoBanana, items: list[dict[str, Any]], journal: Path) -> None:
    """The journal was released: another run takes it and picks up the same tasks."""
    for task_id in emu.tasks:
        emu.finish(task_id)
    again = await client.generate_batch(items, journal=journal)
    assert all(o.ok for o in again)
    assert emu.created_count == len(items)


async def test_breaking_out_of_a_batch_stops_the_rest_and_releases_the_journal(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    emu.configure(finish_after=3600.0)
    items = _items(emu, "first", "second", "third")
    async with contextlib.aclosing(aiter(client.generate_batch(items, concurrency=3, journal=journal))) as run:
        first = asyncio.ensure_future(anext(run))
        await eventually(lambda: emu.created_count == 3 and emu.count("status") >= 3, what="every task polled")
        emu.finish(next(t.task_id for t in emu.tasks.values() if t.prompt == "prompt first"))
        assert (await first).key == "first"

    await _no_more_polls(emu)
    await _resume_all(emu, client, items, journal)


async def test_cancelling_a_batch_stops_it_and_releases_the_journal(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    emu.configure(finish_after=3600.0)
    items = _items(emu, "a", "b")
    running = asyncio.ensure_future(client.generate_batch(items, journal=journal))
    await eventually(lambda: emu.created_count == 2 and emu.count("status") >= 2, what="both tasks polled")

    running.cancel()
    await settle(running)

    with pytest.raises(asyncio.CancelledError):
        await running
    await _no_more_polls(emu)
    await _resume_all(emu, client, items, journal)


# --- the batch file -------------------------------------------------------------------------------------------


def test_a_missing_batch_file_says_which(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(InvalidInputError, match="cannot read batch file") as caught:
        read_batch_file(missing)
    assert str(missing) in str(caught.value)


def test_a_batch_file_is_read_into_items(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text("# a comment\n" + json.dumps({"id": "a", "prompt": "a banana"}) + "\n", encoding="utf-8")
    (item,) = read_batch_file(path)
    assert (item.id, item.prompt) == ("a", "a banana")


async def test_breaking_out_of_a_batch_stops_its_workers_before_the_journal_closes(
    emu: Emulator, client: NanoBanana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.configure(finish_after=3600.0)
    items = _items(emu, "first", "second", "third")
    still_running: list[list[str]] = []
    close = Journal.close

    def close_and_look(journal: Journal) -> None:
        workers = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.endswith("._worker") and not t.done()]
        still_running.append([repr(t) for t in workers])
        close(journal)

    monkeypatch.setattr(Journal, "close", close_and_look)
    async with contextlib.aclosing(aiter(client.generate_batch(items, concurrency=3, journal=tmp_path / "j"))) as run:
        first = asyncio.ensure_future(anext(run))
        await eventually(lambda: emu.created_count == 3, what="every task created")
        emu.finish(next(t.task_id for t in emu.tasks.values() if t.prompt == "prompt first"))
        assert (await first).key == "first"

    assert still_running == [[]]

"""A batch refuses what would make it pay twice or return another batch's results, before anything is sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import client_for

from nanobanana import InvalidInputError, NanoBanana, read_batch_file
from nanobanana.emulator import Emulator, Fault, sample_images


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emulator:
        yield emulator


def _items(emu: Emulator, prompt: str = "look", n: int = 3) -> list[dict[str, Any]]:
    return [{"id": f"item-{i}", "prompt": f"{prompt} {i}", "image_urls": emu.sample_urls[:1]} for i in range(n)]


def _lines(journal: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]


async def test_a_new_journal_starts_with_a_versioned_header_naming_the_batch(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    async with client_for(emu) as client:
        await client.generate_batch(_items(emu), journal=journal)
    header = _lines(journal)[0]
    assert header["event"] == "journal"
    assert header["version"] == 2
    assert header["fingerprint"].startswith("sha256:")
    assert header["items"] == 3


async def test_a_journal_of_an_unknown_version_is_refused(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    journal.write_text(json.dumps({"event": "journal", "version": 99}) + "\n", encoding="utf-8")
    async with client_for(emu) as client:
        with pytest.raises(InvalidInputError, match="format version 99"):
            await client.generate_batch(_items(emu), journal=journal)
    assert emu.count("create") == 0


async def test_a_journal_without_a_header_is_read_as_version_1(emu: Emulator, tmp_path: Path) -> None:
    journal, result = tmp_path / "run.jsonl", tmp_path / "item-0.png"
    result.write_bytes(b"\x89PNG earlier result")
    url = "http://127.0.0.1/r.png"
    old_line = {"key": "item-0", "event": "done", "task_id": "t-0", "url": url, "path": str(result)}
    journal.write_text(json.dumps(old_line) + "\n", encoding="utf-8")
    async with client_for(emu) as client:
        outcomes = await client.generate_batch(_items(emu, n=1), journal=journal, output_dir=tmp_path)
    assert outcomes[0].ok
    assert outcomes[0].resumed
    assert emu.count("create") == 0


async def test_a_journal_written_by_another_batch_is_refused(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    async with client_for(emu) as client:
        await client.generate_batch(_items(emu, "first batch"), journal=journal)
        with pytest.raises(InvalidInputError, match="written by another batch") as caught:
            await client.generate_batch(_items(emu, "second batch"), journal=journal)
    assert "'item-0'" in str(caught.value)
    assert emu.count("create") == 3


async def test_a_journal_sharing_no_item_with_the_batch_is_refused(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    async with client_for(emu) as client:
        await client.generate_batch(["a banana"], journal=journal)
        with pytest.raises(InvalidInputError, match="none of its items are here"):
            await client.generate_batch(["an apple"], journal=journal)
    assert emu.count("create") == 1


async def test_a_part_of_the_same_batch_may_resume_from_its_journal(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    items = _items(emu)
    async with client_for(emu) as client:
        await client.generate_batch(items[:2], journal=journal)
        outcomes = await client.generate_batch(items, journal=journal)
    assert [o.resumed for o in outcomes] == [True, True, False]
    assert emu.count("create") == 3


async def test_duplicate_ids_are_refused_before_anything_is_sent(emu: Emulator) -> None:
    items = [{"id": "look", "prompt": "one"}, {"id": "look", "prompt": "two"}]
    async with client_for(emu) as client:
        with pytest.raises(InvalidInputError, match="unique ids; repeated: 'look'"):
            client.generate_batch(items)
    assert emu.count("create") == 0


async def test_two_items_writing_one_output_file_are_refused(emu: Emulator, tmp_path: Path) -> None:
    items = [{"prompt": "one", "output": "same.png"}, {"prompt": "two", "output": "same.png"}]
    async with client_for(emu) as client:
        with pytest.raises(InvalidInputError, match="unique output files"):
            client.generate_batch(items, output_dir=tmp_path)
    assert emu.count("create") == 0


def test_a_batch_file_that_is_not_utf8_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes('{"prompt": "caf\u00e9"}\n'.encode("latin-1"))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        read_batch_file(path)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"items": "a single prompt"}, "items must be a list"),
        ({"items": {"prompt": "a dict"}}, "items must be a list"),
        ({"items": 5}, "items must be an iterable"),
        ({"items": [5]}, None),  # an invalid item fails on its own: not an argument error
        ({"concurrency": "4"}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"concurrency": 0}, "concurrency"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": "60"}, "timeout"),
        ({"on_progress": 5}, "on_progress"),
        ({"retry_failed": "yes"}, "retry_failed"),
        ({"retry_uncertain": 1}, "retry_uncertain"),
        ({"output_dir": 5}, "output_dir"),
        ({"journal": 5}, "journal"),
    ],
)
def test_every_argument_of_generate_batch_is_checked_when_it_is_called(
    arguments: dict[str, Any], message: str | None
) -> None:
    client = NanoBanana(base_url="http://127.0.0.1:9", session_token="token")
    arguments = {"items": ["a banana"], **arguments}
    if message is None:
        client.generate_batch(**arguments)
        return
    with pytest.raises(InvalidInputError, match=message):
        client.generate_batch(**arguments)


def test_an_output_dir_that_is_a_file_and_a_journal_that_is_a_folder_are_refused(tmp_path: Path) -> None:
    client = NanoBanana(base_url="http://127.0.0.1:9", session_token="token")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="is a file; it must be a folder"):
        client.generate_batch(["a banana"], output_dir=tmp_path / "file")
    with pytest.raises(InvalidInputError, match="is a folder; it must be a file"):
        client.generate_batch(["a banana"], journal=tmp_path)


async def test_every_event_and_field_the_journal_holds_is_documented(tmp_path: Path) -> None:
    journal, photo = tmp_path / "run.jsonl", tmp_path / "me.png"
    page = (Path(__file__).parents[2] / "docs" / "reference" / "journal.md").read_text(encoding="utf-8")
    async with Emulator(finish_after=0.0, result_size=(8, 8), seed=3) as emu:
        photo.write_bytes(sample_images()[0][1])
        emu.faults.script("create", Fault.drop(after_processing=True), times=1)
        emu.configure(failure_rate=0.5)
        items = [{"id": f"item-{i}", "prompt": f"p {i}", "images": [str(photo)]} for i in range(8)]
        async with client_for(emu) as client:
            await client.generate_batch(items, concurrency=1, journal=journal, output_dir=tmp_path / "out")
    lines = _lines(journal)
    assert {line["event"] for line in lines} == {"journal", "upload", "creating", "created", "done", "failed"}
    for name in {line["event"] for line in lines} | {field for line in lines for field in line}:
        assert f"`{name}`" in page, name


async def test_a_journal_or_output_dir_that_cannot_be_made_is_invalid_input(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    async with client_for(emu) as client:
        with pytest.raises(InvalidInputError, match="cannot open the journal"):
            await client.generate_batch(["a banana"], journal=tmp_path / "a-file" / "run.jsonl")
        with pytest.raises(InvalidInputError, match="cannot create output_dir"):
            await client.generate_batch(["a banana"], output_dir=tmp_path / "a-file" / "out")
    assert emu.count("create") == 0

"""A batch item refused because an uploaded input is gone uploads it again and retries that create, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from batch_support import client_for, creates_per_prompt
from support.journal import journal_events, last_record_per_key

from nanobanana import BadRequestError, ServerError
from nanobanana._batch_uploads import BatchUploads
from nanobanana._journal import Journal
from nanobanana._upload_cache import UploadCache
from nanobanana.emulator import Emulator, Fault, sample_images


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emulator:
        yield emulator


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(sample_images()[0][1])
    return path


def _items(photo: Path, n: int) -> list[dict[str, Any]]:
    return [{"id": f"item-{i}", "prompt": f"edit {i}", "images": [str(photo)]} for i in range(n)]


def _uploaded_urls(journal: Path) -> list[str]:
    return [record["url"] for record in journal_events(journal, "upload")]


async def test_a_shared_photo_whose_upload_expired_is_uploaded_again_once_and_every_item_succeeds(
    emu: Emulator, photo: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    async with client_for(emu) as client:
        expired = await client.upload(photo)
        emu.expire_uploads()
        outcomes = await client.generate_batch(_items(photo, 6), concurrency=3, journal=journal)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert emu.count("upload") == 2
    fresh = emu.uploads[-1]
    assert fresh != expired
    assert creates_per_prompt(emu) == {f"edit {i}": 1 for i in range(6)}
    assert all(task.request["image_urls"] == [fresh] for task in emu.tasks.values())
    assert _uploaded_urls(journal)[-1] == fresh


async def test_the_client_remembers_the_new_upload_after_a_batch_renewed_it(emu: Emulator, photo: Path) -> None:
    async with client_for(emu) as client:
        await client.upload(photo)
        emu.expire_uploads()
        await client.generate_batch(_items(photo, 2), concurrency=1)
        assert await client.upload(photo) == emu.uploads[-1]
    assert emu.count("upload") == 2


async def test_after_an_upload_was_renewed_a_resume_uploads_nothing_further(
    emu: Emulator, photo: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    async with client_for(emu) as client:
        await client.upload(photo)
        emu.expire_uploads()
        await client.generate_batch(_items(photo, 3), concurrency=1, journal=journal)
    creates = emu.count("create")
    async with client_for(emu) as fresh_client:  # an empty upload cache: only the journal knows the photo
        outcomes = await fresh_client.generate_batch(_items(photo, 6), concurrency=3, journal=journal)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert emu.count("upload") == 2
    assert emu.count("create") == creates + 3  # no refusal on the resume


async def test_a_resume_whose_journal_holds_an_expired_upload_uploads_it_again_and_succeeds(
    emu: Emulator, photo: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    async with client_for(emu) as client:
        await client.generate_batch(_items(photo, 1), journal=journal)
    emu.expire_uploads()
    async with client_for(emu) as client:
        outcomes = await client.generate_batch(_items(photo, 4), concurrency=2, journal=journal)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert emu.count("upload") == 2
    assert creates_per_prompt(emu) == {f"edit {i}": 1 for i in range(4)}
    assert _uploaded_urls(journal)[-1] == emu.uploads[-1]


async def test_a_second_refusal_fails_the_item_with_its_error_and_nothing_is_created(
    emu: Emulator, photo: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    emu.configure(upload_lifetime=0)  # every upload is gone at once, the fresh one too
    async with client_for(emu) as client:
        [outcome] = await client.generate_batch(_items(photo, 1), journal=journal)
    assert isinstance(outcome.error, BadRequestError)
    assert emu.uploads[-1] in str(outcome.error)  # the second refusal, naming the fresh upload
    assert not outcome.uncertain
    assert (emu.count("create"), emu.count("upload"), emu.created_count) == (2, 2, 0)
    assert last_record_per_key(journal)["item-0"]["error_type"] == "BadRequestError"


async def test_an_upload_again_that_fails_leaves_the_item_refused_not_uncertain(
    emu: Emulator, photo: Path, tmp_path: Path
) -> None:
    async with client_for(emu, max_retries=0) as client:
        await client.upload(photo)
        emu.expire_uploads()
        emu.faults.script("upload", Fault.status(500))
        [outcome] = await client.generate_batch(_items(photo, 1))
    assert isinstance(outcome.error, BadRequestError)
    assert isinstance(outcome.error.__cause__, ServerError)  # the failed upload, kept as the cause
    assert not outcome.uncertain
    assert (emu.count("create"), emu.created_count) == (1, 0)


async def test_a_create_whose_answer_is_lost_is_never_sent_again(emu: Emulator, photo: Path) -> None:
    emu.faults.script("create", Fault.drop(after_processing=True))
    async with client_for(emu) as client:
        [outcome] = await client.generate_batch(_items(photo, 1))
    assert outcome.uncertain
    assert (emu.count("create"), emu.count("upload"), emu.created_count) == (1, 1, 1)


# --- the batch's memory of uploads ----------------------------------------------------------------------------

OLD, NEW = "http://127.0.0.1/old.png", "http://127.0.0.1/new.png"


class Uploader:
    """An upload that counts its calls and returns ``NEW``, once let go."""

    def __init__(self) -> None:
        self.calls = 0
        self.go = asyncio.Event()

    async def __call__(self) -> str:
        self.calls += 1
        await self.go.wait()
        return NEW


async def test_items_renewing_one_gone_upload_together_share_one_upload() -> None:
    uploads = BatchUploads(None, fallback=UploadCache())
    assert await uploads.hosted(b"photo", _returning(OLD)) == OLD
    upload = Uploader()

    renewals = [asyncio.ensure_future(uploads.renew(b"photo", OLD, upload)) for _ in range(3)]
    await asyncio.sleep(0)
    upload.go.set()

    assert await asyncio.gather(*renewals) == [NEW, NEW, NEW]
    assert upload.calls == 1
    assert await uploads.hosted(b"photo", _returning("http://127.0.0.1/never.png")) == NEW


async def test_an_upload_renewed_already_is_returned_without_uploading() -> None:
    uploads = BatchUploads(None)
    await uploads.hosted(b"photo", _returning(OLD))
    await uploads.renew(b"photo", OLD, _returning(NEW))
    upload = Uploader()

    assert await uploads.renew(b"photo", OLD, upload) == NEW
    assert upload.calls == 0


async def test_a_renewed_upload_replaces_the_journals_record(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with closing(Journal(path, fingerprint="f", digests={})) as journal:
        uploads = BatchUploads(journal)
        await uploads.hosted(b"photo", _returning(OLD))
        await uploads.renew(b"photo", OLD, _returning(NEW))
    with closing(Journal(path, fingerprint="f", digests={})) as reread:
        assert list(reread.uploads.values()) == [NEW]


def _returning(url: str) -> Callable[[], Awaitable[str]]:
    async def upload() -> str:
        return url

    return upload

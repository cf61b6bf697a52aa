"""Against the emulator: shared photos are uploaded once however many generations use them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nanobanana import NanoBanana
from nanobanana.emulator import Emulator, sample_images

PROMPT = "change the clothes from image 1 to image 2"


def two_photos(folder: Path) -> tuple[Path, Path]:
    (person_name, person), (outfit_name, outfit) = sample_images()[:2]
    (folder / person_name).write_bytes(person)
    (folder / outfit_name).write_bytes(outfit)
    return folder / person_name, folder / outfit_name


async def test_many_generations_over_two_shared_photos_upload_two_files(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    person, outfit = two_photos(tmp_path)

    await asyncio.gather(*(client.generate(PROMPT, images=[person, outfit]) for _ in range(12)))

    assert len(emu.uploads) == 2
    assert emu.count("create") == 12


async def test_a_batch_over_two_shared_photos_uploads_two_files(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    person, outfit = two_photos(tmp_path)
    (tmp_path / "copy").mkdir()
    person_copy = tmp_path / "copy" / person.name
    person_copy.write_bytes(person.read_bytes())
    items = [{"prompt": PROMPT, "images": [str(person_copy if i % 2 else person), str(outfit)]} for i in range(30)]

    outcomes = await client.generate_batch(items, concurrency=8)

    assert [outcome.error for outcome in outcomes if not outcome.ok] == []
    assert len(emu.uploads) == 2


async def test_upload_of_the_same_bytes_returns_the_first_url(emu: Emulator, client: NanoBanana) -> None:
    _, data = sample_images()[0]

    urls = {await client.upload(data), await client.upload(bytes(data))}

    assert urls == {emu.uploads[0]}

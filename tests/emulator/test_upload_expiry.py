"""The emulator can make uploads gone, as a service that cleans them up would: 404 on the file host, 400 on create."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from nanobanana.emulator import Emulator

CREATE = "/api/image-generation-nano-banana/create"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(finish_after=0.0, result_size=(8, 8)) as emulator:
        yield emulator


async def _upload(http: aiohttp.ClientSession, name: str = "photo one.png") -> str:
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG fake", filename=name, content_type="image/png")
    async with http.post("/api/upload", data=form) as response:
        url: str = (await response.json())["url"]
    return url


async def _create(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, str]]:
    async with http.post(CREATE, json={"prompt": "edit", "image_urls": [url]}) as response:
        return response.status, await response.json()


async def _fetch_status(url: str) -> int:
    async with aiohttp.ClientSession() as files, files.get(url) as response:
        return response.status


async def test_an_expired_upload_is_gone_from_the_file_host(emu: Emulator, http: aiohttp.ClientSession) -> None:
    url = await _upload(http)

    assert emu.expire_uploads() == [url]

    assert await _fetch_status(url) == 404


async def test_a_create_naming_an_expired_upload_is_refused_with_its_url(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    url = await _upload(http)
    emu.expire_uploads()

    status, body = await _create(http, url)

    assert status == 400
    assert body["error"] == f"Input image URL has expired: {url}"
    assert emu.created_count == 0


async def test_an_upload_made_after_the_expiry_is_kept(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await _upload(http, "old.png")
    emu.expire_uploads()

    url = await _upload(http, "new.png")

    assert (await _create(http, url))[0] == 200
    assert await _fetch_status(url) == 200


async def test_an_upload_lifetime_of_zero_makes_every_upload_gone_at_once(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.configure(upload_lifetime=0)
    url = await _upload(http)

    assert (await _create(http, url))[0] == 400
    assert await _fetch_status(url) == 404


async def test_a_url_the_emulator_never_stored_is_not_refused(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.expire_uploads()

    assert (await _create(http, emu.sample_urls[0]))[0] == 200

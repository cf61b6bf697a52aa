"""A result saved into a folder gets a safe plain name there, whatever name the server's URL suggests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from unit_support import PNG

from nanobanana import NanoBanana
from nanobanana._filenames import MAX_STEM_CHARS, safe_file_name

HOSTILE_NAMES = [
    "..%2F..%2Fescaped.png",
    "%2Fetc%2Fescaped.png",
    "..%5C..%5Cescaped.png",
    ".bashrc",
    "..",
    "%2E%2E",
    "name%00with%0Acontrol%1Bchars.png",
    "%EF%BC%8E%EF%BC%8E%EF%BC%8Fescaped.png",  # full-width "../"
    "con.png",
]


@pytest.fixture
async def file_host() -> AsyncIterator[TestServer]:
    """A loopback file host that serves a PNG under any path, as a hostile or careless host might."""

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get(r"/{tail:[\s\S]*}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def nb() -> AsyncIterator[NanoBanana]:
    async with NanoBanana(base_url="http://127.0.0.1:9", session_token=None, max_retries=0) as client:
        yield client


def everything_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_a_hostile_url_name_is_saved_as_a_plain_file_inside_the_folder(
    file_host: TestServer, nb: NanoBanana, tmp_path: Path, name: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    url = f"http://127.0.0.1:{file_host.port}/files/{name}"

    saved = await nb.download(url, folder)

    assert saved.parent == folder
    assert not saved.name.startswith(".")
    assert saved.suffix == ".png"
    assert saved.read_bytes() == PNG
    assert everything_under(tmp_path) == [folder, saved]


async def test_a_file_path_is_used_as_given(file_host: TestServer, nb: NanoBanana, tmp_path: Path) -> None:
    target = tmp_path / "chosen.name"

    saved = await nb.download(f"http://127.0.0.1:{file_host.port}/files/..%2Fother.png", target)

    assert saved == target
    assert target.read_bytes() == PNG


@pytest.mark.parametrize(
    ("url", "media_type", "expected"),
    [
        ("https://files.test/nano-banana/3b92-ae89.png", "image/png", "3b92-ae89.png"),
        ("https://files.test/a/Screenshot%202026-01-06%20000423.png", "image/png", "Screenshot 2026-01-06 000423.png"),
        ("https://files.test/a/result.png", "image/jpeg", "result.jpg"),
        ("https://files.test/a/photo.webp", None, "photo.webp"),
        ("https://files.test/a/payload.sh", "application/octet-stream", "payload.bin"),
        ("https://files.test/a/", "image/png", "result.png"),
        ("https://files.test/a/.bashrc", "image/png", "bashrc.png"),
        ("https://files.test/a/NUL.png", "image/png", "result_NUL.png"),
    ],
)
def test_safe_file_name(url: str, media_type: str | None, expected: str) -> None:
    assert safe_file_name(url, media_type) == expected


def test_a_long_name_is_bounded() -> None:
    name = safe_file_name("https://files.test/" + "a" * 5000 + ".png", "image/png")

    assert name == "a" * MAX_STEM_CHARS + ".png"

"""Downloads: no credentials off the API host, atomic files, content checks, size limits."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
from aiohttp import web
from support import Stall, eventually, serve, settle
from unit_support import BASE, FILES, PNG, RESULT_URL, STATUS, TOKEN, ClientFactory, FakeAPI, sent_headers, status_json

from nanobanana import DownloadError, InvalidInputError, NanoBanana

SECRET_HEADERS = {"X-Api-Key": "key-123456789", "Authorization": "Bearer abcdefghijk"}
SECRET_COOKIES = {"cf_clearance": "cf-clearance-value-123"}


@pytest.fixture
async def nb(make_client: ClientFactory) -> NanoBanana:
    """A client with a session token, an extra cookie and custom headers: all of them for the API host only."""
    return await make_client(cookies=SECRET_COOKIES, headers=SECRET_HEADERS, max_retries=1)


def assert_no_credentials(headers: dict[str, str]) -> None:
    assert "cookie" not in headers
    assert "x-api-key" not in headers
    assert "authorization" not in headers
    assert TOKEN not in str(headers)
    assert headers["user-agent"].startswith("nanobanana-python/")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- credentials --------------------------------------------------------------------------------------------


async def test_the_file_host_gets_no_cookie_and_no_custom_headers(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    await nb.download(RESULT_URL)

    assert_no_credentials(sent_headers(api.calls("GET", RESULT_URL)[0]))


async def test_the_api_host_gets_the_cookie_and_custom_headers(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, payload=status_json())

    await nb.status("x")

    headers = sent_headers(api.calls("POST", STATUS)[0])
    assert TOKEN in headers["cookie"]
    assert "cf_clearance=cf-clearance-value-123" in headers["cookie"]
    assert headers["x-api-key"] == "key-123456789"


async def test_a_redirect_from_the_api_host_to_another_host_drops_credentials(api: FakeAPI, nb: NanoBanana) -> None:
    on_api = f"{BASE}/api/result/3b92.png"
    api.get(on_api, status=302, headers={"Location": RESULT_URL})
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    assert await nb.download(on_api) == PNG

    assert TOKEN in sent_headers(api.calls("GET", on_api)[0])["cookie"]
    assert_no_credentials(sent_headers(api.calls("GET", RESULT_URL)[0]))


async def test_a_redirect_to_another_port_of_the_api_host_drops_credentials(api: FakeAPI, nb: NanoBanana) -> None:
    on_api = f"{BASE}/api/result/3b92.png"
    other_port = "https://nanabanana.ai:8443/files/3b92.png"
    api.get(on_api, status=307, headers={"Location": other_port})
    api.get(other_port, body=PNG, content_type="image/png")

    await nb.download(on_api)

    assert_no_credentials(sent_headers(api.calls("GET", other_port)[0]))


async def test_a_relative_redirect_is_followed(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(f"{FILES}/old/a.png", status=301, headers={"Location": "/new/a.png"})
    api.get(f"{FILES}/new/a.png", body=PNG, content_type="image/png")

    assert await nb.download(f"{FILES}/old/a.png") == PNG


async def test_endless_redirects_are_a_download_error(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(f"{FILES}/loop.png", status=302, headers={"Location": f"{FILES}/loop.png"}, repeat=True)

    with pytest.raises(DownloadError, match="too many redirects"):
        await nb.download(f"{FILES}/loop.png")


# --- atomic files -------------------------------------------------------------------------------------------


async def test_a_truncated_body_leaves_no_file(api: FakeAPI, nb: NanoBanana, tmp_path: Path) -> None:
    api.get(RESULT_URL, body=PNG[:20], content_type="image/png", headers={"Content-Length": str(len(PNG))})

    with pytest.raises(DownloadError, match="cut short") as caught:
        await nb.download(RESULT_URL, tmp_path / "out.png")

    assert caught.value.url == RESULT_URL
    assert leftovers(tmp_path) == []


async def test_a_truncated_body_is_an_error_in_memory_too(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(RESULT_URL, body=PNG[:20], content_type="image/png", headers={"Content-Length": str(len(PNG))})

    with pytest.raises(DownloadError, match=f"got 20 of {len(PNG)} bytes"):
        await nb.download(RESULT_URL)


async def test_a_failed_download_keeps_the_existing_file(api: FakeAPI, nb: NanoBanana, tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"the previous result")
    api.get(RESULT_URL, body=PNG[:20], content_type="image/png", headers={"Content-Length": str(len(PNG))})

    with pytest.raises(DownloadError):
        await nb.download(RESULT_URL, target)

    assert target.read_bytes() == b"the previous result"
    assert leftovers(tmp_path) == ["out.png"]


@pytest.mark.usefixtures("sleeps")
async def test_a_dropped_connection_leaves_no_file(api: FakeAPI, nb: NanoBanana, tmp_path: Path) -> None:
    api.get(RESULT_URL, exception=aiohttp.ClientPayloadError("Response payload is not completed"), repeat=True)

    with pytest.raises(DownloadError):
        await nb.download(RESULT_URL, tmp_path / "out.png")

    assert leftovers(tmp_path) == []


async def test_a_complete_download_replaces_the_existing_file(api: FakeAPI, nb: NanoBanana, tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"the previous result")
    api.get(RESULT_URL, body=PNG, content_type="image/png", headers={"Content-Length": str(len(PNG))})

    saved = await nb.download(RESULT_URL, target)

    assert saved == target
    assert target.read_bytes() == PNG
    assert leftovers(tmp_path) == ["out.png"]


# --- what is accepted ---------------------------------------------------------------------------------------


async def test_a_page_instead_of_an_image_is_a_download_error(api: FakeAPI, nb: NanoBanana, tmp_path: Path) -> None:
    api.get(RESULT_URL, body="<html>Expired</html>", content_type="text/html")

    with pytest.raises(DownloadError, match="expected an image, got 'text/html'") as caught:
        await nb.download(RESULT_URL, tmp_path / "out.png")

    assert caught.value.status_code == 200
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("content_type", ["image/png", "image/webp", "application/octet-stream"])
async def test_images_and_octet_streams_are_accepted(api: FakeAPI, nb: NanoBanana, content_type: str) -> None:
    api.get(RESULT_URL, body=PNG, content_type=content_type)

    assert await nb.download(RESULT_URL) == PNG


async def test_a_result_over_the_size_limit_is_refused_by_its_length(api: FakeAPI, tmp_path: Path) -> None:
    api.get(RESULT_URL, body=PNG, content_type="image/png", headers={"Content-Length": str(len(PNG))})

    async with NanoBanana(base_url=BASE, max_download_bytes=16) as client:
        with pytest.raises(DownloadError, match="max_download_bytes"):
            await client.download(RESULT_URL, tmp_path / "out.png")

    assert leftovers(tmp_path) == []


async def test_a_result_over_the_size_limit_is_cut_off_while_streaming(api: FakeAPI, tmp_path: Path) -> None:
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    async with NanoBanana(base_url=BASE, max_download_bytes=16) as client:
        with pytest.raises(DownloadError, match="max_download_bytes"):
            await client.download(RESULT_URL, tmp_path / "out.png")
        api.get(RESULT_URL, body=PNG, content_type="image/png")
        with pytest.raises(DownloadError, match="max_download_bytes"):
            await client.download(RESULT_URL)

    assert leftovers(tmp_path) == []


# --- failures -----------------------------------------------------------------------------------------------


async def test_an_expired_link_is_a_download_error_with_its_status(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(RESULT_URL, status=404, body="Not Found", content_type="text/plain", repeat=True)

    with pytest.raises(DownloadError) as caught:
        await nb.download(RESULT_URL)

    assert caught.value.status_code == 404
    assert "client.status(task_id)" in str(caught.value)
    assert api.count("GET", RESULT_URL) == 1


@pytest.mark.usefixtures("sleeps")
async def test_a_busy_file_host_is_retried(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(RESULT_URL, status=503)
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    assert await nb.download(RESULT_URL) == PNG
    assert api.count("GET", RESULT_URL) == 2


@pytest.mark.usefixtures("sleeps")
async def test_an_unreachable_file_host_is_a_download_error(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(RESULT_URL, exception=aiohttp.ServerDisconnectedError(), repeat=True)

    with pytest.raises(DownloadError) as caught:
        await nb.download(RESULT_URL)

    assert caught.value.status_code is None
    assert api.count("GET", RESULT_URL) == 2


@pytest.mark.parametrize(
    "url", ["ftp://file.v03ai.com/a.png", "file:///etc/passwd", "a.png", "", "https:///a.png", "https://[::1/a.png"]
)
async def test_download_needs_an_http_url(api: FakeAPI, nb: NanoBanana, url: str) -> None:
    with pytest.raises(InvalidInputError):
        await nb.download(url)

    assert api.requests == {}


# --- saving: every way the disk can refuse --------------------------------------------------------------------


async def test_a_folder_that_cannot_be_made_is_a_download_error(api: FakeAPI, nb: NanoBanana, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    with pytest.raises(DownloadError, match="Cannot write to") as caught:
        await nb.download(RESULT_URL, tmp_path / "taken" / "out.png")

    assert caught.value.url == RESULT_URL
    assert isinstance(caught.value.__cause__, OSError)
    assert leftovers(tmp_path) == ["taken"]


async def test_a_rename_that_fails_is_a_download_error_and_leaves_no_part_file(
    api: FakeAPI, nb: NanoBanana, tmp_path: Path
) -> None:
    blocker = tmp_path / RESULT_URL.rsplit("/", 1)[1]
    blocker.mkdir()  # a non-empty folder where the file should go: the final rename cannot replace it
    (blocker / "inside").write_text("x")
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    with pytest.raises(DownloadError, match="failed") as caught:
        await nb.download(RESULT_URL, tmp_path)

    assert isinstance(caught.value.__cause__, OSError)
    assert leftovers(tmp_path) == [blocker.name]


class _FullDisk:
    """A file on a disk with room for ``room`` more bytes: what fits is written, then the write fails."""

    def __init__(self, file: IO[bytes], path: Path, room: int) -> None:
        self._file, self.path, self._room = file, path, room
        self.written = 0

    def write(self, data: bytes) -> int:
        fits = data[: self._room - self.written]
        self.written += self._file.write(fits)
        if len(fits) < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def _disk_with_room(monkeypatch: pytest.MonkeyPatch, room: int) -> list[_FullDisk]:
    """Files opened from now on hold at most ``room`` bytes; returns those files, as they are opened."""
    real_fdopen = os.fdopen
    opened: list[_FullDisk] = []

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> _FullDisk:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        opened.append(_FullDisk(real_fdopen(fd, *args, **kwargs), path, room))
        return opened[-1]

    monkeypatch.setattr(os, "fdopen", fdopen)
    return opened


def _assert_says_disk_is_full_and_what_to_do(error: DownloadError) -> None:
    assert error.url == RESULT_URL
    assert "No space left on device" in str(error)
    assert "make room on the disk or save elsewhere, then download it again" in str(error)
    assert isinstance(error.__cause__, OSError)
    assert error.__cause__.errno == errno.ENOSPC


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the open file through /proc")
async def test_a_disk_full_mid_file_is_a_download_error_that_leaves_the_old_file_and_no_part_file(
    api: FakeAPI, nb: NanoBanana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"the previous result")
    api.get(RESULT_URL, body=PNG, content_type="image/png")
    opened = _disk_with_room(monkeypatch, room=len(PNG) // 2)

    with pytest.raises(DownloadError) as caught:
        await nb.download(RESULT_URL, target)

    _assert_says_disk_is_full_and_what_to_do(caught.value)
    (part,) = opened
    assert part.path.name.endswith(".part")
    assert part.written == len(PNG) // 2  # half the image was written there...
    assert leftovers(tmp_path) == ["out.png"]  # ...and removed
    assert target.read_bytes() == b"the previous result"
    assert api.count("GET", RESULT_URL) == 1  # a full disk is not a reason to fetch again


async def test_a_disk_full_found_at_sync_is_a_download_error_that_leaves_no_file(
    api: FakeAPI, nb: NanoBanana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some file systems (NFS, delayed allocation) only report the full disk when the data is synced."""

    def full_at_sync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    api.get(RESULT_URL, body=PNG, content_type="image/png")
    monkeypatch.setattr(os, "fsync", full_at_sync)

    with pytest.raises(DownloadError) as caught:
        await nb.download(RESULT_URL, tmp_path / "out.png")

    _assert_says_disk_is_full_and_what_to_do(caught.value)
    assert leftovers(tmp_path) == []


async def test_an_answer_without_a_content_type_is_a_download_error(api: FakeAPI, nb: NanoBanana) -> None:
    api.get(RESULT_URL, body=PNG, content_type="")

    with pytest.raises(DownloadError, match="no content type"):
        await nb.download(RESULT_URL)


async def test_a_url_without_a_file_name_is_saved_as_result_png(api: FakeAPI, nb: NanoBanana, tmp_path: Path) -> None:
    api.get(f"{FILES}/", body=PNG, content_type="image/png")

    saved = await nb.download(f"{FILES}/", tmp_path)

    assert saved == tmp_path / "result.png"
    assert saved.read_bytes() == PNG


# --- a real file host on loopback -----------------------------------------------------------------------------


async def test_cancelling_a_download_mid_write_leaves_no_file(tmp_path: Path) -> None:
    stall = Stall(first=PNG, total=10 * len(PNG))
    async with serve({"/result.png": stall}) as host, NanoBanana(session_token=TOKEN, base_url=BASE) as client:
        downloading = asyncio.ensure_future(client.download(f"{host}/result.png", tmp_path / "out.png"))
        await stall.sent.wait()
        await eventually(lambda: leftovers(tmp_path), what="the temporary file")

        downloading.cancel()
        await settle(downloading)

        with pytest.raises(asyncio.CancelledError):
            await downloading
    assert leftovers(tmp_path) == []


async def test_a_file_host_that_goes_silent_mid_file_times_out(tmp_path: Path) -> None:
    """The timeout bounds the silence between reads (a large image may take longer than one API call)."""
    stall = Stall(first=PNG, total=10 * len(PNG))
    async with (
        serve({"/result.png": stall}) as host,
        NanoBanana(session_token=TOKEN, base_url=BASE, timeout=0.2, max_retries=0) as client,
    ):
        with pytest.raises(DownloadError, match="timed out"):
            await client.download(f"{host}/result.png", tmp_path / "out.png")

    assert leftovers(tmp_path) == []


async def test_a_callers_session_never_carries_its_headers_or_cookies_to_the_file_host(tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []

    async def image(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(body=PNG, content_type="image/png")

    async with (
        serve({"/result.png": image}) as host,
        aiohttp.ClientSession(headers=SECRET_HEADERS, cookies=SECRET_COOKIES) as session,
        NanoBanana(session_token=TOKEN, base_url=BASE, session=session) as client,
    ):
        data = await client.download(f"{host}/result.png")

    assert data == PNG
    (headers,) = seen
    assert_no_credentials({name.lower(): value for name, value in headers.items()})
    assert "cf_clearance" not in str(headers)


async def test_a_redirect_to_a_non_http_location_is_a_download_error() -> None:
    async def to_ftp(request: web.Request) -> web.Response:
        raise web.HTTPFound("ftp://file.v03ai.com/result.png")

    async with (
        serve({"/result.png": to_ftp}) as host,
        NanoBanana(session_token=TOKEN, base_url=BASE, max_retries=0) as client,
    ):
        with pytest.raises(DownloadError, match=r"result\.png") as caught:
            await client.download(f"{host}/result.png")

    assert caught.value.url == f"{host}/result.png"

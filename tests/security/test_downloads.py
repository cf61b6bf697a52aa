"""Downloads from a file host that misbehaves: encodings, size, redirects."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import PNG, Hostile, client_of

from nanobanana import DownloadError, NanoBanana
from nanobanana._config import MAX_REDIRECTS


async def test_downloads_ask_for_the_bytes_as_they_are(server: Hostile, client: NanoBanana) -> None:
    await client.download(server.result_url)

    assert server.accept_encodings == ["identity"]


async def test_a_gzip_result_sent_anyway_is_decoded_not_cut_short(server: Hostile, client: NanoBanana) -> None:
    server.switches.gzip_result = True

    assert await client.download(server.result_url) == PNG


async def test_a_gzip_result_is_decoded_on_its_way_to_a_file(
    server: Hostile, client: NanoBanana, tmp_path: Path
) -> None:
    server.switches.gzip_result = True

    path = await client.download(server.result_url, tmp_path / "out.png")

    assert path.read_bytes() == PNG


@pytest.mark.parametrize("to_file", [False, True])
async def test_a_gzip_bomb_stops_at_max_download_bytes(server: Hostile, tmp_path: Path, to_file: bool) -> None:
    server.switches.gzip_bomb = 64 * 1024 * 1024

    async with client_of(server, tmp_path, max_download_bytes=1024 * 1024) as nb:
        with pytest.raises(DownloadError, match="max_download_bytes"):
            await nb.download(server.result_url, tmp_path / "out.png" if to_file else None)  # type: ignore[call-overload]

    assert list(tmp_path.glob("*.part")) == []


@pytest.mark.parametrize(
    "location", ["ftp://127.0.0.1/result.png", "http://[::1", "javascript:alert(1)", "http://a..localhost/result.png"]
)
async def test_a_redirect_to_a_url_that_is_not_http_is_a_download_error(
    server: Hostile, client: NanoBanana, location: str
) -> None:
    server.switches.redirect_to = location

    with pytest.raises(DownloadError, match="redirected") as caught:
        await client.download(server.result_url)

    assert caught.value.retryable is False


async def test_a_redirect_loop_stops_after_a_bounded_number_of_hops_and_is_not_retried(
    server: Hostile, client: NanoBanana
) -> None:
    server.switches.redirect_loop = True

    with pytest.raises(DownloadError, match="too many redirects"):
        await client.download(server.result_url)

    assert server.hits["file"] == MAX_REDIRECTS + 1


async def test_a_download_error_names_its_url_once_and_no_bogus_status(server: Hostile, client: NanoBanana) -> None:
    url = f"{server.url}/nowhere/result.png"

    with pytest.raises(DownloadError) as caught:
        await client.download(url)

    message = str(caught.value)
    assert message.count(url) == 1
    assert caught.value.status_code == 404

"""Closing a client, and using it from a second event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from conftest import client_of
from hostile import Hostile

from nanobanana import ClientClosedError, DownloadError, NanoBananaError


async def test_close_ends_an_in_flight_download_and_leaves_no_part_file(server: Hostile, tmp_path: Path) -> None:
    server.switches.stall_download = True
    nb = client_of(server, tmp_path)
    downloading = asyncio.create_task(nb.download(server.result_url, tmp_path / "out.png"))
    await server.download_started.wait()

    await nb.close()

    with pytest.raises(NanoBananaError) as caught:
        await asyncio.wait_for(downloading, 5)
    assert isinstance(caught.value, (DownloadError, ClientClosedError))
    assert sorted(path.name for path in tmp_path.iterdir() if path.name != "session.json") == []


async def test_close_ends_a_wait_with_a_clear_error(server: Hostile, tmp_path: Path) -> None:
    server.switches.api_status = 503
    nb = client_of(server, tmp_path)
    waiting = asyncio.create_task(nb.wait("t"))
    while server.hits["status"] == 0:  # noqa: ASYNC110 - the server's counter has no event
        await asyncio.sleep(0.01)

    await nb.close()

    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(waiting, 5)


async def test_a_closed_client_says_so(server: Hostile, tmp_path: Path) -> None:
    nb = client_of(server, tmp_path)
    await nb.close()

    with pytest.raises(ClientClosedError, match="closed"):
        await nb.status("t")


def test_a_client_used_from_a_second_event_loop_gives_a_typed_error(tmp_path: Path) -> None:
    """A client made and used under one asyncio.run, then used under another, says what happened."""

    async def serve(ready: threading.Event, stop: asyncio.Event, box: list[Hostile]) -> None:
        async with Hostile() as server:
            box.append(server)
            ready.set()
            await stop.wait()

    box: list[Hostile] = []
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(ready, stop, box),))
    thread.start()
    try:
        ready.wait(10)
        nb = client_of(box[0], tmp_path)
        first = asyncio.new_event_loop()
        first.run_until_complete(nb.status("t"))
        with pytest.raises(ClientClosedError, match="another event loop"):
            asyncio.run(nb.status("t"))
        first.run_until_complete(nb.close())
        first.close()
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()

"""Closing the blocking client: no thread, socket or warning left behind, and a clear error after."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sync_support import FAST_POLL

from nanobanana import ClientClosedError, InvalidInputError, SyncNanoBanana, TaskStatus
from nanobanana.emulator import Emulator, sample_images


def _client_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nanobanana-sync")]


def _make(emu: Emulator) -> SyncNanoBanana:
    return SyncNanoBanana(base_url=emu.url, session_token=emu.issue_token(), poll=FAST_POLL)


def test_close_stops_the_thread_and_leaves_no_warning(nanobanana_emulator: Emulator, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = _make(nanobanana_emulator)
        client.generate("a banana", images=[sample_images()[0][1]], output=tmp_path)
        client.close()
        del client
        gc.collect()
    assert not _client_threads()
    assert [str(w.message) for w in caught] == []


def test_leaving_with_closes_the_client(nanobanana_emulator: Emulator) -> None:
    with _make(nanobanana_emulator) as client:
        client.whoami()
    assert not _client_threads()
    with pytest.raises(ClientClosedError):
        client.whoami()


def test_an_unclosed_client_is_closed_quietly_at_exit(nanobanana_emulator: Emulator) -> None:
    # Debug mode's report of a callback slower than 0.1 s times the machine, not the client: turned off.
    script = (
        "import logging, sys; from nanobanana import SyncNanoBanana; "
        "logging.getLogger('asyncio').addFilter(lambda r: not r.msg.startswith('Executing %s took')); "
        "client = SyncNanoBanana(base_url=sys.argv[1], session_token=sys.argv[2]); "
        "client.status(client.create('left open', image_urls=[sys.argv[3]]).task_id)"
    )
    args = [nanobanana_emulator.url, nanobanana_emulator.issue_token(), nanobanana_emulator.sample_urls[0]]
    # -X dev shows every ResourceWarning and unclosed-resource report an unclosed pool would print.
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script, *args], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_close_twice_is_harmless(nanobanana_emulator: Emulator) -> None:
    client = _make(nanobanana_emulator)
    client.close()
    client.close()
    assert not _client_threads()


def test_an_unclosed_client_is_closed_when_collected(nanobanana_emulator: Emulator) -> None:
    client = _make(nanobanana_emulator)
    client.whoami()
    del client
    gc.collect()
    assert not _client_threads()


_CALLS: dict[str, Callable[[SyncNanoBanana], Any]] = {
    "create": lambda c: c.create("x", image_urls=["https://example.com/a.png"]),
    "status": lambda c: c.status("t"),
    "wait": lambda c: c.wait("t"),
    "download": lambda c: c.download("https://example.com/a.png"),
    "upload": lambda c: c.upload(b"\x89PNG"),
    "generate": lambda c: c.generate("x"),
    "generate_batch": lambda c: c.generate_batch(["x"]),
    "send_login_code": lambda c: c.send_login_code("me@example.com"),
    "login": lambda c: c.login("me@example.com", "123456"),
    "whoami": lambda c: c.whoami(),
    "logout": lambda c: c.logout(),
    "save_session": lambda c: c.save_session(),
}


@pytest.mark.parametrize("name", sorted(_CALLS))
def test_every_call_after_close_raises_client_closed_error(name: str, nanobanana_emulator: Emulator) -> None:
    client = _make(nanobanana_emulator)
    client.close()
    with pytest.raises(ClientClosedError, match="closed"):
        _CALLS[name](client)


@pytest.mark.nanobanana_emulator(finish_after=3600)
def test_close_during_a_call_ends_that_call_with_client_closed_error(nanobanana_emulator: Emulator) -> None:
    client = _make(nanobanana_emulator)
    task = client.create("a long one", image_urls=nanobanana_emulator.sample_urls[:1])
    waiting = threading.Event()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            client.wait(task.task_id, on_update=lambda _: waiting.set())
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert waiting.wait(timeout=60)
    client.close()
    waiter.join()
    assert [type(e) for e in errors] == [ClientClosedError]
    assert not _client_threads()


def test_calling_the_client_from_its_own_callback_raises_instead_of_hanging(
    nanobanana_emulator: Emulator, client: SyncNanoBanana
) -> None:
    def on_update(status: TaskStatus) -> None:
        client.status(status.task_id)

    with pytest.raises(InvalidInputError, match="own callbacks"):
        client.generate("x", image_urls=nanobanana_emulator.sample_urls[:1], on_update=on_update)


@pytest.mark.nanobanana_emulator(finish_after=3600)
def test_close_from_its_own_callback_ends_the_call_and_the_thread(nanobanana_emulator: Emulator) -> None:
    client = _make(nanobanana_emulator)
    task = client.create("a long one", image_urls=nanobanana_emulator.sample_urls[:1])
    with pytest.raises(ClientClosedError):
        client.wait(task.task_id, on_update=lambda _: client.close())
    for thread in _client_threads():
        thread.join(timeout=60)  # it stops itself, without a caller to wait for it
    assert not _client_threads()


def test_a_failed_constructor_leaves_no_thread(nanobanana_emulator: Emulator) -> None:
    with pytest.raises(InvalidInputError):
        SyncNanoBanana(base_url="not a url")
    assert not _client_threads()

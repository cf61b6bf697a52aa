"""Starting, configuring and stopping the emulator; the standalone server; the pytest fixture."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pydantic
import pytest
from support import FAST_POLL

from nanobanana import NanoBanana, TaskState
from nanobanana.emulator import Emulator, EmulatorConfig, sample_images


def test_knobs_are_validated() -> None:
    with pytest.raises(pydantic.ValidationError):
        Emulator(failure_rate=2.0)
    with pytest.raises(pydantic.ValidationError):
        Emulator(finish_after=(5.0, 1.0))
    with pytest.raises(pydantic.ValidationError):
        Emulator(states=())
    with pytest.raises(pydantic.ValidationError):
        EmulatorConfig(no_such_knob=1)  # type: ignore[call-arg]


async def test_configure_changes_knobs_while_running_and_validates() -> None:
    async with Emulator(finish_after=1.0) as emu:
        emu.configure(finish_after=(1.0, 2.0), failure_rate=0.5)
        assert emu.config.finish_after == (1.0, 2.0)
        assert emu.config.failure_rate == 0.5
        with pytest.raises(pydantic.ValidationError):
            emu.configure(failure_rate=-1)
        assert emu.config.failure_rate == 0.5


async def test_urls_need_a_running_emulator() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url
    async with emu:
        assert emu.url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url


async def test_same_seed_same_task_ids() -> None:
    ids = []
    for _ in range(2):
        async with Emulator(seed=42, require_auth=False) as emu, NanoBanana(base_url=emu.url) as client:
            ids.append((await client.create("x")).task_id)
    assert ids[0] == ids[1]


def test_sample_images_are_pngs() -> None:
    names = [name for name, _ in sample_images()]
    assert names == ["person.png", "outfit.png", "banana.png"]
    assert all(data.startswith(b"\x89PNG") for _, data in sample_images())


def test_run_in_thread_serves_synchronous_code() -> None:
    with Emulator().run_in_thread() as emu:
        with urllib.request.urlopen(emu.url + "/api/auth/session") as response:
            assert response.read() == b"{}"
        with urllib.request.urlopen(emu.sample_urls[0]) as response:
            assert response.headers["Content-Type"] == "image/png"


def test_standalone_server_prints_its_urls_and_a_token() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "nanobanana.emulator", "--port", "0", "--finish-after", "1-3", "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        assert first.startswith("Nano Banana emulator: API at http://127.0.0.1:")
        assert "Session token for user@example.com" in second
        api = first.split()[5].rstrip(",")
        with urllib.request.urlopen(api + "/api/auth/session") as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_standalone_server_rejects_bad_knobs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nanobanana.emulator", "--failure-rate", "3"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "failure_rate" in done.stderr


async def test_the_fixture_gives_a_running_emulator(nanobanana_emulator: Emulator) -> None:
    token = nanobanana_emulator.issue_token()
    async with NanoBanana(base_url=nanobanana_emulator.url, session_token=token, poll=FAST_POLL) as client:
        result = await client.generate("a banana", image_urls=nanobanana_emulator.sample_urls[:1])
    assert result.content is not None
    assert result.content.startswith(b"\x89PNG")


@pytest.mark.nanobanana_emulator(failure_rate=1.0, failure_message="no bananas today")
async def test_the_fixture_takes_knobs_from_the_marker(nanobanana_emulator: Emulator) -> None:
    async with NanoBanana(base_url=nanobanana_emulator.url, session_token=nanobanana_emulator.issue_token()) as client:
        task = await client.create("a banana")
        status = await client.status(task.task_id)
    assert status.state is TaskState.FAILED
    assert status.fail_msg == "no bananas today"

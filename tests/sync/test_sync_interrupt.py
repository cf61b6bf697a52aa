"""Ctrl-C during a blocking call: KeyboardInterrupt at once, the work underneath cancelled, the task id told."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nanobanana._loop_thread import LoopThread
from nanobanana.emulator import Emulator

SCRIPT = Path(__file__).with_name("interrupted_call.py")
# Only against a hang: the child is interrupted as soon as it says it is waiting, on a task that never ends.
HANG_GUARD = 60


@pytest.mark.parametrize("mode", ["wait", "generate"])
@pytest.mark.nanobanana_emulator(finish_after=3600)
def test_ctrl_c_mid_wait_raises_keyboard_interrupt_and_names_the_task(mode: str, nanobanana_emulator: Emulator) -> None:
    args = [
        sys.executable,
        str(SCRIPT),
        nanobanana_emulator.url,
        nanobanana_emulator.issue_token(),
        nanobanana_emulator.sample_urls[0],
        mode,
    ]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        first = child.stdout.readline().split()
        assert first[0] == "waiting", child.communicate()
        task_id = first[1]
        child.send_signal(signal.SIGINT)
        rest, log = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 0, log
    lines = rest.splitlines()
    assert lines[0].startswith("interrupted")
    assert f"task {task_id} keeps running on the server" in log
    if sys.version_info >= (3, 11):
        assert f"client.wait({task_id!r})" in lines[0]  # noted on the traceback too
    assert lines[1:] == ["state waiting", "closed"]
    assert task_id in nanobanana_emulator.tasks


def test_an_interrupted_call_cancels_its_coroutine() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    runner = LoopThread("nanobanana-sync-test")
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupt_when_started() -> None:
        started.wait()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    threading.Thread(target=interrupt_when_started).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.call(forever())
        assert cancelled.wait(timeout=HANG_GUARD)
    finally:
        runner.stop(_nothing)


async def _nothing() -> None:
    pass

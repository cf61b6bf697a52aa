"""The deadline around a block: the same behaviour from ``asyncio.timeout`` and, as on Python 3.10, its backport.

The Python 3.10 branch of `nanobanana._deadline` is loaded here as a separate module, with ``sys.version_info``
reading 3.10 while it (and a fresh ``async_timeout``) is imported; the real module and the real
``async_timeout`` stay in ``sys.modules``, untouched, for every other test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest

from nanobanana import _deadline

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
WAITS_SCRIPT = Path(__file__).with_name("python310_waits.py")


def _load_as_on_python_310(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    saved = sys.modules.pop("async_timeout", None)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(sys, "version_info", (3, 10, 13, "final", 0))
            spec = importlib.util.spec_from_file_location("_deadline_as_on_python_310", _deadline.__file__)
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    finally:
        sys.modules.pop("async_timeout", None)
        if saved is not None:
            sys.modules["async_timeout"] = saved
    return module


@pytest.fixture(params=["running", "python 3.10"])
def deadlines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """`nanobanana._deadline` as this Python runs it, and as Python 3.10 would."""
    if request.param == "running":
        return _deadline
    return _load_as_on_python_310(monkeypatch)


async def _in_own_task(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in a task of its own: the 3.10 backport leaves a timed-out task's cancel count raised."""
    return await asyncio.ensure_future(work())


async def test_the_python_310_branch_uses_the_backport_and_leaves_the_real_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_timeout = sys.modules.get("async_timeout")
    module = _load_as_on_python_310(monkeypatch)

    timeout = module.Deadline(1.0)._timeout
    assert type(timeout).__module__ == "async_timeout"
    assert not isinstance(timeout, asyncio.Timeout)  # the package's own class, not asyncio's as on 3.11+
    assert sys.modules["nanobanana._deadline"] is _deadline
    assert sys.modules.get("async_timeout") is real_timeout
    assert isinstance(_deadline.Deadline(1.0)._timeout, asyncio.Timeout)


async def test_a_deadline_that_runs_out_raises_timeout_error_and_says_it_expired(deadlines: ModuleType) -> None:
    async def work() -> Any:
        deadline = deadlines.Deadline(0.01)
        with pytest.raises(asyncio.TimeoutError):
            async with deadline:
                await asyncio.Event().wait()  # never set: only the deadline ends it
        return deadline

    deadline = await _in_own_task(work)

    assert deadline.expired is True


async def test_a_block_that_ends_in_time_returns_and_is_not_cancelled_later(deadlines: ModuleType) -> None:
    async def work() -> tuple[Any, str, int]:
        async with deadlines.Deadline(60.0) as deadline:
            answer = await asyncio.sleep(0, "answer")
        await asyncio.sleep(0)  # a turn of the loop: a timer left behind would have cancelled us by now
        task = asyncio.current_task()
        assert task is not None
        return deadline, answer, task.cancelling()

    deadline, answer, cancelling = await _in_own_task(work)

    assert (answer, deadline.expired, cancelling) == ("answer", False, 0)


async def test_a_timeout_error_from_inside_the_block_is_not_the_deadline_expiring(deadlines: ModuleType) -> None:
    async def work() -> Any:
        deadline = deadlines.Deadline(60.0)
        with pytest.raises(asyncio.TimeoutError):
            async with deadline:
                raise asyncio.TimeoutError
        return deadline

    deadline = await _in_own_task(work)

    assert deadline.expired is False


async def test_no_deadline_never_expires(deadlines: ModuleType) -> None:
    async def work() -> Any:
        async with deadlines.Deadline(None) as deadline:
            await asyncio.sleep(0.01)
        return deadline

    deadline = await _in_own_task(work)

    assert deadline.expired is False


def _python_310() -> str | None:
    """``$PYTHON310``, else ``python3.10`` on PATH, if it can import the package's dependencies; else None."""
    found = os.environ.get("PYTHON310") or shutil.which("python3.10")
    if not found:
        return None
    imports = "import aiohttp, async_timeout, multidict, platformdirs, pydantic, tenacity"
    probe = subprocess.run([found, "-c", imports], capture_output=True, timeout=120)
    return found if probe.returncode == 0 else None


def test_under_a_real_python_310_a_wait_runs_out_and_another_finishes() -> None:
    python = _python_310()
    if python is None:
        pytest.skip("no $PYTHON310 or python3.10 on PATH with aiohttp, async-timeout, pydantic and tenacity")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    done = subprocess.run([python, str(WAITS_SCRIPT)], capture_output=True, text=True, timeout=120, env=env)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["python"] == [3, 10]
    assert report["deadline"] == "async_timeout"
    assert report["slow"] == "WaitTimeoutError"
    assert report["quick"] == "succeed"
    assert report["calls"]["quick"] == 3
    assert report["calls"]["slow"] >= 1

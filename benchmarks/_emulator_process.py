"""The emulator in a separate process, so a benchmarked client never shares an event loop (or a core) with it.

Shared by every script in ``benchmarks/``::

    from _emulator_process import EmulatorProcess

    with EmulatorProcess(finish_after=0, record_requests=False) as emu:
        client = NanoBanana(base_url=emu.url, session_token=emu.token)
        ...
        print(emu.count("status"), emu.file_url)

The child process runs ``nanobanana.emulator.Emulator`` on its own event loop; commands (``count``,
``add_file``, ``configure``, ``reset``, ``task_timings``) travel over a pipe and are executed on that loop,
so they never race the request handlers. Every method is blocking: call it between measurements, not inside
a timed region. ``time.monotonic()`` is system-wide on Linux and macOS, so the task timings the child sends
(``started`` is the emulator's ``time.monotonic()`` at create) compare directly with the client's clock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
from collections import Counter
from types import TracebackType
from typing import Any

__all__ = ["EmulatorProcess"]


def _child(conn: multiprocessing.connection.Connection, host: str, knobs: dict[str, Any], cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    asyncio.run(_serve(conn, host, knobs))


async def _serve(conn: multiprocessing.connection.Connection, host: str, knobs: dict[str, Any]) -> None:
    from nanobanana.emulator import Emulator

    loop = asyncio.get_running_loop()
    try:
        emu = await Emulator(host=host, **knobs).start()
    except BaseException as exc:
        conn.send(("error", repr(exc)))
        return
    conn.send(("ok", {"url": emu.url, "file_url": emu.file_url, "token": emu.issue_token()}))
    try:
        while True:
            # The pipe is read in a worker thread, and the command runs here, on the emulator's own loop.
            command, args = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                conn.send(("ok", None))
                return
            try:
                conn.send(("ok", _execute(emu, command, args)))
            except Exception as exc:
                conn.send(("error", repr(exc)))
    finally:
        await emu.stop()


def _execute(emu: Any, command: str, args: tuple[Any, ...]) -> Any:
    if command == "count":
        return emu.count(args[0])
    if command == "counts":
        return dict(emu._world.counts)
    if command == "created_count":
        return emu.created_count
    if command == "add_file":
        return emu.add_file(*args)
    if command == "configure":
        emu.configure(**args[0])
        return None
    if command == "reset":
        emu.reset()
        return None
    if command == "issue_token":
        return emu.issue_token(*args)
    if command == "looks":
        # task id -> (status calls it received, when the first call that found it finished arrived), from the
        # recorded requests (record_requests, the emulator's default) on the emulator's monotonic clock.
        calls: Counter[str] = Counter()
        first_done: dict[str, float] = {}
        for r in emu.requests:
            task = emu.tasks.get(r.body.get("taskId")) if r.endpoint == "status" else None
            if task is not None:
                calls[task.task_id] += 1
                if r.at >= task.started + task.finish_after:
                    first_done.setdefault(task.task_id, r.at)
        return {task_id: (count, first_done.get(task_id)) for task_id, count in calls.items()}
    if command == "task_timings":
        # task id -> (monotonic start, seconds to finish): the task is complete at start + finish_after.
        return {task_id: (task.started, task.finish_after) for task_id, task in emu.tasks.items()}
    raise ValueError(f"unknown command {command!r}")


class EmulatorProcess:
    """``nanobanana.emulator.Emulator(**knobs)`` served from a child process (spawned, so nothing is inherited).

    Attributes (once started): ``url`` (API host), ``file_url`` (file host), ``token`` (a valid session token).

    Args:
        host: The interface to listen on.
        cpu: Pin the emulator to this CPU (Linux), so it never competes with the client for a core; None to not.
        **knobs: ``Emulator`` knobs (``finish_after``, ``record_requests``, ``seed``, ...).
    """

    def __init__(self, *, host: str = "127.0.0.1", cpu: int | None = None, **knobs: Any) -> None:
        self.host = host
        self.cpu = cpu
        self.knobs = knobs
        self.url = ""
        self.file_url = ""
        self.token = ""
        self._conn: multiprocessing.connection.Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> EmulatorProcess:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_child, args=(child, self.host, self.knobs, self.cpu), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        if not parent.poll(60):
            self.stop()
            raise RuntimeError("the emulator process did not start within 60 s")
        status, payload = parent.recv()
        if status != "ok":
            self.stop()
            raise RuntimeError(f"the emulator process failed to start: {payload}")
        self.url, self.file_url, self.token = payload["url"], payload["file_url"], payload["token"]
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the emulator process has used so far; NaN where /proc is missing."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")

    def call(self, command: str, *args: Any) -> Any:
        """Run one command on the emulator's loop and return its answer."""
        if self._conn is None:
            raise RuntimeError("the emulator process is not running")
        self._conn.send((command, args))
        status, payload = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"emulator command {command!r} failed: {payload}")
        return payload

    def count(self, endpoint: str) -> int:
        """Requests that reached ``endpoint`` (``create``, ``status``, ``download``, ...)."""
        return int(self.call("count", endpoint))

    def counts(self) -> dict[str, int]:
        return dict(self.call("counts"))

    def add_file(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve ``data`` at ``path`` on the file host; returns its URL."""
        return str(self.call("add_file", path, data, content_type))

    def configure(self, **knobs: Any) -> None:
        self.call("configure", knobs)

    def reset(self) -> None:
        """Forget tasks, counts and faults (sessions and files are kept)."""
        self.call("reset")

    def task_timings(self) -> dict[str, tuple[float, float]]:
        """Task id -> ``(started, finish_after)``; ``started`` is the emulator's ``time.monotonic()`` at create."""
        return dict(self.call("task_timings"))

    def stop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.send(("stop", ()))
                if conn.poll(10):
                    conn.recv()
            except (OSError, EOFError):
                pass
            conn.close()
        process, self._process = self._process, None
        if process is not None:
            process.join(10)
            if process.is_alive():
                process.terminate()
                process.join(5)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

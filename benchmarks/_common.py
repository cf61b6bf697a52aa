"""Helpers shared by the benchmark scripts: worker subprocesses, statistics, the raw-aiohttp baseline."""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SESSION_COOKIE = "__Secure-authjs.session-token"
API_PREFIX = "/api/image-generation-nano-banana"
# What the SDK sends for a create with the website's defaults (GenerationRequest().to_wire()), spelled out:
# the raw-aiohttp baseline must not import the SDK, or its memory and import time would count against raw.
CREATE_DEFAULTS: dict[str, Any] = {
    "output_format": "png",
    "image_size": "auto",
    "enable_pro": True,
    "resolution": "1K",
    "width": 1024,
    "height": 1024,
    "steps": 20,
    "guidance_scale": 7.5,
    "is_public": False,
}
PROMPT = "change the clothes from image 1 to image 2"


def cpu_plan() -> tuple[int | None, set[int] | None]:
    """(the emulator's CPU, the client's CPUs): the last CPU for the server, the others for the client."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[-1], set(cpus[:-1])


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except OSError:
        return float("nan")


# --- worker subprocesses ------------------------------------------------------------------------------------


def run_worker(
    script: str,
    params: dict[str, Any],
    *,
    before: Callable[[], Any] | None = None,
    after: Callable[[], Any] | None = None,
    timeout: float = 900,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
) -> tuple[dict[str, Any], Any, Any]:
    """Run ``benchmarks/<script>`` as a fresh process with ``params``; returns (its result, before(), after()).

    The worker warms up, prints ``READY`` and waits; ``before`` runs then (e.g. read the emulator's counters), the
    worker is told to go, and ``after`` runs once it has printed its result. So counters cover the timed part only.
    ``cpus`` pins the worker to those CPUs (Linux), away from a pinned emulator.
    """
    process = subprocess.Popen(
        [sys.executable, str(HERE / script), json.dumps(params)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env} if env else None,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(process.pid, cpus)
    try:
        line = process.stdout.readline()
        if line.strip() != "READY":
            process.wait(timeout)
            raise RuntimeError(f"{script} failed before it was ready (exit code {process.returncode}): {line!r}")
        before_value = before() if before is not None else None
        process.stdin.write("GO\n")
        process.stdin.flush()
        line = process.stdout.readline()
        after_value = after() if after is not None else None
        process.wait(timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise
    if process.returncode != 0 or not line:
        raise RuntimeError(f"{script} failed (exit code {process.returncode})")
    return json.loads(line), before_value, after_value


def worker_main(body: Callable[[dict[str, Any], Callable[[], None]], Awaitable[dict[str, Any]]]) -> None:
    """The entry point of a worker script: ``body(params, ready)`` must call ``ready()`` once, before timing."""
    params = json.loads(sys.argv[1])

    def ready() -> None:
        print("READY", flush=True)
        if sys.stdin.readline().strip() != "GO":
            raise SystemExit(1)

    result = asyncio.run(body(params, ready))
    print(json.dumps(result), flush=True)


# --- the raw-aiohttp baseline: what a careful user would write without the SDK --------------------------------


class RawClient:
    """Create/status/download with bare aiohttp: one session, ``json=``, ``resp.json()``, a request semaphore."""

    def __init__(self, base_url: str, token: str, *, max_concurrency: int = 64) -> None:
        self.create_url = f"{base_url}{API_PREFIX}/create"
        self.status_url = f"{base_url}{API_PREFIX}/status"
        self.headers = {"Cookie": f"{SESSION_COOKIE}={token}"}
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_concurrency, limit_per_host=0),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self.semaphore = asyncio.Semaphore(max_concurrency)

    async def close(self) -> None:
        await self.session.close()

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        async with self.semaphore, self.session.post(self.create_url, json=body, headers=self.headers) as resp:
            resp.raise_for_status()
            data: dict[str, Any] = await resp.json()
            return data

    async def status(self, task_id: str) -> dict[str, Any]:
        async with (
            self.semaphore,
            self.session.post(self.status_url, json={"taskId": task_id}, headers=self.headers) as resp,
        ):
            resp.raise_for_status()
            data: dict[str, Any] = await resp.json()
            return data

    async def download(self, url: str) -> bytes:
        async with self.semaphore, self.session.get(url) as resp:
            resp.raise_for_status()
            return await resp.read()

    async def generate(
        self,
        body: dict[str, Any],
        *,
        initial: float,
        multiplier: float,
        maximum: float,
        jitter: float,
        rng: random.Random,
    ) -> bytes:
        """Create, poll on the SDK's schedule (a jittered first interval, then growing ones), download."""
        task_id = (await self.create(body))["task_id"]
        await asyncio.sleep(initial * (1.0 + rng.uniform(0.0, jitter)))
        attempt = 1
        while True:
            generation = (await self.status(task_id))["generations"][0]
            if generation["status"] == "succeed":
                return await self.download(generation["url"])
            if generation["status"] in ("failed", "error"):
                raise RuntimeError(f"task {task_id} failed")
            interval = min(maximum, initial * multiplier ** max(0, attempt - 1))
            await asyncio.sleep(interval * (1.0 + rng.uniform(0.0, jitter)))
            attempt += 1

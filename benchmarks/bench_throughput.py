"""Throughput: N concurrent ``generate()`` calls against raw-aiohttp create/poll/download, same limits.

Worker script (run by ``run.py`` in a fresh process per measurement, so peak RSS belongs to one run). The
emulator finishes tasks instantly; both sides use the same poll schedule (a short jittered first interval,
then the SDK's growing one), the same cap of 64 requests in flight and a 64-socket connection pool.

``gc.callbacks`` times the garbage collector, whose work grows with the objects each waiting generation holds.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable
from typing import Any

from _common import CREATE_DEFAULTS, PROMPT, RawClient, current_rss_mb, peak_rss_mb, worker_main

from nanobanana import NanoBanana, PollPolicy


async def body(params: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    n, impl = params["n"], params["impl"]
    poll = PollPolicy(**params["poll"])
    image_urls = [params["sample_url"]]
    rng = random.Random(1)
    client = NanoBanana(base_url=params["url"], session_token=params["token"], max_concurrency=64, poll=poll)
    raw = RawClient(params["url"], params["token"], max_concurrency=64)
    schedule = {"initial": poll.initial, "multiplier": poll.multiplier, "maximum": poll.maximum, "jitter": poll.jitter}

    async def one() -> int:
        if impl == "sdk":
            return len((await client.generate(PROMPT, image_urls=image_urls)).content or b"")
        # The body is built per call, as the SDK builds it from its arguments (a real job's prompts differ).
        wire = {"prompt": PROMPT, "image_urls": image_urls, **CREATE_DEFAULTS}
        return len(await raw.generate(wire, rng=rng, **schedule))

    collector = _Collector()
    try:
        await asyncio.gather(*(one() for _ in range(params["warmup"])))
        ready()
        rss_before = current_rss_mb()
        gc.callbacks.append(collector)
        wall, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        if collector in gc.callbacks:
            gc.callbacks.remove(collector)
        await client.close()
        await raw.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    return {
        "impl": impl,
        "n": n,
        "wall": wall,
        "cpu": cpu,
        "errors": len(errors),
        "first_error": repr(errors[0]) if errors else None,
        "bytes": sum(r for r in results if isinstance(r, int)),
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
        "gc_seconds": collector.seconds,
        "gc_full": collector.full,
    }


class _Collector:
    """A ``gc.callbacks`` entry: time spent in the garbage collector, and how many full collections ran."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.full += info["generation"] == 2


if __name__ == "__main__":
    worker_main(body)

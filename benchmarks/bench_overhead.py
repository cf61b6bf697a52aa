"""Overhead per call: ``client.status()`` / ``client.create()`` against the same POST with bare aiohttp.

Worker script (run by ``run.py`` in a fresh process). Calls are sequential, one in flight, so each round
measures the cost of one call end to end; SDK and raw rounds alternate (ABBA...) in the same process and the
ratio reported is the median of the per-round ratios.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import CREATE_DEFAULTS, PROMPT, RawClient, median, worker_main

from nanobanana import NanoBanana


async def _timed(call: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


async def body(params: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    calls, rounds = params["calls"], params["rounds"]
    body_dict = {"prompt": PROMPT, "image_urls": [params["sample_url"]], **CREATE_DEFAULTS}
    async with NanoBanana(base_url=params["url"], session_token=params["token"]) as client:
        raw = RawClient(params["url"], params["token"])
        try:
            task_id = (await client.create(PROMPT, image_urls=[params["sample_url"]])).task_id
            pairs: dict[str, tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = {
                "status": (lambda: client.status(task_id), lambda: raw.status(task_id)),
                "create": (
                    lambda: client.create(PROMPT, image_urls=[params["sample_url"]]),
                    lambda: raw.create(body_dict),
                ),
            }
            for sdk_call, raw_call in pairs.values():  # warm up both paths and the connection pools
                await _timed(sdk_call, params["warmup"])
                await _timed(raw_call, params["warmup"])
            ready()
            result: dict[str, Any] = {}
            for name, (sdk_call, raw_call) in pairs.items():
                rows = []
                for index in range(rounds):
                    if index % 2 == 0:
                        sdk, base = await _timed(sdk_call, calls), await _timed(raw_call, calls)
                    else:
                        base, sdk = await _timed(raw_call, calls), await _timed(sdk_call, calls)
                    rows.append({"sdk_wall": sdk[0], "raw_wall": base[0], "sdk_cpu": sdk[1], "raw_cpu": base[1]})
                result[name] = {
                    "rounds": rows,
                    "sdk_us": median([r["sdk_wall"] for r in rows]) * 1e6,
                    "raw_us": median([r["raw_wall"] for r in rows]) * 1e6,
                    "sdk_cpu_us": median([r["sdk_cpu"] for r in rows]) * 1e6,
                    "raw_cpu_us": median([r["raw_cpu"] for r in rows]) * 1e6,
                    "ratio": median([r["sdk_wall"] / r["raw_wall"] for r in rows]),
                    "cpu_ratio": median([r["sdk_cpu"] / r["raw_cpu"] for r in rows]),
                }
            return result
        finally:
            await raw.close()


if __name__ == "__main__":
    worker_main(body)

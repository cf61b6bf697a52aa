"""Downloads: ``client.download(url, path)`` against raw aiohttp streaming to a file, and the client's memory.

Worker script (run by ``run.py``). ``mode="speed"`` alternates SDK and raw downloads of the same file (ABC CBA ...)
and reports the median per-round ratio, against plain streaming and against streaming plus ``fsync``.
``mode="memory"`` downloads once, in a fresh process, under ``tracemalloc``, and reports the peak of traced
allocations and of the resident set above the starting point.
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from _common import current_rss_mb, median, peak_rss_mb, worker_main

from nanobanana import NanoBanana

CHUNK = 256 * 1024  # the SDK's DOWNLOAD_CHUNK_BYTES


async def raw_download(session: aiohttp.ClientSession, url: str, path: Path) -> None:
    async with session.get(url) as resp:
        resp.raise_for_status()
        with open(path, "wb") as file:  # noqa: ASYNC230 - the baseline writes as a plain script would
            async for chunk in resp.content.iter_chunked(CHUNK):
                file.write(chunk)


async def raw_download_fsync(session: aiohttp.ClientSession, url: str, path: Path) -> None:
    """The baseline plus the ``fsync`` the SDK does before renaming into place (durability, not speed)."""
    await raw_download(session, url, path)
    with open(path, "rb") as file:  # noqa: ASYNC230
        os.fsync(file.fileno())


async def body(params: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    url = params["file"]
    with tempfile.TemporaryDirectory(prefix="nanobanana-bench-") as folder:
        target = Path(folder) / "result.png"
        async with NanoBanana(base_url=params["url"], session_token=params["token"]) as client:
            session = aiohttp.ClientSession()
            try:
                if params["mode"] == "memory":
                    await client.download(params["small"], target)  # warm up the connection and code paths
                    ready()
                    rss_before = current_rss_mb()
                    tracemalloc.start()
                    if params["impl"] == "sdk":
                        await client.download(url, target)
                    else:
                        await raw_download(session, url, target)
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    return {
                        "traced_peak_mb": peak / 2**20,
                        "rss_growth_mb": peak_rss_mb() - rss_before,
                        "size_mb": target.stat().st_size / 2**20,
                    }
                impls = {
                    "sdk": lambda: client.download(url, target),
                    "raw": lambda: raw_download(session, url, target),
                    "raw_fsync": lambda: raw_download_fsync(session, url, target),
                }
                for run in impls.values():
                    await run()
                ready()
                rows = []
                for index in range(params["rounds"]):
                    times = {}
                    for name in list(impls) if index % 2 == 0 else list(impls)[::-1]:
                        started = time.perf_counter()
                        await impls[name]()
                        times[name] = time.perf_counter() - started
                    rows.append(times)
                size_mb = target.stat().st_size / 2**20
            finally:
                await session.close()
    return {
        "size_mb": size_mb,
        "sdk_mb_s": median([size_mb / r["sdk"] for r in rows]),
        "raw_mb_s": median([size_mb / r["raw"] for r in rows]),
        "raw_fsync_mb_s": median([size_mb / r["raw_fsync"] for r in rows]),
        "ratio": median([r["sdk"] / r["raw"] for r in rows]),
        "ratio_fsync": median([r["sdk"] / r["raw_fsync"] for r in rows]),
    }


if __name__ == "__main__":
    worker_main(body)

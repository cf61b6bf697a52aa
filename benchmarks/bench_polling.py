"""Polling efficiency: status calls per task and how late a finished task is noticed, per poll policy.

Worker script (run by ``run.py``). Tasks finish after a random 1-10 s (the emulator's ``finish_after=(1, 10)``,
seeded, so every policy sees the same durations). The moment the client noticed completion is taken in the
``on_update`` callback, which runs as soon as the status call that saw ``succeed`` returns; ``run.py`` compares
it with the emulator's own completion time (task start + its ``finish_after``) on the shared monotonic clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from _common import PROMPT, worker_main

from nanobanana import NanoBanana, PollPolicy, TaskStatus


async def body(params: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    poll = PollPolicy(**params["poll"])
    noticed: dict[int, float] = {}
    async with NanoBanana(base_url=params["url"], session_token=params["token"], poll=poll) as client:
        ready()

        async def one(index: int) -> str:
            def on_update(status: TaskStatus) -> None:
                if status.is_done:
                    noticed[index] = time.monotonic()

            result = await client.generate(f"{PROMPT} #{index}", image_urls=[], on_update=on_update)
            return result.task_id

        task_ids = await asyncio.gather(*(one(i) for i in range(params["n"])))
    return {"noticed": {task_ids[i]: at for i, at in noticed.items()}}


if __name__ == "__main__":
    worker_main(body)

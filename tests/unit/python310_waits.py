"""Run by test_deadline under a real Python 3.10: two waits on a loopback API, one over its deadline, one not.

Needs only the package's own dependencies (no emulator, no Pillow). Prints one JSON line: the Python version,
the deadline's class, what each wait ended with, and how many status calls the server answered.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

from nanobanana import NanoBanana, PollPolicy, WaitTimeoutError
from nanobanana._deadline import Deadline

_FAST = PollPolicy(initial=0.01, multiplier=1.5, maximum=0.05, jitter=0.0)


def _status(task_id: str, state: str) -> dict[str, object]:
    url = f"http://127.0.0.1/{task_id}.png" if state == "success" else ""
    generation = {"id": task_id, "status": state, "failMsg": "", "url": url, "mediaType": "image"}
    return {"taskId": task_id, "generations": [generation]}


async def main() -> dict[str, object]:
    calls: dict[str, int] = {}

    async def status(request: web.Request) -> web.Response:
        task_id = (await request.json())["taskId"]
        calls[task_id] = calls.get(task_id, 0) + 1
        # "slow" never finishes; "quick" finishes at its third status call.
        state = "success" if task_id == "quick" and calls[task_id] >= 3 else "waiting"
        return web.json_response(_status(task_id, state))

    app = web.Application()
    app.router.add_post("/api/image-generation-nano-banana/status", status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    report: dict[str, object] = {
        "python": list(sys.version_info[:2]),
        "deadline": type(Deadline(1)._timeout).__module__,
    }
    try:
        async with NanoBanana(base_url=f"http://127.0.0.1:{port}", session_token="tok", poll=_FAST) as client:
            try:
                await client.wait("slow", timeout=0.1)
                report["slow"] = "finished"
            except WaitTimeoutError as exc:
                report["slow"] = type(exc).__name__
            final = await client.wait("quick", timeout=60)
            report["quick"] = final.state.value
    finally:
        await runner.cleanup()
    report["calls"] = calls
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))

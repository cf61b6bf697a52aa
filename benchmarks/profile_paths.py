"""Profile the SDK's hot paths with pyinstrument, against the emulator in another process.

``python benchmarks/profile_paths.py [status|create|generate] [--calls N] [--html out.html]``

``status`` and ``create`` are sequential calls (the overhead benchmark's path); ``generate`` runs N concurrent
generations of instantly finishing tasks (the throughput benchmark's path). The profile shows the client's
process only: the emulator serves from its own process, as in ``run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PROMPT
from _emulator_process import EmulatorProcess
from pyinstrument import Profiler

from nanobanana import NanoBanana, PollPolicy


async def profile(emu: EmulatorProcess, path: str, calls: int) -> Profiler:
    image_urls = [f"{emu.file_url}/samples/person.png"]
    poll = PollPolicy(initial=0.1)
    async with NanoBanana(base_url=emu.url, session_token=emu.token, poll=poll) as client:
        task_id = (await client.create(PROMPT, image_urls=image_urls)).task_id

        async def run(count: int) -> None:
            if path == "status":
                for _ in range(count):
                    await client.status(task_id)
            elif path == "create":
                for _ in range(count):
                    await client.create(PROMPT, image_urls=image_urls)
            else:
                await asyncio.gather(*(client.generate(PROMPT, image_urls=image_urls) for _ in range(count)))

        await run(max(10, calls // 10))  # warm up
        profiler = Profiler(interval=0.0005, async_mode="enabled")
        profiler.start()
        await run(calls)
        profiler.stop()
    return profiler


def main() -> int:
    parser = argparse.ArgumentParser(description="Profile an SDK path with pyinstrument.")
    parser.add_argument("path", choices=["status", "create", "generate"], nargs="?", default="generate")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--html", type=Path, default=None, help="write an HTML report here instead of printing")
    args = parser.parse_args()
    with EmulatorProcess(finish_after=0.0, record_requests=False, result_size=(64, 64)) as emu:
        profiler = asyncio.run(profile(emu, args.path, args.calls))
    if args.html is not None:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
    else:
        print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

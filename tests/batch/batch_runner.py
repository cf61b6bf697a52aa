"""Runs one journaled batch against an emulator, for the crash tests (which kill it with SIGKILL).

Usage: python batch_runner.py URL TOKEN JOURNAL OUTPUT_DIR ITEMS_JSON CONCURRENCY
Exits 0 when every item is done, 1 otherwise, 3 if the journal is locked.
"""

from __future__ import annotations

import asyncio
import json
import sys

from nanobanana import JournalLockedError, NanoBanana, PollPolicy


async def main(url: str, token: str, journal: str, output_dir: str, items_json: str, concurrency: int) -> int:
    items = json.loads(items_json)
    poll = PollPolicy(initial=0.05, multiplier=1.5, maximum=0.2)
    async with NanoBanana(base_url=url, session_token=token, poll=poll, max_retries=8) as client:
        try:
            outcomes = await client.generate_batch(
                items, concurrency=concurrency, output_dir=output_dir, journal=journal
            )
        except JournalLockedError as exc:
            print(exc, file=sys.stderr, flush=True)
            return 3
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    url, token, journal, output_dir, items_json, concurrency = sys.argv[1:]
    sys.exit(asyncio.run(main(url, token, journal, output_dir, items_json, int(concurrency))))

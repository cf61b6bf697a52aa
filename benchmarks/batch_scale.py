"""generate_batch at scale: wall time, generations/s, status calls per task and peak RSS, for N generations.

Each N runs in a fresh client process (so its peak RSS is its own) against an emulator in a third process
(`_emulator_process.EmulatorProcess`), so client and server never share a core's event loop. No timing is
asserted; the script prints a table.

    python benchmarks/batch_scale.py                  # N = 100, 1000
    python benchmarks/batch_scale.py 100 1000 10000   # any list of N
    python benchmarks/batch_scale.py --concurrency 128 --finish-after 0.5-2 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _duration(text: str) -> float | tuple[float, float]:
    low, sep, high = text.partition("-")
    return (float(low), float(high)) if sep else float(low)


async def _run_batch(
    url: str, file_url: str, token: str, n: int, concurrency: int, output_dir: str | None
) -> dict[str, Any]:
    from nanobanana import NanoBanana

    items = [
        {"id": f"item-{i:05d}", "prompt": f"benchmark {i}", "image_urls": [f"{file_url}/samples/input.png"]}
        for i in range(n)
    ]
    async with NanoBanana(base_url=url, session_token=token) as client:
        started = time.perf_counter()
        outcomes = await client.generate_batch(items, concurrency=concurrency, output_dir=output_dir)
        wall = time.perf_counter() - started
    return {"wall": wall, "ok": sum(o.ok for o in outcomes)}


def _one(n: int, concurrency: int, finish_after: float | tuple[float, float], output_dir: str | None) -> None:
    """Run one N in this (fresh) process and print its measurements as JSON."""
    sys.path.insert(0, str(HERE))
    from _emulator_process import EmulatorProcess

    knobs: dict[str, Any] = {"finish_after": finish_after, "result_size": (64, 64), "record_requests": False}
    with EmulatorProcess(**knobs) as emu:
        baseline_rss = _peak_rss_mib()
        result = asyncio.run(_run_batch(emu.url, emu.file_url, emu.token, n, concurrency, output_dir))
        counts = emu.counts()
    print(
        json.dumps(
            {
                "n": n,
                "ok": result["ok"],
                "wall": result["wall"],
                "rate": n / result["wall"],
                "status_per_task": counts.get("status", 0) / n,
                "creates": counts.get("create", 0),
                "downloads": counts.get("download", 0),
                "peak_rss_mib": _peak_rss_mib(),
                "rss_before_mib": baseline_rss,
            }
        ),
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000], help="numbers of generations")
    parser.add_argument("--concurrency", type=int, default=256, help="generate_batch concurrency (default 256)")
    parser.add_argument("--finish-after", default="0.5-2", help="emulated task duration, s or a range (0.5-2)")
    parser.add_argument("--output-dir", default=None, help="save results here (default: keep them in memory)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        _one(args.one, args.concurrency, _duration(args.finish_after), args.output_dir)
        return 0

    rows = []
    for n in args.sizes:
        command = [sys.executable, __file__, "--one", str(n), "--concurrency", str(args.concurrency)]
        command += ["--finish-after", args.finish_after]
        if args.output_dir:
            command += ["--output-dir", str(Path(args.output_dir) / f"n{n}")]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"N={n} failed:\n{done.stderr}", file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"N={n}: done in {rows[-1]['wall']:.1f} s", file=sys.stderr, flush=True)

    print(f"generate_batch, concurrency {args.concurrency}, tasks finish after {args.finish_after} s, default polling")
    header = f"{'N':>7} {'ok':>7} {'wall s':>8} {'gen/s':>8} {'status/task':>12} {'creates':>8} {'peak RSS MiB':>13}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['n']:>7} {row['ok']:>7} {row['wall']:>8.2f} {row['rate']:>8.1f} {row['status_per_task']:>12.2f} "
            f"{row['creates']:>8} {row['peak_rss_mib']:>13.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

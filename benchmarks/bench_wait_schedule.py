"""Waiting on realistic task durations: the SDK's learned schedule against fixed 3.5 s polling, in one run.

``python benchmarks/bench_wait_schedule.py`` (about five minutes; ``--quick`` for two) runs five duration
distributions at once, each on its own emulator process (``_emulator_process.py``). In each, four kinds of
waiter create tasks side by side, one of each every ``spacing`` seconds, so all four see the same service at the
same moment:

- ``fixed``: the website's polling, first look 3.5 s after create, then every 3.5 s (the baseline);
- ``default``: today's ``PollPolicy()`` (1 s, x1.5, up to 4 s, 20 % jitter);
- ``warm``: the SDK's default (the learned schedule) in a client that has finished a few tasks first;
- ``cold``: the same, in a fresh client for every task (no history, as a CLI without a timings file).

Detection lag is when the status call that found the task finished reached the emulator, minus the task's
completion time, both on the emulator's clock: the schedule's own lag, without the time the answer then takes to
be read, which is the same for every schedule but grows with the load of a shared machine. That full lag (the
moment ``on_update`` saw the task finished) is reported too, as "noticed". Status calls are counted per task by
the emulator. Results are ratios to ``fixed``. A run writes ``benchmarks/wait_schedule.json``,
``docs/wait-schedule-benchmark.png`` and the section of ``docs/benchmarks.md`` between its markers
(``--no-write`` only prints).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT
from _emulator_process import EmulatorProcess

from nanobanana import NanoBanana, PollPolicy, TaskStatus
from nanobanana.emulator import Durations

RESULTS = Path(__file__).resolve().parent / "wait_schedule.json"
SECTION = Path(__file__).resolve().parent / "wait_schedule.md"
PAGE = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "wait-schedule-benchmark.png"
START, END = "<!-- wait-schedule:start -->", "<!-- wait-schedule:end -->"

FIXED_3_5 = PollPolicy(initial=3.5, multiplier=1.0, maximum=3.5, jitter=0.0)
ARMS = ("fixed", "default", "warm", "cold")
WARMUP = 8

# name -> (durations, durations after the midpoint or None, what it models)
SCENARIOS: dict[str, tuple[Durations, Durations | None, str]] = {
    "narrow": (Durations.normal(35.0, 1.5), None, "about 35 s, ±3 s (normal, sd 1.5 s)"),
    "wide": (Durations.uniform(25.0, 45.0), None, "25-45 s (uniform)"),
    "fast": (Durations.uniform(2.0, 8.0), None, "2-8 s (uniform)"),
    "two modes": (
        Durations.two_modes(Durations.normal(10.0, 1.0), Durations.normal(40.0, 2.0)),
        None,
        "half about 10 s, half about 40 s",
    ),
    "slowing": (
        Durations.normal(35.0, 1.5),
        Durations.normal(52.5, 2.25),
        "about 35 s, then 50 % slower from the midpoint on",
    ),
}
# (scenario, waiter) -> (max lag ratio, max calls ratio); "default" for fast means: at most the default's calls.
TARGETS: dict[tuple[str, str], tuple[float, float | str]] = {
    ("narrow", "warm"): (0.5, 0.65),
    ("wide", "warm"): (0.6, 0.9),
    ("fast", "warm"): (0.6, "default"),
    ("two modes", "warm"): (1.0, 1.0),
    ("slowing", "warm"): (1.0, 1.0),
    **{(name, "cold"): (1.0, 1.0) for name in SCENARIOS},
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _run_scenario(name: str, emu: EmulatorProcess, tasks: int, spacing: float, seed: int) -> dict[str, Any]:
    """Create ``tasks`` tasks per waiter, one of each every ``spacing`` seconds; return what each waiter saw."""
    _, later, _ = SCENARIOS[name]
    noticed: dict[str, tuple[str, float]] = {}
    rng = random.Random(seed)
    folder = tempfile.mkdtemp(prefix="nb-wait-bench-")
    async with aiohttp.ClientSession() as http:

        def client(poll: PollPolicy | None) -> NanoBanana:
            return NanoBanana(
                base_url=emu.url,
                session_token=emu.token,
                session_file=Path(folder) / "session.json",
                session=http,
                poll=poll,
                max_concurrency=256,
            )

        shared = {"fixed": client(FIXED_3_5), "default": client(PollPolicy()), "warm": client(None)}
        await asyncio.gather(*(shared["warm"].generate(f"warm-up {i}") for i in range(WARMUP)))
        log(f"{name}: warm client ready; {tasks} tasks per waiter, one every {spacing:.2f} s")

        async def one(arm: str, index: int) -> None:
            def on_update(status: TaskStatus) -> None:
                if status.is_done:
                    noticed[status.task_id] = (arm, time.monotonic())

            nano = shared.get(arm) or client(None)
            await nano.generate(f"{arm} {index}", on_update=on_update)

        running = []
        for index in range(tasks):
            if later is not None and index == tasks // 2:
                await asyncio.to_thread(emu.configure, finish_after=later)
            running += [asyncio.create_task(one(arm, index)) for arm in rng.sample(ARMS, len(ARMS))]
            await asyncio.sleep(spacing * rng.uniform(0.5, 1.5))
        await asyncio.gather(*running)
    return noticed


def _stats(lags: list[float], noticed: list[float], calls: list[int]) -> dict[str, Any]:
    lags = sorted(lags)
    return {
        "tasks": len(lags),
        "lag_mean": statistics.fmean(lags),
        "lag_p95": lags[int(0.95 * (len(lags) - 1))],
        "noticed_mean": statistics.fmean(noticed),
        "calls": statistics.fmean(calls),
        "lags": lags,
    }


def _summarize(emu: EmulatorProcess, noticed: dict[str, tuple[str, float]]) -> dict[str, Any]:
    timings = emu.task_timings()
    looks = emu.call("looks")
    lags: dict[str, list[float]] = {arm: [] for arm in ARMS}
    late: dict[str, list[float]] = {arm: [] for arm in ARMS}
    counts: dict[str, list[int]] = {arm: [] for arm in ARMS}
    for task_id, (arm, seen) in noticed.items():
        started, run_time = timings[task_id]
        calls, first_done = looks[task_id]
        lags[arm].append(first_done - (started + run_time))
        late[arm].append(seen - (started + run_time))
        counts[arm].append(calls)
    out: dict[str, Any] = {arm: _stats(lags[arm], late[arm], counts[arm]) for arm in ARMS}
    base = out["fixed"]
    for arm in ARMS:
        out[arm]["lag_ratio"] = out[arm]["lag_mean"] / base["lag_mean"]
        out[arm]["p95_ratio"] = out[arm]["lag_p95"] / base["lag_p95"]
        out[arm]["calls_ratio"] = out[arm]["calls"] / base["calls"]
    return out


def _verdict(name: str, arm: str, row: dict[str, Any]) -> str:
    target = TARGETS.get((name, arm))
    if target is None:
        return ""
    lag_max, calls_max = target
    calls_limit = row["default"]["calls"] / row["fixed"]["calls"] if calls_max == "default" else float(calls_max)
    met = row[arm]["lag_ratio"] <= lag_max and row[arm]["calls_ratio"] <= calls_limit
    wanted = f"lag ≤ {lag_max:g}x, calls ≤ " + ("default's" if calls_max == "default" else f"{calls_max:g}x")
    return f"{wanted}: {'met' if met else '**missed**'}"


def table(results: dict[str, Any]) -> list[str]:
    rows = [
        "| Durations | Waiter | Mean lag | p95 lag | Noticed | Calls per task | Lag ratio | p95 ratio | Calls ratio "
        "| Target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in results.items():
        for arm in ARMS:
            r = row[arm]
            verdict = _verdict(name, arm, row)
            rows.append(
                f"| {name} | {arm} | {r['lag_mean']:.2f} s | {r['lag_p95']:.2f} s | {r['noticed_mean']:.2f} s | "
                f"{r['calls']:.2f} | "
                f"{r['lag_ratio']:.2f}x | {r['p95_ratio']:.2f}x | {r['calls_ratio']:.2f}x | {verdict} |"
            )
    return rows


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    names = list(results)
    width = 0.27
    for ax, key, label in ((axes[0], "lag_ratio", "mean detection lag"), (axes[1], "calls_ratio", "status calls")):
        for offset, arm in zip((-width, 0.0, width), ("default", "warm", "cold"), strict=True):
            ax.bar([i + offset for i in range(len(names))], [results[n][arm][key] for n in names], width, label=arm)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylabel(f"{label} / fixed 3.5 s polling")
        ax.set_title(f"{label.capitalize()}, as a ratio to fixed 3.5 s polling (lower is better)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(results: dict[str, Any], meta: dict[str, Any]) -> str:
    verdicts = [_verdict(n, a, row) for n, row in results.items() for a in ARMS]
    missed = sum("missed" in v for v in verdicts)
    targeted = sum(bool(v) for v in verdicts)
    distributions = "\n".join(f"- **{name}**: {what}" for name, (_, _, what) in SCENARIOS.items())
    return f"""## Waiting on realistic task durations

How soon a finished task is noticed, and at what cost in status calls, on task durations like the real
service's (the capture: about 35 s), against the website's polling (first look at 3.5 s, then every 3.5 s) in
the same run. Waiters: **fixed** (that baseline), **default** (`PollPolicy()`, today's fixed schedule),
**warm** (the SDK's default learned schedule, in a client that has finished {WARMUP} tasks first) and **cold**
(the same, in a fresh client for every task). How the schedule works:
[Waiting for a task](concepts.md#waiting-for-a-task).

```bash
python benchmarks/bench_wait_schedule.py     # about five minutes; rewrites this section and its plot
```

This run: {meta["tasks"]} tasks per waiter and distribution, a new one of each waiter every second or so, all five
distributions at once, {meta["date"]}. Distributions (the emulator's `Durations`):

{distributions}

**Lag** is when the status call that found the task finished reached the emulator, minus when the task
finished: what the schedule itself costs. **Noticed** adds the time the answer then took to reach `on_update`
in the client, the same for every schedule, but inflated by the load of the shared machine the benchmark runs on.

{chr(10).join(table(results))}

{targeted - missed} of {targeted} targets met.

![Detection lag and status calls, as ratios to fixed 3.5 s polling](wait-schedule-benchmark.png)
"""


def write(results: dict[str, Any], meta: dict[str, Any]) -> None:
    text = section(results, meta)
    SECTION.write_text(text, encoding="utf-8")
    page = PAGE.read_text(encoding="utf-8")
    block = f"{START}\n{text}{END}"
    if START in page and END in page:
        page = page[: page.index(START)] + block + page[page.index(END) + len(END) :]
    else:
        page = page.replace("\n## What is measured", f"\n{block}\n\n## What is measured", 1)
    PAGE.write_text(page, encoding="utf-8")
    plot(results, PLOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tasks (about two minutes)")
    parser.add_argument("--tasks", type=int, default=None, help="tasks per waiter and distribution")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--render", action="store_true", help="rewrite the docs from the last run's results file")
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(RESULTS.read_text(encoding="utf-8"))
        write(saved["results"], saved["meta"])
        return 0
    tasks = args.tasks or (30 if args.quick else 120)
    spacing = 1.0  # about 35 tasks of each waiter in flight per distribution: a load a shared machine keeps up with
    emulators = {
        name: EmulatorProcess(finish_after=first, seed=i, result_size=(8, 8)).start()
        for i, (name, (first, _, _)) in enumerate(SCENARIOS.items())
    }
    try:

        async def all_scenarios() -> list[dict[str, tuple[str, float]]]:
            return await asyncio.gather(
                *(_run_scenario(name, emu, tasks, spacing, seed=i) for i, (name, emu) in enumerate(emulators.items()))
            )

        noticed = asyncio.run(all_scenarios())
        results = {name: _summarize(emulators[name], seen) for name, seen in zip(emulators, noticed, strict=True)}
    finally:
        for emu in emulators.values():
            emu.stop()
    meta = {"tasks": tasks, "date": time.strftime("%Y-%m-%d")}
    print("\n".join(table(results)))
    summary = {n: {a: {k: v for k, v in r[a].items() if k != "lags"} for a in ARMS} for n, r in results.items()}
    RESULTS.write_text(json.dumps({"meta": meta, "results": summary}, indent=1), encoding="utf-8")
    if not args.no_write:
        write(results, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run the benchmark suite: ``python benchmarks/run.py`` (a few minutes) or ``--quick`` (about one).

Every number is a ratio against a baseline measured in the same run, on the same machine, interleaved with
it: bare aiohttp doing the same HTTP calls, or importing the dependencies alone. The emulator serves from a
separate process (``_emulator_process.py``) over loopback, and each client measurement runs in a fresh process
(``bench_*.py``), so client and server never share an event loop and peak memory belongs to one measurement.

A full run prints the table and rewrites ``docs/benchmarks.md`` and ``docs/benchmarks.png`` (add
``--no-write`` to only print); a quick run only prints unless given ``--write``. Needs the ``bench`` extra:
``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_import
from _common import ROOT, cpu_plan, median, run_worker
from _emulator_process import EmulatorProcess

import nanobanana

DOCS = ROOT / "docs"
PAGE = DOCS / "benchmarks.md"
PLOT = DOCS / "benchmarks.png"
NOTES = Path(__file__).resolve().parent / "NOTES.md"
RESULTS = Path(__file__).resolve().parent / "results.json"
# Written by bench_wait_schedule.py (a separate run of several minutes); kept on the page between its markers.
WAIT_SECTION = Path(__file__).resolve().parent / "wait_schedule.md"

FULL = {
    "overhead": {"calls": 2000, "rounds": 7, "warmup": 200},
    "throughput": {"ns": [10, 100, 1000, 10000], "repeats": {10: 5, 100: 5, 1000: 10, 10000: 8}},
    "polling": {"n": 200},
    "download": {"rounds": 5},
    "import": {"repeats": 11},
}
QUICK = {
    "overhead": {"calls": 500, "rounds": 3, "warmup": 100},
    "throughput": {"ns": [10, 100, 1000], "repeats": {10: 1, 100: 1, 1000: 1}},
    "polling": {"n": 50},
    "download": {"rounds": 3},
    "import": {"repeats": 5},
}
# The client's defaults, except a short first interval, so wall time measures the client rather than a sleep.
THROUGHPUT_POLL = {"initial": 0.1, "multiplier": 1.5, "maximum": 4.0, "jitter": 0.2}
SDK_POLL: dict[str, float] = {}  # PollPolicy() as shipped
WEB_APP_POLL = {"initial": 3.5, "multiplier": 1.0, "maximum": 3.5, "jitter": 0.0}
TARGETS = {"overhead": 1.10, "throughput": 1.5}


# Set by main: the CPUs client processes are pinned to, away from the emulator's (None: not pinned).
CLIENT_CPUS: set[int] | None = None


def worker(script: str, params: dict[str, Any], **kwargs: Any) -> tuple[dict[str, Any], Any, Any]:
    return run_worker(script, params, cpus=CLIENT_CPUS, **kwargs)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def common(emu: EmulatorProcess) -> dict[str, Any]:
    return {"url": emu.url, "token": emu.token, "sample_url": f"{emu.file_url}/samples/person.png"}


# --- the benchmarks ---------------------------------------------------------------------------------------


def bench_overhead(emu: EmulatorProcess, cfg: dict[str, Any]) -> dict[str, Any]:
    log(f"overhead: {cfg['calls']} sequential calls x {cfg['rounds']} rounds, SDK and raw alternating")
    result, _, _ = worker("bench_overhead.py", {**common(emu), **cfg})
    emu.reset()
    return result


def bench_throughput(emu: EmulatorProcess, cfg: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in cfg["ns"]:
        runs: dict[str, list[dict[str, Any]]] = {"sdk": [], "raw": []}
        for rep in range(cfg["repeats"][n]):
            for impl in ("sdk", "raw") if rep % 2 == 0 else ("raw", "sdk"):
                emu.reset()
                params = {**common(emu), "impl": impl, "n": n, "warmup": 10, "poll": THROUGHPUT_POLL}

                def counters() -> tuple[int, float]:
                    return emu.count("status"), emu.cpu_seconds()

                result, before, after = worker("bench_throughput.py", params, before=counters, after=counters)
                result["status_calls"] = after[0] - before[0]
                result["server_cpu"] = after[1] - before[1]
                runs[impl].append(result)
                log(
                    f"throughput N={n} {impl}: {result['wall']:.2f}s wall, {n / result['wall']:.0f}/s, "
                    f"{result['cpu'] / n * 1e3:.2f} ms CPU/gen (emulator {result['server_cpu'] / n * 1e3:.2f}), "
                    f"{result['errors']} errors"
                )
        row: dict[str, Any] = {}
        for impl, results in runs.items():
            wall = median([r["wall"] for r in results])
            cpu = median([r["cpu"] for r in results])
            row[impl] = {
                "wall": wall,
                "per_s": n / wall,
                "cpu_per_gen_ms": cpu / n * 1e3,
                "status_per_gen": median([r["status_calls"] / n for r in results]),
                "server_cpu_per_gen_ms": median([r["server_cpu"] / n for r in results]) * 1e3,
                "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
                "rss_growth_mb": max(r["peak_rss_mb"] - r["rss_before_mb"] for r in results),
                "gc_ms_per_gen": median([r["gc_seconds"] for r in results]) / n * 1e3,
                "gc_full": median([r["gc_full"] for r in results]),
                "errors": sum(r["errors"] for r in results),
                "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
            }
        # Ratios of the pairs run back to back, then their median (as the overhead benchmark does): on a shared
        # machine the load drifts between pairs more than within one, so a pair's ratio is the steadier measure.
        pairs = list(zip(runs["sdk"], runs["raw"], strict=True))
        wall_ratios = [sdk["wall"] / raw["wall"] for sdk, raw in pairs]
        row["wall_ratio"] = median(wall_ratios)
        row["wall_ratio_range"] = [min(wall_ratios), max(wall_ratios)]
        row["cpu_ratio"] = median([sdk["cpu"] / raw["cpu"] for sdk, raw in pairs])
        row["rss_ratio"] = row["sdk"]["peak_rss_mb"] / row["raw"]["peak_rss_mb"]
        out[str(n)] = row
    return out


def _lag_stats(emu: EmulatorProcess, noticed: dict[str, float], status_calls: int) -> dict[str, Any]:
    timings = emu.task_timings()
    lags = sorted(noticed[t] - (start + after) for t, (start, after) in timings.items() if t in noticed)
    return {
        "tasks": len(lags),
        "status_per_task": status_calls / max(1, len(lags)),
        "lag_mean": statistics.fmean(lags),
        "lag_median": median(lags),
        "lag_p95": lags[int(0.95 * (len(lags) - 1))],
        "lag_max": lags[-1],
        "lags": lags,
    }


def bench_polling(emu: EmulatorProcess, cfg: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, poll in (("sdk", SDK_POLL), ("web_app", WEB_APP_POLL)):
        log(f"polling: {cfg['n']} tasks finishing after 1-10 s, {name} policy")
        emu.reset()
        emu.configure(finish_after=(1.0, 10.0), seed=7)  # the same durations for every policy
        result, before, after = worker(
            "bench_polling.py",
            {**common(emu), "n": cfg["n"], "poll": poll},
            before=lambda: emu.count("status"),
            after=lambda: emu.count("status"),
        )
        out[name] = _lag_stats(emu, result["noticed"], after - before)
    emu.configure(finish_after=0.0, seed=1)
    emu.reset()
    out["calls_ratio"] = out["sdk"]["status_per_task"] / out["web_app"]["status_per_task"]
    out["lag_ratio"] = out["sdk"]["lag_mean"] / out["web_app"]["lag_mean"]
    return out


def bench_download(emu: EmulatorProcess, cfg: dict[str, Any]) -> dict[str, Any]:
    files = {}
    for size_mb in (5, 50):
        payload = b"\x89PNG\r\n\x1a\n" + os.urandom(size_mb * 2**20 - 8)
        files[size_mb] = emu.add_file(f"/bench/{size_mb}mb.png", payload, "image/png")
    base = {**common(emu), "small": f"{emu.file_url}/samples/banana.png"}
    log(f"download: 50 MB x {cfg['rounds']} rounds, SDK and raw alternating")
    speed, _, _ = worker("bench_download.py", {**base, "mode": "speed", "file": files[50], **cfg})
    memory: dict[str, dict[str, Any]] = {}
    for impl in ("sdk", "raw"):
        for size_mb, url in files.items():
            log(f"download: memory of one {size_mb} MB download, {impl}, fresh process")
            result, _, _ = worker("bench_download.py", {**base, "mode": "memory", "impl": impl, "file": url})
            memory[f"{impl}_{size_mb}"] = result
    return {
        "speed": speed,
        "memory": memory,
        "memory_growth": memory["sdk_50"]["traced_peak_mb"] / memory["sdk_5"]["traced_peak_mb"],
    }


def bench_imports(cfg: dict[str, Any]) -> dict[str, Any]:
    log(f"import: {cfg['repeats']} fresh interpreters each")
    return bench_import.run(cfg["repeats"])


# --- reporting --------------------------------------------------------------------------------------------


def _verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return "ok" if ratio <= target else f"**over** ({ratio:.3f}x)"


def _spread(row: dict[str, Any]) -> str:
    low, high = row.get("wall_ratio_range") or (None, None)
    return f" (pairs {low:.2f}-{high:.2f}x)" if low is not None and high is not None and low != high else ""


def table_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(measure, SDK, baseline, ratio, target) rows."""
    rows: list[tuple[str, str, str, str, str]] = []

    def add(measure: str, sdk: str, base: str, ratio: float, target: str = "") -> None:
        rows.append((measure, sdk, base, f"{ratio:.2f}x", target))

    def goal(ratio: float, target: float) -> str:
        return f"≤ {target}x {_verdict(ratio, target)}"

    for name, r in results.get("overhead", {}).items():
        wall = goal(r["ratio"], TARGETS["overhead"])
        add(f"`{name}()` per call, wall", f"{r['sdk_us']:.0f} µs", f"{r['raw_us']:.0f} µs", r["ratio"], wall)
        add(
            f"`{name}()` per call, client CPU", f"{r['sdk_cpu_us']:.0f} µs", f"{r['raw_cpu_us']:.0f} µs", r["cpu_ratio"]
        )
    for n, r in results.get("throughput", {}).items():
        sdk, raw, label = r["sdk"], r["raw"], f"generate() x {int(n):,}"
        add(
            f"{label}, wall",
            f"{sdk['wall']:.2f} s ({sdk['per_s']:.0f}/s, {sdk['errors']} errors)",
            f"{raw['wall']:.2f} s ({raw['per_s']:.0f}/s)",
            r["wall_ratio"],
            goal(r["wall_ratio"], TARGETS["throughput"]) + _spread(r),
        )
        # The emulator's CPU comes from /proc in clock ticks (10 ms): meaningful from N = 1,000.
        emulator = (
            (f" (emulator {sdk['server_cpu_per_gen_ms']:.2f} ms)", f" (emulator {raw['server_cpu_per_gen_ms']:.2f} ms)")
            if int(n) >= 1000
            else ("", "")
        )
        add(
            f"{label}, client CPU per generation",
            f"{sdk['cpu_per_gen_ms']:.2f} ms{emulator[0]}",
            f"{raw['cpu_per_gen_ms']:.2f} ms{emulator[1]}",
            r["cpu_ratio"],
        )
        # A handful of young collections below N = 1,000: too few to compare.
        if int(n) >= 1000 and "gc_ms_per_gen" in sdk and "gc_ms_per_gen" in raw:
            add(
                f"{label}, in the garbage collector per generation (full collections)",
                f"{sdk['gc_ms_per_gen']:.3f} ms ({sdk['gc_full']:.0f})",
                f"{raw['gc_ms_per_gen']:.3f} ms ({raw['gc_full']:.0f})",
                sdk["gc_ms_per_gen"] / max(raw["gc_ms_per_gen"], 1e-9),
            )
        add(
            f"{label}, peak RSS (status calls/gen)",
            f"{sdk['peak_rss_mb']:.0f} MB ({sdk['status_per_gen']:.2f})",
            f"{raw['peak_rss_mb']:.0f} MB ({raw['status_per_gen']:.2f})",
            r["rss_ratio"],
        )
    if "polling" in results:
        p = results["polling"]
        sdk, web = p["sdk"], p["web_app"]
        add("polling 1-10 s tasks: status calls per task", f"{sdk['status_per_task']:.2f}",
            f"{web['status_per_task']:.2f} (fixed 3.5 s)", p["calls_ratio"])  # fmt: skip
        add("polling 1-10 s tasks: detection lag, mean (p95)", f"{sdk['lag_mean']:.2f} s ({sdk['lag_p95']:.2f} s)",
            f"{web['lag_mean']:.2f} s ({web['lag_p95']:.2f} s)", p["lag_ratio"])  # fmt: skip
    if "download" in results:
        d = results["download"]
        speed, m = d["speed"], d["memory"]
        add("download 50 MB to disk, time", f"{speed['sdk_mb_s']:.0f} MB/s", f"{speed['raw_mb_s']:.0f} MB/s",
            speed["ratio"])  # fmt: skip
        add("download 50 MB to disk, time (baseline + fsync)", f"{speed['sdk_mb_s']:.0f} MB/s",
            f"{speed['raw_fsync_mb_s']:.0f} MB/s", speed["ratio_fsync"])  # fmt: skip
        add(
            "download, peak traced memory 5 MB → 50 MB file",
            f"{m['sdk_5']['traced_peak_mb']:.1f} → {m['sdk_50']['traced_peak_mb']:.1f} MB",
            f"{m['raw_5']['traced_peak_mb']:.1f} → {m['raw_50']['traced_peak_mb']:.1f} MB",
            d["memory_growth"],
            "flat (50 MB / 5 MB ≈ 1x)",
        )
    if "import" in results:
        i = results["import"]
        add("`import nanobanana`", f"{i['sdk_ms']:.0f} ms", f"{i['deps_ms']:.0f} ms (dependencies)", i["ratio"])
    return rows


def print_table(results: dict[str, Any]) -> str:
    header = ("measure", "SDK", "baseline", "ratio", "target")
    rows = [header, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    text = "\n".join(lines)
    print(text)
    return text


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax = axes[0][0]
    labels, ratios, targets = [], [], []
    for name, r in results.get("overhead", {}).items():
        labels.append(f"{name}()\nper call")
        ratios.append(r["ratio"])
        targets.append(TARGETS["overhead"])
    for n, r in results.get("throughput", {}).items():
        labels.append(f"generate\nx{int(n):,}")
        ratios.append(r["wall_ratio"])
        targets.append(TARGETS["throughput"])
    if "download" in results:
        labels.append("download\n50 MB")
        ratios.append(results["download"]["speed"]["ratio"])
        targets.append(float("nan"))
    if "import" in results:
        labels.append("import")
        ratios.append(results["import"]["ratio"])
        targets.append(float("nan"))
    x = range(len(labels))
    ax.bar(
        x, ratios, color=["#e0b000" if t != t or r <= t else "#d04040" for r, t in zip(ratios, targets, strict=True)]
    )
    ax.scatter(x, targets, marker="_", s=600, color="black", label="target", zorder=3)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_ylabel("SDK time / baseline time")
    ax.set_title("Ratios to the baseline (lower is better)")
    ax.legend(loc="upper left")

    ax = axes[0][1]
    if "throughput" in results:
        ns = [int(n) for n in results["throughput"]]
        for impl, style in (("sdk", "o-"), ("raw", "s--")):
            ax.plot(ns, [results["throughput"][str(n)][impl]["per_s"] for n in ns], style, label=impl)
        ax.set_xscale("log")
        ax.set_xlabel("concurrent generations (N)")
        ax.set_ylabel("generations per second")
        ax.set_title("Throughput against the emulator (instant tasks)")
        ax.legend()

    ax = axes[1][0]
    if "polling" in results:
        p = results["polling"]
        ax.hist([p["sdk"]["lags"], p["web_app"]["lags"]], bins=20,
                label=[f"PollPolicy() ({p['sdk']['status_per_task']:.1f} calls/task)",
                       f"fixed 3.5 s ({p['web_app']['status_per_task']:.1f} calls/task)"])  # fmt: skip
        ax.set_xlabel("detection lag (s): noticed - finished")
        ax.set_ylabel("tasks")
        ax.set_title("Polling tasks that take 1-10 s")
        ax.legend()

    ax = axes[1][1]
    if "download" in results:
        m = results["download"]["memory"]
        sizes = [5, 50]
        width = 0.35
        for offset, impl in ((-width / 2, "sdk"), (width / 2, "raw")):
            ax.bar(
                [i + offset for i in range(2)], [m[f"{impl}_{s}"]["traced_peak_mb"] for s in sizes], width, label=impl
            )
        ax.set_xticks([0, 1], [f"{s} MB file" for s in sizes])
        ax.set_ylabel("peak traced allocations (MB)")
        ax.set_title("Client memory while downloading to disk")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_page(results: dict[str, Any], meta: dict[str, Any]) -> None:
    rows = table_rows(results)
    table = ["| Measure | SDK | Baseline | Ratio | Target |", "| --- | --- | --- | --- | --- |"]
    table += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    offenders = results.get("import", {}).get("offenders", [])
    imports = ["| Module | Self (ms) | Cumulative (ms) |", "| --- | --- | --- |"]
    imports += [
        f"| `{o['module']}` | {o['self_ms']:.1f} | {o['cumulative_ms']:.1f} |" for o in offenders if not o.get("ours")
    ][:10]
    ours = ["| Module | Self (ms) | Cumulative (ms) |", "| --- | --- | --- |"]
    ours += [f"| `{o['module']}` | {o['self_ms']:.1f} | {o['cumulative_ms']:.1f} |" for o in offenders if o.get("ours")]
    notes = NOTES.read_text(encoding="utf-8") if NOTES.exists() else ""
    wait = WAIT_SECTION.read_text(encoding="utf-8") if WAIT_SECTION.exists() else ""
    wait_block = f"<!-- wait-schedule:start -->\n{wait}<!-- wait-schedule:end -->\n\n" if wait else ""
    errors = {n: r["sdk"]["errors"] for n, r in results.get("throughput", {}).items()}
    failures = (
        "No generation failed, at any N."
        if not any(errors.values())
        else "Failed generations: " + ", ".join(f"{count} at N = {n}" for n, count in errors.items() if count) + "."
    )
    missed = [row[0] for row in rows if "**over**" in row[4]]
    targeted = [row for row in rows if row[4].startswith("≤")]
    verdict = (
        f"{len(targeted) - len(missed)} of {len(targeted)} targets met; over target: {', '.join(missed)}."
        if missed
        else f"All {len(targeted)} targets met."
    )
    page = f"""# Benchmarks

How much the SDK costs on top of plain aiohttp, measured against the [emulator](guides/testing.md) over loopback.
Every number is a **ratio to a baseline measured in the same run**, interleaved with it: the machines these
run on are shared and noisy, so absolute times vary from run to run while the ratios hold.

```bash
pip install -e ".[bench]"
python benchmarks/run.py            # the full suite, a few minutes; rewrites this page and the plot
python benchmarks/run.py --quick    # a short run (N up to 1,000), printed only
```

This run: nanobanana {meta["version"]}, Python {meta["python"]}, aiohttp {meta["aiohttp"]}, pydantic
{meta["pydantic"]}, {meta["platform"]}, {meta["cpus"]} CPUs, {meta["date"]}{" (quick run)" if meta["quick"] else ""}.

## Results

{chr(10).join(table)}

{verdict} {failures}

![Benchmark ratios, throughput, polling lag and download memory](benchmarks.png)

{wait_block}## What is measured

- **Overhead per call**: `client.status()` and `client.create()` one at a time, thousands of calls, against the
  same POST written with bare aiohttp (one `ClientSession`, `json=`, `resp.json()`). SDK and raw rounds alternate
  in one process; the ratio is the median of the per-round ratios. "Client CPU" is `time.process_time()` of the
  client process per call: the SDK's own work, without the server's.
- **Throughput**: N concurrent `generate()` calls (the emulator finishes tasks at once) against a minimal
  raw-aiohttp create/poll/download loop with the same limits: at most 64 requests in flight, a 64-socket pool,
  and the same poll schedule (the SDK's growing, jittered intervals, with a 0.1 s first interval so wall time
  measures the client rather than a sleep). Each measurement runs in a fresh process, after a warm-up of 10
  generations, so its peak RSS is its own; status calls per generation are counted by the emulator, and the
  emulator's own CPU per generation (from `/proc`) shows whether the server was the limit; `gc.callbacks` times the
  garbage collector (part of the client CPU) and counts its full collections. SDK and raw runs come in
  back-to-back pairs (in alternating order), and the ratio is the median of the pairs' ratios, with their range
  beside it; times are the medians of each side, and peak RSS the highest of its runs.
- **Polling**: {results.get("polling", {}).get("sdk", {}).get("tasks", "N")} tasks finishing after a random 1-10 s
  (seeded, the same for both policies). Detection lag is the moment the client saw `succeed` minus the emulator's
  own completion time (task start + its duration, on the shared monotonic clock). The baseline is the website's
  fixed 3.5 s poll.
- **Download**: a 50 MB file from the file host to disk, `client.download(url, path)` (atomic rename and fsync
  included) against `iter_chunked` into a plain file, and against the same plus an `fsync` (the SDK syncs before
  renaming into place, so a crash never leaves a truncated result under the real name). Memory: one download per
  fresh process under `tracemalloc`, 5 MB against 50 MB; the SDK's peak must not grow with the file.
- **Import**: `import nanobanana` in fresh interpreters against importing its dependencies alone
  (`{bench_import.DEPENDENCIES}`), median of {meta["import_repeats"]}.

### Where import time goes

`python -X importtime -c "import nanobanana"`, largest self times:

{chr(10).join(imports)}

The package's own modules, by cumulative time:

{chr(10).join(ours)}

{notes}
"""
    PAGE.write_text(page, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run: fewer calls and rounds, N up to 1,000")
    parser.add_argument("--only", default="", help="comma-separated: overhead,throughput,polling,download,import")
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md and the plot (quick run)")
    parser.add_argument("--no-write", action="store_true", help="print only, even for a full run")
    parser.add_argument(
        "--pin", action="store_true", help="pin the emulator to the last CPU and the clients to the others (Linux)"
    )
    parser.add_argument(
        "--page-only", action="store_true", help="rebuild the page and the plot from benchmarks/results.json"
    )
    args = parser.parse_args(argv)
    if args.page_only:
        saved = json.loads(RESULTS.read_text(encoding="utf-8"))
        print_table(saved["results"])
        plot(saved["results"], PLOT)
        write_page(saved["results"], saved["meta"])
        return 0
    global CLIENT_CPUS
    server_cpu, CLIENT_CPUS = cpu_plan() if args.pin else (None, None)
    cfg = QUICK if args.quick else FULL
    selected = [s for s in args.only.split(",") if s] or ["overhead", "throughput", "polling", "download", "import"]
    started = time.monotonic()
    results: dict[str, Any] = {}
    knobs: dict[str, Any] = {"finish_after": 0.0, "record_requests": False, "result_size": (64, 64), "seed": 1}
    with EmulatorProcess(cpu=server_cpu, **knobs) as emu:
        pinned = f", emulator on CPU {server_cpu}, clients on {sorted(CLIENT_CPUS)}" if CLIENT_CPUS else ""
        log(f"emulator (pid {emu.pid}) at {emu.url}, files at {emu.file_url}{pinned}")
        runners = {
            "overhead": lambda: bench_overhead(emu, cfg["overhead"]),
            "throughput": lambda: bench_throughput(emu, cfg["throughput"]),
            "polling": lambda: bench_polling(emu, cfg["polling"]),
            "download": lambda: bench_download(emu, cfg["download"]),
            "import": lambda: bench_imports(cfg["import"]),
        }
        for name in selected:
            results[name] = runners[name]()
    log(f"done in {time.monotonic() - started:.0f} s")
    print()
    print_table(results)
    import aiohttp
    import pydantic

    meta = {
        "version": nanobanana.__version__,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "pydantic": pydantic.VERSION,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "quick": args.quick,
        "import_repeats": cfg["import"]["repeats"],
        "pinned": CLIENT_CPUS is not None,
    }
    if (args.write or not args.quick) and not args.no_write:
        RESULTS.write_text(json.dumps({"meta": meta, "results": results}, indent=1), encoding="utf-8")
        plot(results, PLOT)
        write_page(results, meta)
        log(f"wrote {PAGE.relative_to(ROOT)}, {PLOT.relative_to(ROOT)} and {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

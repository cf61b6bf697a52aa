"""What telemetry costs per call: ``client.status()`` / ``client.create()`` with and without it, as ratios.

Run it on its own: ``python benchmarks/bench_telemetry.py [--quick] [--baseline REV]``. Every mode runs the
overhead worker (``bench_overhead.py``: SDK calls against bare aiohttp, alternating, in one process) in a fresh
process against one emulator process, the modes interleaved over several repeats:

- ``baseline``: the SDK at ``REV`` (default: the merge base with ``main``), before telemetry existed;
- ``absent``: this build with the ``otel`` extra missing (``opentelemetry`` made unimportable);
- ``off``: this build with the OpenTelemetry API installed and no provider configured, the common case;
- ``on``: this build with the OpenTelemetry SDK's tracer and meter providers set, spans sent to an exporter
  that drops them (the cost of recording, for information).

Each mode's figure is its SDK/raw ratio (so machine load that slows both sides cancels out); the result is
that ratio divided by the baseline's. Within noise means within the spread of the baseline's own repeats.

On a loaded machine that spread is wide, so the hooks are also timed alone, in this process (API installed,
no provider): what one status call and one whole generation add, against the CPU time of one status call.
Results go to ``benchmarks/telemetry.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import ROOT, cpu_plan, median, run_worker, worker_main

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "telemetry.json"
MODES = ("baseline", "absent", "off", "on")
FULL = {"calls": 1000, "rounds": 5, "warmup": 200, "repeats": 5}
QUICK = {"calls": 400, "rounds": 3, "warmup": 100, "repeats": 3}


# --- the worker ---------------------------------------------------------------------------------------------


def _install_recording_providers() -> None:
    """Set the SDK's global providers: every span is recorded and handed to an exporter that drops it."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Dropping(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Dropping()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def _worker() -> None:
    params = json.loads(sys.argv[1])
    if params["mode"] == "absent":
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]  # the import now fails, as if not installed
    elif params["mode"] == "on":
        _install_recording_providers()
    from bench_overhead import body

    worker_main(body)


# --- the runner ---------------------------------------------------------------------------------------------


def _baseline_tree(revision: str, folder: Path) -> Path:
    """The package as it was at ``revision``, extracted into ``folder`` (put first on PYTHONPATH)."""
    archive = subprocess.run(["git", "archive", revision, "nanobanana"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _run_mode(mode: str, params: dict[str, Any], baseline: Path, cpus: set[int] | None) -> dict[str, Any]:
    env = {"PYTHONPATH": str(baseline)} if mode == "baseline" else None
    result, _, _ = run_worker("bench_telemetry.py", {**params, "mode": mode}, env=env, cpus=cpus)
    return result


def _run(cfg: dict[str, Any], revision: str) -> dict[str, Any]:
    from _emulator_process import EmulatorProcess

    emulator_cpu, client_cpus = cpu_plan()
    rows: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorProcess(finish_after=0, record_requests=False, cpu=emulator_cpu) as emu,
    ):
        baseline = _baseline_tree(revision, Path(folder))
        params = {
            "url": emu.url,
            "token": emu.token,
            "sample_url": f"{emu.file_url}/samples/person.png",
            **{key: cfg[key] for key in ("calls", "rounds", "warmup")},
        }
        for repeat in range(cfg["repeats"]):
            # Rotate the order, so no mode always runs first (or last) in a repeat.
            for mode in MODES[repeat % len(MODES) :] + MODES[: repeat % len(MODES)]:
                print(f"repeat {repeat + 1}/{cfg['repeats']}: {mode}", file=sys.stderr, flush=True)
                rows[mode].append(_run_mode(mode, params, baseline, client_cpus))
                emu.reset()
    return _summarize(rows, revision)


def _summarize(rows: dict[str, list[dict[str, Any]]], revision: str) -> dict[str, Any]:
    summary: dict[str, Any] = {"baseline_revision": revision, "modes": {}, "_baseline_rows": rows["baseline"]}
    for call in ("status", "create"):
        base = [row[call]["ratio"] for row in rows["baseline"]]
        base_median = median(base)
        noise = (max(base) - min(base)) / base_median
        summary.setdefault("noise", {})[call] = noise
        for mode in MODES:
            ratios = [row[call]["ratio"] for row in rows[mode]]
            summary["modes"].setdefault(mode, {})[call] = {
                "sdk_over_raw": median(ratios),
                "vs_baseline": median(ratios) / base_median,
                "sdk_us": median([row[call]["sdk_us"] for row in rows[mode]]),
            }
    return summary


def _hook_costs(repeat: int = 20_000) -> dict[str, float]:
    """Microseconds the no-op hooks add: per HTTP request, and per generation apart from its requests."""
    import time

    from yarl import URL

    from nanobanana._telemetry import Telemetry

    telemetry = Telemetry(server=URL("https://nanabanana.ai"), redact=str)
    url = URL("https://nanabanana.ai/api/image-generation-nano-banana/status")

    async def fetch(task_id: str) -> Any:
        return None

    def per_request() -> None:
        with telemetry.http_request("POST", url, 0) as span:
            span.status(200)

    def per_generation() -> None:
        with telemetry.generation("a prompt", options={}, image_urls=(), images=()):
            with telemetry.step("create") as span:
                span.set_task_id("task")
            wait = telemetry.wait("task")
            wait.run(fetch("task")).close()
            wait.fetch(fetch)
            with telemetry.step("download", url="https://file.example/result.png"):
                pass

    costs = {}
    for name, hook in (("per_request_us", per_request), ("per_generation_us", per_generation)):
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(repeat):
                hook()
            best = min(best, (time.perf_counter() - started) / repeat * 1e6)
        costs[name] = best
    return costs


def _print(summary: dict[str, Any]) -> None:
    print(f"baseline: {summary['baseline_revision']}")
    print(f"{'mode':<10}{'call':<8}{'SDK/raw':>10}{'vs baseline':>14}{'us/call':>10}")
    for mode, calls in summary["modes"].items():
        for call, row in calls.items():
            print(f"{mode:<10}{call:<8}{row['sdk_over_raw']:>10.3f}{row['vs_baseline']:>14.3f}{row['sdk_us']:>10.1f}")
    for call, noise in summary["noise"].items():
        print(f"noise ({call}): the baseline's own repeats spread over {noise:.1%}")
    hooks = summary["hooks"]
    print(
        f"hooks alone: {hooks['per_request_us']:.2f} us per request, {hooks['per_generation_us']:.2f} us per "
        f"generation besides; per status call {hooks['share_of_status_cpu']:.2%} of its CPU time"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, rounds and repeats")
    parser.add_argument("--baseline", default="", help="the revision to compare with (default: merge base with main)")
    args = parser.parse_args()
    revision = (
        args.baseline
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    summary = _run(QUICK if args.quick else FULL, revision)
    hooks = _hook_costs()
    base_cpu = median([row["status"]["sdk_cpu_us"] for row in summary.pop("_baseline_rows")])
    summary["hooks"] = {**hooks, "status_cpu_us": base_cpu, "share_of_status_cpu": hooks["per_request_us"] / base_cpu}
    _print(summary)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("{"):  # run by run_worker, with its JSON parameters
        _worker()
    else:
        sys.exit(main())

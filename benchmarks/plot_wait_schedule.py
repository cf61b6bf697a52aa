"""Draw ``docs/wait-schedule.png``: when the status calls fall for a 35 s task, per schedule (no network).

``python benchmarks/plot_wait_schedule.py``. The learned schedules are laid out by the SDK's own planner, from
the prior (a client with no history) and from 30 run times drawn like the benchmark's narrow and wide cases;
jitter is left out, so the plot shows the plan itself.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT

from nanobanana import PollPolicy
from nanobanana._learned_schedule import Planner, delay_after
from nanobanana._timing import ANY_KIND, TaskTimings

PLOT = ROOT / "docs" / "wait-schedule.png"
RUN_TIME = 35.4  # the captured task's run time


def _fixed_looks(policy: PollPolicy, until: float) -> list[float]:
    looks, t, calls = [], 0.0, 0
    while t < until:
        calls += 1
        t += policy.interval(calls)
        looks.append(t)
    return looks


def _learned_looks(timings: TaskTimings, until: float) -> list[float]:
    plan = Planner(timings).looks(ANY_KIND)
    looks, t = [], 0.0
    while t < until:
        t += delay_after(plan, t)
        looks.append(t)
    return looks


def _timings(draw: random.Random, low: float, high: float, normal: bool) -> TaskTimings:
    timings = TaskTimings()
    for _ in range(30):
        seconds = draw.gauss((low + high) / 2, (high - low) / 4) if normal else draw.uniform(low, high)
        timings.observe(ANY_KIND, (seconds, seconds))
    return timings


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    draw = random.Random(3)
    rows = [
        ("fixed 3.5 s (the website)", _fixed_looks(PollPolicy(initial=3.5, multiplier=1.0, maximum=3.5), RUN_TIME)),
        ("PollPolicy() (fixed, growing)", _fixed_looks(PollPolicy(), RUN_TIME)),
        ("learned, no history (prior)", _learned_looks(TaskTimings(), RUN_TIME)),
        ("learned, after tasks of 25-45 s", _learned_looks(_timings(draw, 25.0, 45.0, normal=False), RUN_TIME)),
        ("learned, after tasks of 35 ± 3 s", _learned_looks(_timings(draw, 32.0, 38.0, normal=True), RUN_TIME)),
    ]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    for y, (_, looks) in enumerate(rows):
        ax.plot(looks, [y] * len(looks), "|", markersize=16, mew=2)
        ax.text(looks[-1] + 0.8, y, f"{len(looks)} calls, noticed {looks[-1] - RUN_TIME:.1f} s late", va="center")
    ax.axvline(RUN_TIME, color="grey", ls="--", lw=1)
    ax.text(RUN_TIME + 0.3, -0.5, "task done", color="grey")
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.set_ylim(-0.6, len(rows) - 0.2)
    ax.set_xlim(0, 58)
    ax.set_xlabel("seconds since the task was created")
    ax.set_title("Status calls of one wait for a task that takes 35.4 s (the capture's)")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

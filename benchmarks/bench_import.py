"""Import time of ``import nanobanana`` in fresh interpreters, against importing its dependencies alone."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from _common import ROOT, median

_TIMED = "import time; s = time.perf_counter(); {modules}; print(time.perf_counter() - s)"
# The dependencies alone, with the pydantic names the SDK uses (pydantic imports its internals lazily, on access).
DEPENDENCIES = (
    "aiohttp, tenacity, platformdirs, yarl; from pydantic import BaseModel, ConfigDict, Field, ValidationError"
)


def _time_import(modules: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMED.format(modules=modules)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(out.stdout.strip())


def importtime_offenders(top: int = 12) -> list[dict[str, Any]]:
    """``python -X importtime -c 'import nanobanana'``: the modules with the largest self time."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import nanobanana"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append(
            {"module": name.strip(), "self_ms": int(self_us) / 1000, "cumulative_ms": int(cumulative_us) / 1000}
        )
    ours = [row for row in rows if row["module"].startswith("nanobanana")]
    rows.sort(key=lambda row: row["self_ms"], reverse=True)
    ours.sort(key=lambda row: row["cumulative_ms"], reverse=True)
    return rows[:top] + [{**row, "ours": True} for row in ours[:top]]


def run(repeats: int) -> dict[str, Any]:
    sdk, deps = [], []
    for _ in range(repeats):  # interleaved, so drift in machine load hits both alike
        sdk.append(_time_import("import nanobanana"))
        deps.append(_time_import("import " + DEPENDENCIES))
    return {
        "sdk_ms": median(sdk) * 1000,
        "deps_ms": median(deps) * 1000,
        "ratio": median(sdk) / median(deps),
        "offenders": importtime_offenders(),
    }

"""The command line's ``batch`` reports to the global providers, with every item under one batch span.

It runs in a fresh interpreter, which sets the global providers (possible once per process) as
``opentelemetry-instrument`` would, then runs the command line's ``main``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nanobanana.emulator import Emulator

SCRIPT = """
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from nanobanana._cli import main

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
code = main(sys.argv[1:])
spans = [
    {"name": s.name, "id": s.context.span_id, "parent": s.parent.span_id if s.parent else None}
    for s in exporter.get_finished_spans()
]
print(json.dumps({"code": code, "spans": spans}))
"""


def test_the_cli_batch_puts_every_item_under_one_batch_span(nanobanana_emulator: Emulator, tmp_path: Path) -> None:
    url = nanobanana_emulator.sample_urls[0]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join(json.dumps({"id": f"item-{n}", "prompt": "night", "image_urls": [url]}) + "\n" for n in range(3))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOBANANA_")}
    env.update(
        NANOBANANA_BASE_URL=nanobanana_emulator.url,
        NANOBANANA_SESSION_TOKEN=nanobanana_emulator.issue_token(),
        NANOBANANA_SESSION_FILE=str(tmp_path / "session.json"),
    )
    args = ["--json", "batch", str(jobs), "--out", str(tmp_path / "out"), "--poll-interval", "0.05"]

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    (batch,) = [s for s in report["spans"] if s["name"] == "nanobanana.batch"]
    items = [s for s in report["spans"] if s["name"] == "generate_content nano-banana-pro"]
    assert len(items) == 3
    assert all(item["parent"] == batch["id"] for item in items)

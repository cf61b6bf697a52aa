"""Looking at a batch: the resume line, progress that fits, `batch --status`, and `report` (text and HTML)."""

from __future__ import annotations

import fcntl
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_support import CLI
from rich.console import Console
from support import CLI_FAST_POLL

from nanobanana._batch import BatchProgress
from nanobanana._cli._ui import UI, BatchLines, failures_table
from nanobanana.emulator import Emulator, sample_images

CHROMIUM = Path("/usr/bin/chromium")


def write_jobs(cli: CLI, emu: Emulator, count: int) -> None:
    """``jobs.jsonl``: item 0 from a local file (so the report has an input thumbnail), the rest from URLs."""
    name, data = sample_images()[0]
    (cli.cwd / name).write_bytes(data)
    lines = [json.dumps({"id": "item-0", "prompt": "banana <b>zero</b>", "images": [name]})]
    lines += [
        json.dumps({"id": f"item-{i}", "prompt": f"banana {i}", "image_urls": [emu.sample_urls[1]]})
        for i in range(1, count)
    ]
    (cli.cwd / "jobs.jsonl").write_text("\n".join(lines) + "\n")


def batch(cli: CLI, *options: str) -> list[str]:
    return ["batch", "jobs.jsonl", "--journal", "run.jsonl", "--out", "results", *CLI_FAST_POLL, *options]


@pytest.fixture
def mixed(cli: CLI, emu: Emulator) -> Emulator:
    """A journal of 2 items done, 2 failed (a second run) and one whose create was sent when its run died."""
    write_jobs(cli, emu, 2)
    assert cli.run(*batch(cli)).code == 0
    emu.configure(failure_rate=1.0, failure_message="No face found.")
    write_jobs(cli, emu, 4)
    assert cli.run(*batch(cli)).code == 10
    with (cli.cwd / "run.jsonl").open("a") as journal:
        journal.write(json.dumps({"key": "lost", "event": "creating", "index": 9, "time": "2026-01-01T00:00:00+00:00"}))
        journal.write("\n")
    return emu


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_a_resumed_batch_first_says_what_it_resumes(cli: CLI, emu: Emulator) -> None:
    write_jobs(cli, emu, 2)
    assert cli.run(*batch(cli)).code == 0
    write_jobs(cli, emu, 5)

    run = cli.run(*batch(cli))

    assert run.code == 0, run
    assert "resumed: 2 done, 0 re-attached, 3 to go" in run.err
    assert emu.created_count == 5


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_without_a_terminal_progress_is_plain_lines_not_a_bar(cli: CLI, emu: Emulator) -> None:
    write_jobs(cli, emu, 3)

    run = cli.run(*batch(cli))

    assert run.code == 0, run
    assert "batch: 3/3 finished (done 3, failed 0)" in run.err
    assert "━" not in run.err


def test_in_80_columns_progress_is_plain_lines() -> None:
    ui = UI(json_mode=False, verbose=0)
    ui.err = Console(file=io.StringIO(), force_terminal=True, width=80)

    with ui.batch_progress(10) as progress:
        assert isinstance(progress, BatchLines)


def test_rate_and_eta_count_only_the_items_run_now() -> None:
    lines = BatchLines(Console(file=io.StringIO()), total=100)

    lines(BatchProgress(total=100, queued=0, creating=0, waiting=2, downloading=0, done=98, failed=0, skipped=98))

    assert lines.rate() == 0
    assert lines.eta() == "-"  # no item of this run has finished: no rate to tell the time left from


def test_the_failed_items_table_shows_the_whole_task_id_once() -> None:
    task_id = "3b92c7a0-5f1e-4c2a-9d7b-1e2f3a4b5c6d"
    out = io.StringIO()

    Console(file=out, width=80).print(
        failures_table([("item-17", task_id, f"Generation {task_id} failed (failed): No face found.")])
    )

    assert out.getvalue().count(task_id) == 1
    assert "No face found." in out.getvalue()


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_batch_status_shows_counts_and_failed_items_without_running(cli: CLI, mixed: Emulator) -> None:
    created = mixed.created_count
    cli.env["COLUMNS"] = "200"  # so that no cell wraps

    run = cli.run(*batch(cli, "--status"))

    assert run.code == 10, run
    assert mixed.created_count == created
    assert "item-2" in run.out
    assert "item-3" in run.out
    assert "No face found." in run.out
    assert "lost" in run.out  # the uncertain one
    assert "item-0" not in run.out  # done: nothing to look at


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_report_in_text_mode_with_json(cli: CLI, mixed: Emulator) -> None:
    records = cli.run("--json", "report", "run.jsonl", "--batch", "jobs.jsonl").json()

    assert records[0]["counts"] == {
        "done": 2, "failed": 2, "uncertain": 0, "running": 0, "sent": 1, "not started": 0
    }  # fmt: skip
    *items, failure = records[1:]
    assert {record["key"] for record in items} == {"item-2", "item-3", "lost"}
    assert failure["error"]["exit_code"] == 10


class Rows(HTMLParser):
    """The report's item rows: their attributes, text, and image sources."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.images: list[list[str]] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and ("class", "item") in attrs:
            self.rows.append(dict(attrs))
            self.text.append("")
            self.images.append([])
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.sources.append(value)
                if tag == "img" and self.images:
                    self.images[-1].append(value)

    def handle_data(self, data: str) -> None:
        if self.text:
            self.text[-1] += data


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_the_html_report_holds_every_item_and_needs_no_network(cli: CLI, mixed: Emulator) -> None:
    run = cli.run("report", "run.jsonl", "--batch", "jobs.jsonl", "-o", "out/")

    assert run.code == 0, run
    page = Rows()
    page.feed((cli.cwd / "out" / "report.html").read_text())
    states = [row["data-state"] for row in page.rows]
    assert states == ["done", "done", "failed", "failed", "sent"]
    assert "banana <b>zero</b>" in page.text[0]  # the prompt, as text
    assert len(page.images[0]) == 2  # the local input and the result, as thumbnails
    assert all(source.startswith("data:image/") for source in page.sources)
    failed_task = next(task for task, t in mixed.tasks.items() if t.prompt == "banana 2")
    assert failed_task in page.text[2]
    assert "No face found." in page.text[2]


def chromium_dom(page: Path, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran, in headless Chromium."""
    done = subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", page.as_uri() + "#failed",
        ],
        capture_output=True, text=True, timeout=90, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("chromium") is None, reason="needs Debian's chromium")
@pytest.mark.nanobanana_emulator(finish_after=0)
def test_the_failed_filter_works_in_a_real_browser(cli: CLI, mixed: Emulator, tmp_path: Path) -> None:
    assert cli.run("report", "run.jsonl", "--batch", "jobs.jsonl", "-o", "report.html").code == 0

    page = Rows()
    page.feed(chromium_dom(cli.cwd / "report.html", tmp_path))

    shown = [row["data-state"] for row in page.rows if "hidden" not in row]
    assert shown == ["failed", "failed"]
    assert len(page.rows) == 5


def test_report_of_a_batch_file_instead_of_its_journal_says_so(cli: CLI, emu: Emulator) -> None:
    write_jobs(cli, emu, 2)

    run = cli.run("report", "jobs.jsonl")

    assert run.code == 2, run
    assert "not its journal" in run.error_line()


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_report_tells_a_running_batch_and_does_not_call_its_items_in_flight_lost(cli: CLI, mixed: Emulator) -> None:
    with (cli.cwd / "run.jsonl").open("rb") as journal:
        fcntl.flock(journal.fileno(), fcntl.LOCK_EX)  # the lock a running batch holds
        records = cli.run("--json", "report", "run.jsonl", "--batch", "jobs.jsonl").json()

    assert records[0]["running"] is True
    assert "lost" not in {record.get("key") for record in records}

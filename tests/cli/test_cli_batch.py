"""`nanobanana batch`: results, failures, and resuming after Ctrl-C or kill -9 without paying twice."""

from __future__ import annotations

import itertools
import json
import signal
from pathlib import Path

import pytest
from cli_support import CLI, Run, finish
from support import CLI_FAST_POLL, PNG_SIGNATURE, eventually_blocking, journal_events

from nanobanana.emulator import Emulator, sample_images


def write_batch(cli: CLI, emu: Emulator, count: int, *, local: bool = False) -> Path:
    """A JSONL batch of ``count`` items (the first one from a local file when ``local``)."""
    lines = []
    for index in range(count):
        item: dict[str, object] = {"id": f"item-{index}", "prompt": f"banana number {index}"}
        if local and index == 0:
            name, data = sample_images()[0]
            (cli.cwd / "inputs").mkdir()
            (cli.cwd / "inputs" / name).write_bytes(data)
            item["images"] = [f"inputs/{name}"]  # relative to the batch file
        else:
            item["image_urls"] = [emu.sample_urls[index % len(emu.sample_urls)]]
        lines.append(json.dumps(item))
    path = cli.cwd / "jobs.jsonl"
    path.write_text("\n".join(["# a comment", *lines, ""]))
    return path


BATCH = ("batch", "jobs.jsonl", "--out", "results", "--journal", "run.jsonl", "--concurrency", "3", *CLI_FAST_POLL)


def test_a_batch_saves_every_result_and_prints_a_json_line_per_item(cli: CLI, emu: Emulator) -> None:
    write_batch(cli, emu, 4, local=True)

    run = cli.run("--json", *BATCH)

    assert run.code == 0, run
    records = run.json()
    assert [record["id"] for record in records] == ["item-0", "item-1", "item-2", "item-3"]
    assert all(record["ok"] and not record["resumed"] for record in records)
    for record in records:
        assert (cli.cwd / record["path"]).read_bytes().startswith(PNG_SIGNATURE)
    assert sorted(p.name for p in (cli.cwd / "results").iterdir()) == [f"item-{i}.png" for i in range(4)]
    assert emu.created_count == emu.count("create") == 4
    assert emu.count("upload") == 1
    assert "journal run.jsonl" in run.err


def test_running_a_finished_batch_again_creates_nothing(cli: CLI, emu: Emulator) -> None:
    write_batch(cli, emu, 3)
    assert cli.run(*BATCH).code == 0

    again = cli.run(*BATCH, "--json")

    assert again.code == 0, again
    assert all(record["ok"] and record["resumed"] for record in again.json())
    assert emu.count("create") == 3


def test_the_journal_defaults_to_beside_the_batch_file(cli: CLI, emu: Emulator) -> None:
    write_batch(cli, emu, 1)

    run = cli.run("batch", "jobs.jsonl", *CLI_FAST_POLL)

    assert run.code == 0, run
    assert journal_events(cli.cwd / "jobs.jsonl.journal.jsonl", "done")
    assert (cli.cwd / "results" / "item-0.png").exists()
    assert "Batch summary" in run.out


@pytest.mark.nanobanana_emulator(finish_after=0, failure_rate=1.0, failure_message="Emulated [failure].")
def test_a_batch_with_failed_items_exits_10_and_lists_them(cli: CLI, emu: Emulator) -> None:
    write_batch(cli, emu, 2)

    as_json = cli.run("--json", *BATCH)
    text = cli.run(*BATCH)  # the failures are settled in the journal: listed again, not run again

    assert as_json.code == text.code == 10
    *items, failure = as_json.json()
    assert failure["error"]["exit_code"] == 10  # the run's failure record comes last
    for record in items:
        assert record["ok"] is False
        assert record["error_type"] == "GenerationFailedError"
        assert "Emulated [failure]." in record["error"]
        assert record["task_id"] in emu.tasks
    assert "Failed items" in text.out
    assert "item-0" in text.out
    assert "[failure]" in text.out  # the table may wrap the message, but never eats its brackets
    assert "Traceback" not in as_json.err + text.err
    assert emu.count("create") == 2


def test_a_bad_batch_file_exits_2_naming_the_line(cli: CLI, emu: Emulator) -> None:
    (cli.cwd / "jobs.jsonl").write_text('{"prompt": "ok"}\n{"prompt": "x", "colour": "red"}\n')

    run = cli.run(*BATCH)

    assert run.code == 2
    assert "jobs.jsonl:2" in run.error_line()
    assert emu.count("create") == 0


def start_and_stop_mid_batch(cli: CLI, emu: Emulator, stop: signal.Signals) -> Run:
    """Start a 6-item batch (3 at a time, tasks that take a minute), stop it once 3 tasks exist."""
    write_batch(cli, emu, 6)
    process = cli.popen(*BATCH)
    journal = cli.cwd / "run.jsonl"
    # Stop only once the 3 tasks in flight are created and journaled: no create is then in flight, and the
    # other 3 items were never sent.
    eventually_blocking(lambda: len(journal_events(journal, "created")) == 3, what="3 tasks to be created")
    eventually_blocking(lambda: emu.count("status") >= 3, what="the tasks to be polled")
    assert emu.created_count == 3

    process.send_signal(stop)
    stopped = finish(process, *BATCH)
    assert emu.created_count == 3

    # The 3 created tasks finish while nothing runs; the rest will finish at once.
    for task_id in emu.tasks:
        emu.finish(task_id)
    emu.configure(finish_after=0)
    return stopped


def assert_resumed_without_paying_twice(cli: CLI, emu: Emulator) -> None:
    resumed = cli.run(*BATCH, "--json")

    assert resumed.code == 0, resumed
    records = resumed.json()
    assert len(records) == 6
    assert all(record["ok"] for record in records)
    assert sorted(p.name for p in (cli.cwd / "results").iterdir()) == [f"item-{i}.png" for i in range(6)]
    assert emu.created_count == 6
    assert emu.count("create") == 6
    assert len({record["task_id"] for record in records}) == 6


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_ctrl_c_stops_a_batch_with_130_and_the_same_command_resumes_it(cli: CLI, emu: Emulator) -> None:
    stopped = start_and_stop_mid_batch(cli, emu, signal.SIGINT)

    assert stopped.code == 130, stopped
    assert "Traceback" not in stopped.err
    last = stopped.err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted.")
    assert "same command again" in last
    assert_resumed_without_paying_twice(cli, emu)


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_a_batch_killed_with_sigkill_resumes_without_paying_twice(cli: CLI, emu: Emulator) -> None:
    stopped = start_and_stop_mid_batch(cli, emu, signal.SIGKILL)

    assert stopped.code == -signal.SIGKILL
    assert_resumed_without_paying_twice(cli, emu)


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_a_second_run_on_a_journal_in_use_is_refused(cli: CLI, emu: Emulator) -> None:
    write_batch(cli, emu, 1)
    first = cli.popen(*BATCH)
    eventually_blocking(lambda: emu.created_count == 1, what="the first run to start")

    second = cli.run(*BATCH)

    assert second.code == 2
    assert "in use" in second.error_line()
    assert emu.count("create") == 1
    first.send_signal(signal.SIGINT)
    assert finish(first, *BATCH).code == 130


def test_rps_caps_the_request_rate(cli: CLI, emu: Emulator) -> None:
    write_batch(cli, emu, 2)

    run = cli.run(*BATCH, "--rps", "4")

    assert run.code == 0, run
    # The cap is the API host's: downloads from the file host are not paced under it.
    times = sorted(request.at for request in emu.requests if request.endpoint != "download")
    assert len(times) >= 4  # 2 creates, 2+ status calls
    # Started 1/4 s apart, so the n requests span (n - 1) quarters at least; one quarter is left for the
    # first request's own trip, which a busy machine may delay. (A lower bound: load cannot break it.)
    assert times[-1] - times[0] >= 0.25 * (len(times) - 2), [b - a for a, b in itertools.pairwise(times)]

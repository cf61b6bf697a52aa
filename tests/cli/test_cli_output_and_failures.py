"""`-o` folders and files, `wait -o`, and failures: one JSON record with --json, never a traceback."""

from __future__ import annotations

import json
import signal

import pytest
from cli_support import CLI, finish
from support import CLI_FAST_POLL, eventually_blocking

from nanobanana.emulator import Emulator

PNG = b"\x89PNG\r\n\x1a\n"


def finished_task(cli: CLI, emu: Emulator) -> str:
    run = cli.run("create", "a banana", "-i", emu.sample_urls[0])
    assert run.code == 0, run
    task_id = run.out.strip()
    emu.finish(task_id)
    return task_id


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_download_into_a_missing_folder_ending_in_a_slash_creates_it(cli: CLI, emu: Emulator) -> None:
    task_id = finished_task(cli, emu)

    run = cli.run("download", task_id, "-o", "dl/")

    assert run.code == 0, run
    (saved,) = (cli.cwd / "dl").iterdir()
    assert saved.read_bytes().startswith(PNG)


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_download_into_an_existing_folder_keeps_the_results_name(cli: CLI, emu: Emulator) -> None:
    task_id = finished_task(cli, emu)
    (cli.cwd / "existing").mkdir()

    run = cli.run("download", task_id, "-o", "existing")

    assert run.code == 0, run
    (saved,) = (cli.cwd / "existing").iterdir()
    assert saved.suffix == ".png"


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_any_other_output_is_a_file_and_its_folder_is_created(cli: CLI, emu: Emulator) -> None:
    task_id = finished_task(cli, emu)

    run = cli.run("download", task_id, "-o", "new/out.png")

    assert run.code == 0, run
    assert (cli.cwd / "new" / "out.png").read_bytes().startswith(PNG)


@pytest.mark.nanobanana_emulator(finish_after=0)
def test_wait_with_output_downloads_the_result_when_done(cli: CLI, emu: Emulator) -> None:
    task_id = finished_task(cli, emu)

    run = cli.run("--json", "wait", task_id, "-o", "result.png", *CLI_FAST_POLL)

    assert run.code == 0, run
    assert run.one_json()["path"] == "result.png"
    assert (cli.cwd / "result.png").read_bytes().startswith(PNG)


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_ctrl_c_in_generate_points_at_wait_with_the_same_output(cli: CLI, emu: Emulator) -> None:
    process = cli.popen("generate", "a banana", "-i", emu.sample_urls[0], "-o", "out/", *CLI_FAST_POLL)
    eventually_blocking(lambda: emu.count("status") >= 1, what="the task to be created and polled")

    process.send_signal(signal.SIGINT)
    run = finish(process, "generate")

    (task_id,) = emu.tasks
    assert run.code == 130, run
    assert f"`nanobanana wait {task_id} -o out/`" in run.err.strip().splitlines()[-1]


@pytest.mark.nanobanana_emulator(finish_after=0, failure_rate=1.0, failure_message="No face found.")
def test_a_failure_with_json_prints_its_record_as_the_last_line_of_stdout(cli: CLI, emu: Emulator) -> None:
    run = cli.run("--json", "generate", "a banana", "-i", emu.sample_urls[0], *CLI_FAST_POLL)

    (task_id,) = emu.tasks
    record = run.json()[-1]["error"]
    assert record["type"] == "GenerationFailedError"
    assert record["task_id"] == task_id
    assert record["exit_code"] == run.code == 6
    assert record["message"].endswith("No face found.")
    assert run.error_line().endswith("No face found.")  # the human message stays on stderr


def test_a_usage_error_with_json_prints_its_record(cli: CLI) -> None:
    run = cli.run("--json", "generate", "--resolution", "3K", "x")

    assert run.code == 2
    assert run.one_json()["error"] == {
        "type": "UsageError",
        "message": run.err.strip().splitlines()[-1].split("error: ", 1)[1],
        "task_id": None,
        "exit_code": 2,
    }


def test_a_batch_file_that_is_not_utf8_exits_2_without_a_traceback(cli: CLI, emu: Emulator) -> None:
    (cli.cwd / "jobs.jsonl").write_bytes(b'\xff\xfe{"prompt": "x"}\n')

    run = cli.run("batch", "jobs.jsonl")

    assert run.code == 2, run
    assert "not UTF-8" in run.error_line()


def test_an_output_folder_blocked_by_a_file_exits_2_without_a_traceback(cli: CLI, emu: Emulator) -> None:
    (cli.cwd / "taken").write_text("a file")

    run = cli.run("generate", "x", "-i", emu.sample_urls[0], "-o", "taken/sub/")

    assert run.code == 2, run
    assert "taken" in run.error_line()
    assert emu.created_count == 0


def test_a_journal_that_is_a_folder_exits_2_without_a_traceback(cli: CLI, emu: Emulator) -> None:
    (cli.cwd / "jobs.jsonl").write_text(json.dumps({"prompt": "x", "image_urls": emu.sample_urls[:1]}) + "\n")
    (cli.cwd / "folder").mkdir()

    run = cli.run("batch", "jobs.jsonl", "--journal", "folder")

    assert run.code == 2, run
    assert "'folder'" in run.error_line()
    assert emu.created_count == 0

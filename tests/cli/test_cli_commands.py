"""Each command of `nanobanana`, run for real against the emulator: text and --json output, files written."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import CLI, finish
from support import CLI_FAST_POLL, PNG_SIGNATURE, eventually_blocking, write_samples

from nanobanana.emulator import Emulator


def test_generate_from_a_url_saves_the_result_and_prints_json(cli: CLI, emu: Emulator) -> None:
    run = cli.run("--json", "generate", "make it night", "-i", emu.sample_urls[0], "-o", "out.png", *CLI_FAST_POLL)

    assert run.code == 0, run
    record = run.one_json()
    (task,) = emu.tasks.values()
    assert record["task_id"] == task.task_id
    assert record["url"].startswith(emu.file_url)
    assert (cli.cwd / record["path"]) == cli.cwd / "out.png"
    assert (cli.cwd / "out.png").read_bytes().startswith(PNG_SIGNATURE)
    assert task.request["prompt"] == "make it night"
    assert task.request["image_urls"] == [emu.sample_urls[0]]
    assert f"Created task {task.task_id}" in run.err


def test_generate_uploads_local_files_in_order_into_a_folder(cli: CLI, emu: Emulator) -> None:
    _, outfit = write_samples(cli.cwd)
    (cli.cwd / "results").mkdir()

    run = cli.run(
        "generate", "change the clothes from image 1 to image 2", "-i", "person.png", "-i", str(outfit),
        "-o", "results", "--resolution", "2K", "--format", "png", *CLI_FAST_POLL,
    )  # fmt: skip

    assert run.code == 0, run
    assert emu.count("upload") == 2
    (task,) = emu.tasks.values()
    first, second = task.request["image_urls"]
    assert first.startswith(emu.file_url)
    assert first.endswith("_person.png")
    assert second.startswith(emu.file_url)
    assert second.endswith("_outfit.png")
    assert task.request["resolution"] == "2K"
    (saved,) = (cli.cwd / "results").iterdir()
    assert saved.read_bytes().startswith(PNG_SIGNATURE)
    assert run.out == f"Saved {Path('results') / saved.name} (task {task.task_id})\n"


def test_generate_without_output_saves_in_the_current_folder(cli: CLI, emu: Emulator) -> None:
    run = cli.run("generate", "a banana", "-i", emu.sample_urls[2], *CLI_FAST_POLL)

    assert run.code == 0, run
    (task,) = emu.tasks.values()
    assert (cli.cwd / task.result_path.rsplit("/", 1)[1]).read_bytes().startswith(PNG_SIGNATURE)


def test_upload_prints_the_hosted_url(cli: CLI, emu: Emulator) -> None:
    write_samples(cli.cwd)

    text = cli.run("upload", "person.png")
    as_json = cli.run("upload", "outfit.png", "--json")

    assert text.code == as_json.code == 0
    (url,) = text.out.splitlines()
    assert url.startswith(emu.file_url)
    assert url.endswith("_person.png")
    assert as_json.one_json()["url"].endswith("_outfit.png")
    assert emu.count("upload") == 2


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_create_status_wait_download_one_step_at_a_time(cli: CLI, emu: Emulator) -> None:
    create = cli.run("create", "make it night", "-i", emu.sample_urls[0], "--steps", "30")
    assert create.code == 0, create
    task_id = create.out.strip()
    assert create.out == f"{task_id}\n"  # only the id on stdout, so `TASK=$(nanobanana create ...)` works
    assert f"nanobanana wait {task_id}" in create.err
    assert emu.tasks[task_id].request["steps"] == 30

    running = cli.run("status", task_id)
    assert running.code == 0, running
    assert running.out == f"{task_id}: waiting\n"

    emu.finish(task_id)
    done = cli.run("--json", "status", task_id)
    assert done.code == 0, done
    status = done.one_json()
    assert status["task_id"] == task_id
    assert status["state"] == status["status"] == "succeed"
    assert status["done"] is True
    assert status["url"].startswith(emu.file_url)

    wait = cli.run("wait", task_id, *CLI_FAST_POLL)
    assert wait.code == 0, wait
    assert wait.out == f"{status['url']}\n"

    by_id = cli.run("download", task_id, "-o", "night.png")
    assert by_id.code == 0, by_id
    assert by_id.out == "Saved night.png\n"
    assert (cli.cwd / "night.png").read_bytes().startswith(PNG_SIGNATURE)

    (cli.cwd / "by-url").mkdir()
    by_url = cli.run("download", status["url"], "-o", "by-url", "--json")
    assert by_url.code == 0, by_url
    record = by_url.one_json()
    assert record["task_id"] is None
    assert record["url"] == status["url"]
    assert Path(record["path"]).parent == Path("by-url")
    assert (cli.cwd / record["path"]).read_bytes() == (cli.cwd / "night.png").read_bytes()


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_wait_json_prints_the_final_status(cli: CLI, emu: Emulator) -> None:
    task_id = cli.run("create", "a banana", "-i", emu.sample_urls[2]).out.strip()
    process = cli.popen("wait", task_id, "--json", *CLI_FAST_POLL)
    eventually_blocking(lambda: emu.count("status") >= 1, what="the first status call")
    emu.finish(task_id)

    run = finish(process, "wait")

    assert run.code == 0, run
    assert run.one_json()["status"] == "succeed"


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_download_of_an_unfinished_task_says_to_wait(cli: CLI, emu: Emulator) -> None:
    task_id = cli.run("create", "a banana", "-i", emu.sample_urls[2]).out.strip()

    run = cli.run("download", task_id, "-o", "x.png")

    assert run.code == 1
    assert f"nanobanana wait {task_id}" in run.error_line()
    assert not (cli.cwd / "x.png").exists()


@pytest.mark.nanobanana_emulator(finish_after=0, failure_rate=1.0, failure_message="no [bold]faces[/] :smile: here")
def test_download_of_a_failed_task_exits_6_with_the_reason(cli: CLI, emu: Emulator) -> None:
    task_id = cli.run("create", "a banana", "-i", emu.sample_urls[2]).out.strip()

    run = cli.run("download", task_id, "-o", "x.png")

    assert run.code == 6
    # Server text is shown as it is: no rich markup, no emoji codes.
    assert run.error_line().endswith("no [bold]faces[/] :smile: here")


def test_global_options_go_before_or_after_the_command(cli: CLI, emu: Emulator) -> None:
    before = cli.run("--json", "whoami")
    after = cli.run("whoami", "--json")
    both = cli.run("--base-url", "http://127.0.0.1:9", "whoami", "--base-url", emu.url, "--json")

    assert before.code == after.code == both.code == 0
    assert before.one_json()["email"] == after.one_json()["email"] == both.one_json()["email"] == "me@example.com"
    assert "T" in before.one_json()["expires"]  # ISO 8601


def test_version_and_help(cli: CLI) -> None:
    version = cli.run("--version")
    help_ = cli.run("--help")

    assert version.code == help_.code == 0
    assert version.out.startswith("nanobanana ")
    assert "exit codes:" in help_.out
    assert "emulator" in help_.out


def test_the_installed_console_script_runs(cli: CLI) -> None:
    script = Path(sys.executable).parent / "nanobanana"
    if not script.exists():
        pytest.skip("the console script is not installed beside this Python")

    done = subprocess.run([str(script), "--help"], env=cli.env, capture_output=True, text=True, timeout=30)

    assert done.returncode == 0, done.stderr
    assert "exit codes:" in done.stdout


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_ctrl_c_in_generate_exits_130_and_names_the_task_to_resume(cli: CLI, emu: Emulator) -> None:
    process = cli.popen("generate", "a banana", "-i", emu.sample_urls[2], *CLI_FAST_POLL)
    eventually_blocking(lambda: emu.count("status") >= 1, what="the task to be created and polled")

    process.send_signal(signal.SIGINT)
    run = finish(process, "generate")

    assert run.code == 130, run
    (task_id,) = emu.tasks
    assert "Traceback" not in run.err
    last = run.err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted.")
    assert f"nanobanana wait {task_id}" in last
    # The task is resumable as promised.
    emu.finish(task_id)
    assert cli.run("wait", task_id, *CLI_FAST_POLL).code == 0


def without_rich(cli: CLI, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command as if the `cli` extra (rich) were not installed."""
    code = (
        "import runpy, sys; sys.modules['rich'] = None; "
        f"sys.argv = ['nanobanana', *{list(args)!r}]; runpy.run_module('nanobanana', run_name='__main__')"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=cli.cwd, env=cli.env, capture_output=True, text=True)


def test_help_and_the_emulator_need_no_rich_and_the_rest_says_what_to_install(cli: CLI) -> None:
    help_ = without_rich(cli, "--help")
    emulator_help = without_rich(cli, "emulator", "--help")
    whoami = without_rich(cli, "whoami")

    assert help_.returncode == emulator_help.returncode == 0, help_.stderr + emulator_help.stderr
    assert "exit codes:" in help_.stdout
    assert "--finish-after" in emulator_help.stdout
    assert whoami.returncode != 0
    assert "pip install 'nanobanana[cli]'" in whoami.stderr
    assert "Traceback" not in whoami.stderr

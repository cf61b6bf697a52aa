"""Each kind of failure has its own exit code and prints one clear line on stderr, never a traceback."""

from __future__ import annotations

import socket

import pytest
from cli_support import CLI
from support import CLI_FAST_POLL

from nanobanana.emulator import Emulator, Fault


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_usage_errors_exit_2(cli: CLI, emu: Emulator) -> None:
    unknown_option = cli.run("generate", "x", "--no-such-option")
    bad_choice = cli.run("generate", "x", "--resolution", "3K")
    no_command = cli.run()

    for run in (unknown_option, bad_choice, no_command):
        assert run.code == 2, run
        assert run.out == ""
        assert run.err.strip().splitlines()[-1].startswith("nanobanana")
        assert "error:" in run.err.strip().splitlines()[-1]
        assert "Traceback" not in run.err


def test_bad_input_exits_2_before_sending_anything(cli: CLI, emu: Emulator) -> None:
    missing_file = cli.run("generate", "x", "-i", "missing.png")
    blank_prompt = cli.run("create", " ", "-i", emu.sample_urls[0])

    assert missing_file.code == blank_prompt.code == 2
    assert "missing.png" in missing_file.error_line()
    assert "prompt" in blank_prompt.error_line()
    assert emu.count("create") == emu.count("upload") == 0


@pytest.mark.nanobanana_emulator(finish_after=0, require_auth=True)
def test_not_signed_in_exits_3(cli: CLI, emu: Emulator) -> None:
    cli.use(emu, email=None)

    run = cli.run("create", "a banana", "-i", emu.sample_urls[0])

    assert run.code == 3
    assert "nanobanana login" in run.error_line()
    assert emu.created_count == 0


@pytest.mark.nanobanana_emulator(finish_after=0, credits=0)
def test_out_of_credits_exits_4(cli: CLI, emu: Emulator) -> None:
    run = cli.run("generate", "a banana", "-i", emu.sample_urls[0])

    assert run.code == 4
    assert "credits" in run.error_line()
    assert emu.created_count == 0


def test_rate_limited_exits_5_once_retries_are_spent(cli: CLI, emu: Emulator) -> None:
    emu.faults.script("create", Fault.status(429, retry_after=0.01), times=10)

    run = cli.run("--max-retries", "1", "create", "a banana", "-i", emu.sample_urls[0])

    assert run.code == 5
    assert "429" in run.error_line()
    assert emu.count("create") == 2  # the first try and one retry
    assert emu.created_count == 0


def test_rate_limits_are_retried_three_times_by_default(cli: CLI, emu: Emulator) -> None:
    emu.faults.script("create", Fault.status(429, retry_after=0.01), times=3)

    run = cli.run("create", "a banana", "-i", emu.sample_urls[0])

    assert run.code == 0, run
    assert emu.count("create") == 4
    assert emu.created_count == 1


@pytest.mark.nanobanana_emulator(finish_after=0, failure_rate=1.0, failure_message="No face found.")
def test_a_failed_generation_exits_6_with_the_reason(cli: CLI, emu: Emulator) -> None:
    run = cli.run("generate", "a banana", "-i", emu.sample_urls[0], *CLI_FAST_POLL)

    assert run.code == 6
    (task_id,) = emu.tasks
    line = run.error_line()
    assert task_id in line
    assert line.endswith("No face found.")  # and no "keeps running" hint: a failed task is over
    assert run.out == ""


@pytest.mark.nanobanana_emulator(finish_after=60)
def test_a_timeout_exits_7_and_says_how_to_resume(cli: CLI, emu: Emulator) -> None:
    generate = cli.run("generate", "a banana", "-i", emu.sample_urls[0], "--timeout", "0.3", *CLI_FAST_POLL)
    (task_id,) = emu.tasks
    wait = cli.run("wait", task_id, "--timeout", "0.3", *CLI_FAST_POLL)

    assert generate.code == wait.code == 7
    assert f"nanobanana wait {task_id}" in generate.error_line()
    assert f"nanobanana wait {task_id}" in wait.error_line()
    assert emu.created_count == 1


def test_no_connection_exits_8(cli: CLI) -> None:
    run = cli.run("--base-url", f"http://127.0.0.1:{closed_port()}", "--max-retries", "0", "status", "abc")

    assert run.code == 8
    assert "could not connect" in run.error_line()


def test_a_server_error_exits_8(cli: CLI, emu: Emulator) -> None:
    emu.faults.script("status", Fault.status(502), times=10)

    run = cli.run("status", "abc", "--max-retries", "1")

    assert run.code == 8
    assert "502" in run.error_line()
    assert emu.count("status") == 2


def test_a_failed_download_exits_9(cli: CLI, emu: Emulator) -> None:
    run = cli.run("download", f"{emu.file_url}/nano-banana/gone.png", "-o", "gone.png")

    assert run.code == 9
    assert "404" in run.error_line()
    assert not (cli.cwd / "gone.png").exists()


def test_a_failed_download_after_generate_names_the_task(cli: CLI, emu: Emulator) -> None:
    emu.faults.script("download", Fault.status(500), times=10)

    run = cli.run("generate", "a banana", "-i", emu.sample_urls[0], "--max-retries", "0", *CLI_FAST_POLL)

    assert run.code == 9
    (task_id,) = emu.tasks
    assert f"nanobanana download {task_id}" in run.error_line()


def test_an_unknown_task_exits_1(cli: CLI, emu: Emulator) -> None:
    run = cli.run("status", "no-such-task")

    assert run.code == 1
    assert "404" in run.error_line()

"""`nanobanana demo` and `nanobanana emulator`: everything offline, no account."""

from __future__ import annotations

import re
import signal

from cli_support import CLI, finish
from support import CLI_FAST_POLL, PNG_SIGNATURE


def test_demo_runs_a_whole_generation_offline(cli: CLI) -> None:
    run = cli.run("demo", "--finish-after", "0", "-o", "demo.png")

    assert run.code == 0, run
    assert (cli.cwd / "demo.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "Done." in run.out
    assert "demo.png" in run.out
    assert "Starting the built-in emulator" in run.err
    assert not cli.session_file.exists()  # the demo's session is thrown away


def test_demo_json(cli: CLI) -> None:
    run = cli.run("demo", "--finish-after", "0", "-o", "demo.png", "--json")

    assert run.code == 0, run
    record = run.one_json()
    assert record["path"] == "demo.png"
    assert set(record) == {"task_id", "url", "path"}


def test_emulator_help_is_the_emulators_own(cli: CLI) -> None:
    for args in (("emulator", "--help"), ("-v", "emulator", "-h")):
        run = cli.run(*args)

        assert run.code == 0, run
        assert "--finish-after" in run.out
        assert "--failure-rate" in run.out


def test_help_before_emulator_is_the_main_help(cli: CLI) -> None:
    run = cli.run("--help", "emulator")

    assert run.code == 0, run
    assert "exit codes:" in run.out


def test_emulator_bad_option_exits_2(cli: CLI) -> None:
    run = cli.run("emulator", "--failure-rate", "2")

    assert run.code == 2
    assert "failure_rate" in run.err
    assert "Traceback" not in run.err


def test_the_standalone_emulator_serves_other_processes_until_stopped(cli: CLI) -> None:
    server = cli.popen("emulator", "--port", "0", "--finish-after", "0", "--email", "dev@example.com", "-q")
    assert server.stdout is not None
    try:
        banner = server.stdout.readline()
        token_line = server.stdout.readline()
        match = re.search(r"API at (http://\S+), files at (http://\S+)", banner)
        assert match, banner
        url, files = match.groups()
        token = token_line.rsplit(" ", 1)[-1].strip()
        sign_in = ("--base-url", url, f"--session-token={token}")  # a token may start with "-"

        whoami = cli.run(*sign_in, "whoami")
        generate = cli.run(*sign_in, "generate", "a banana", "-i", f"{files}/samples/banana.png", "-o", "out.png",
                           *CLI_FAST_POLL)  # fmt: skip

        assert whoami.code == 0, whoami
        assert whoami.out == "Signed in as dev@example.com.\n"
        assert generate.code == 0, generate
        assert (cli.cwd / "out.png").read_bytes().startswith(PNG_SIGNATURE)
    finally:
        server.send_signal(signal.SIGINT)
        stopped = finish(server, "emulator")
    assert stopped.code == 0, stopped
    assert "Traceback" not in stopped.err

"""`nanobanana login / whoami / logout`, driven through the prompts like a person would, and the token's secrecy."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest
from cli_support import CLI, EMAIL, Run, finish
from support import CLI_FAST_POLL, eventually_blocking

from nanobanana.emulator import Emulator


def login_through_the_prompts(cli: CLI, emu: Emulator, *options: str, code: str | None = None) -> Run:
    """Run `login`, type the e-mail, wait for the code to be "e-mailed", type it (or ``code``)."""
    process = cli.popen(*options, "login", stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(f"{EMAIL}\n")
    process.stdin.flush()
    # The code exists only once the command has asked the site to send it.
    eventually_blocking(lambda: EMAIL in emu.login_codes, what="the sign-in code to be sent")
    process.stdin.write(f"{code or emu.login_codes[EMAIL]}\n")
    process.stdin.flush()
    return finish(process, *options, "login")


def saved_token(cli: CLI) -> str:
    token = json.loads(cli.session_file.read_text())["session_token"]
    assert isinstance(token, str)
    return token


def test_login_asks_for_the_email_then_the_code_and_saves_the_session(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)

    run = login_through_the_prompts(cli, nanobanana_emulator)

    assert run.code == 0, run
    assert "E-mail: " in run.err
    assert f"A 6-digit code was sent to {EMAIL}." in run.err
    assert "Code: " in run.err
    assert run.out == f"Signed in as {EMAIL}.\n"
    saved = json.loads(cli.session_file.read_text())
    assert saved["base_url"] == nanobanana_emulator.url
    assert saved["email"] == EMAIL
    assert EMAIL not in nanobanana_emulator.login_codes  # the code was used up


def test_the_saved_session_is_readable_by_its_owner_only(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)

    assert login_through_the_prompts(cli, nanobanana_emulator).code == 0

    assert stat.S_IMODE(cli.session_file.stat().st_mode) == 0o600
    umask = os.umask(0o022)
    os.umask(umask)
    # The folder made for it is an ordinary folder of the user's: it follows the umask.
    assert stat.S_IMODE(cli.session_file.parent.stat().st_mode) == 0o777 & ~umask


def test_login_with_email_option_and_json(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)
    process = cli.popen("login", "--email", EMAIL, "--json", stdin=subprocess.PIPE)
    assert process.stdin is not None
    eventually_blocking(lambda: EMAIL in nanobanana_emulator.login_codes, what="the sign-in code to be sent")
    process.stdin.write(nanobanana_emulator.login_codes[EMAIL] + "\n")
    process.stdin.flush()

    run = finish(process, "login")

    assert run.code == 0, run
    assert "E-mail:" not in run.err
    assert run.one_json() == {"email": EMAIL, "session_file": str(cli.session_file)}


def test_later_commands_use_the_saved_session_until_logout(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)
    assert login_through_the_prompts(cli, nanobanana_emulator).code == 0
    token = saved_token(cli)

    whoami = cli.run("whoami", "--json")
    assert whoami.code == 0, whoami
    assert whoami.one_json()["email"] == EMAIL
    assert cli.run("create", "a banana", "-i", nanobanana_emulator.sample_urls[0]).code == 0

    logout = cli.run("logout")
    assert logout.code == 0, logout
    assert logout.out == "Signed out.\n"
    assert not cli.session_file.exists()
    assert nanobanana_emulator.count("signout") == 1
    # Signed out here and on the server: the old token no longer works.
    assert cli.run("whoami").code == 3
    assert cli.run("--session-token", token, "whoami").code == 3


def test_whoami_signed_out_exits_3_with_one_line(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)

    run = cli.run("whoami")

    assert run.code == 3
    assert run.out == ""
    assert "nanobanana login" in run.error_line()
    (record,) = cli.run("--json", "whoami").json()
    assert record["signed_in"] is False
    assert record["error"]["exit_code"] == 3


def wrong_code(emu: Emulator) -> str:
    return f"{(int(emu.login_codes[EMAIL]) + 1) % 1_000_000:06d}"


def test_a_wrong_code_exits_3_and_saves_nothing(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)
    process = cli.popen("login", "--email", EMAIL, stdin=subprocess.PIPE)
    assert process.stdin is not None
    eventually_blocking(lambda: EMAIL in nanobanana_emulator.login_codes, what="the sign-in code to be sent")
    process.stdin.write(wrong_code(nanobanana_emulator) + "\n")
    process.stdin.flush()  # and nothing more: the second try finds no input

    run = finish(process, "login")

    assert run.code == 3, run
    assert "not accepted" in run.err.splitlines()[-1]
    assert "Traceback" not in run.err
    assert not cli.session_file.exists()


def test_a_wrong_code_is_asked_again_and_the_right_one_signs_in(cli: CLI, nanobanana_emulator: Emulator) -> None:
    emu = nanobanana_emulator
    cli.use(emu, email=None)
    process = cli.popen("login", "--email", EMAIL, stdin=subprocess.PIPE)
    assert process.stdin is not None
    eventually_blocking(lambda: EMAIL in emu.login_codes, what="the sign-in code to be sent")
    process.stdin.write(f"{wrong_code(emu)}\n{emu.login_codes[EMAIL]}\n")
    process.stdin.flush()

    run = finish(process, "login")

    assert run.code == 0, run
    assert run.err.count("Code: ") == 2
    assert "try again (2 tries left)" in run.err
    assert saved_token(cli)


def test_three_wrong_codes_exit_3_naming_the_command_that_sends_a_new_one(
    cli: CLI, nanobanana_emulator: Emulator
) -> None:
    emu = nanobanana_emulator
    cli.use(emu, email=None)
    process = cli.popen("login", "--email", EMAIL, "--json", stdin=subprocess.PIPE)
    assert process.stdin is not None
    eventually_blocking(lambda: EMAIL in emu.login_codes, what="the sign-in code to be sent")
    process.stdin.write(f"{wrong_code(emu)}\n" * 4)
    process.stdin.flush()

    run = finish(process, "login")

    assert run.code == 3, run
    assert run.err.count("Code: ") == 3
    assert f"`nanobanana login --email {EMAIL}`" in run.error_line()
    assert "send_login_code" not in run.err
    assert run.json()[-1]["error"]["exit_code"] == 3
    assert emu.count("callback") == 3
    assert not cli.session_file.exists()


def test_login_with_email_and_code_options_reads_no_input(cli: CLI, nanobanana_emulator: Emulator) -> None:
    emu = nanobanana_emulator
    cli.use(emu, email=None)
    assert cli.run("login", "--email", EMAIL, input="").code == 2  # sends the code, then finds no input
    code = emu.login_codes[EMAIL]

    run = cli.run("login", "--email", EMAIL, "--code", code)

    assert run.code == 0, run
    assert "Code: " not in run.err
    assert emu.count("email-verification") == 1  # --code sends no new code
    assert saved_token(cli)


def test_login_refuses_a_session_file_that_is_a_folder_before_sending_a_code(
    cli: CLI, nanobanana_emulator: Emulator
) -> None:
    cli.use(nanobanana_emulator, email=None)
    (cli.cwd / "folder").mkdir()

    run = cli.run("login", "--session-file", "folder", "--email", EMAIL)

    assert run.code == 2, run
    assert "is a folder" in run.error_line()
    assert nanobanana_emulator.count("email-verification") == 0


def test_login_without_input_exits_2(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)

    run = cli.run("login")  # stdin is /dev/null

    assert run.code == 2
    assert run.err.startswith("E-mail: ")
    assert "no input" in run.err
    assert "Traceback" not in run.err


def test_a_malformed_code_exits_2_before_sending_it(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)

    run = cli.run("login", "--email", EMAIL, input="12345\n")

    assert run.code == 2, run
    assert "6 digits" in run.err.splitlines()[-1]
    assert nanobanana_emulator.count("callback") == 0


@pytest.mark.nanobanana_emulator(finish_after=0, failure_rate=1.0)
def test_the_token_never_appears_in_the_output_even_verbose(cli: CLI, nanobanana_emulator: Emulator) -> None:
    emu = nanobanana_emulator
    token = cli.use(emu)
    assert token is not None
    runs = [
        cli.run("-vv", "whoami"),
        cli.run("-vv", "generate", "a banana", "-i", emu.sample_urls[0], *CLI_FAST_POLL),  # fails: exit 6
        cli.run("-vv", "--json", "create", "a banana", "-i", emu.sample_urls[0]),
        cli.run("-vv", "status", "no-such-task"),
    ]
    # Given on the command line rather than in the environment, and refused by the server.
    cli.env.pop("NANOBANANA_SESSION_TOKEN")
    runs.append(cli.run("-vv", "--session-token", token, "upload", "missing.png"))
    runs.append(cli.run("-vv", "--session-token", "bogus-session-token-1234567890", "create", "x"))
    assert [run.code for run in runs] == [0, 6, 0, 1, 2, 3]
    assert any("INFO" in run.err for run in runs)  # -vv did log
    for run in runs:
        assert token not in run.out + run.err, run
        assert "bogus-session-token-1234567890" not in run.out + run.err, run


def test_the_token_from_login_never_appears_in_the_output(cli: CLI, nanobanana_emulator: Emulator) -> None:
    cli.use(nanobanana_emulator, email=None)

    login = login_through_the_prompts(cli, nanobanana_emulator, "-vv")
    whoami = cli.run("-vv", "whoami")

    assert login.code == whoami.code == 0
    token = saved_token(cli)
    assert token not in login.out + login.err + whoami.out + whoami.err

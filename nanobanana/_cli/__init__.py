"""The ``nanobanana`` command line: a thin shell over the client.

Results go to stdout (``--json`` for machine-readable lines), progress, logs and errors to stderr. Expected
failures print one line and exit with a code per kind (see ``nanobanana --help``); no tracebacks. With
``--json``, a failure also prints one JSON object as the last line of stdout:
``{"error": {"type": ..., "message": ..., "task_id": ..., "exit_code": ...}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from .._client import NanoBanana
from .._config import PollPolicy
from .._exceptions import DownloadError, GenerationFailedError, NanoBananaError, WaitTimeoutError
from . import _exit
from ._parser import UsageError, build_parser, command_index


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(arguments)
    except UsageError as exc:
        print(f"{exc.prog}: error: {exc.message}", file=sys.stderr)
        if "--json" in arguments:
            _exit.failure_json("UsageError", exc.message, _exit.USAGE)
        return _exit.USAGE


def _main(arguments: list[str]) -> int:
    index = command_index(arguments)
    if index is not None and arguments[index] == "emulator":
        # Everything after `emulator` is the emulator's own (argparse's REMAINDER cannot pass `--port` through);
        # what comes before it is still checked, and `nanobanana --help emulator` still shows the main help.
        build_parser().parse_args(arguments[: index + 1])
        from ..emulator.__main__ import main as emulator_main

        code: int = emulator_main(arguments[index + 1 :], prog="nanobanana emulator")
        return code
    args = build_parser().parse_args(arguments)

    # Imported only now, so that `--help` and `emulator` work without the `cli` extra (rich).
    from ._commands import COMMANDS, OFFLINE_COMMANDS, PRECHECKS
    from ._ui import UI

    ui = UI(json_mode=args.json, verbose=args.verbose)

    async def run() -> int:
        if args.command in OFFLINE_COMMANDS:
            return await OFFLINE_COMMANDS[args.command](args, ui)
        if args.command in PRECHECKS:
            PRECHECKS[args.command](args)
        async with NanoBanana(**_client_options(args)) as client:
            return await COMMANDS[args.command](client, args, ui)

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return ui.fail("Interrupted", "interrupted." + _interrupted_hint(args, ui.task_id), _exit.INTERRUPTED)
    except NanoBananaError as exc:
        return ui.fail(type(exc).__name__, str(exc) + _error_hint(exc, args), _exit.exit_code(exc), exc.task_id)
    except EOFError:
        return ui.fail("UsageError", "no input: run it in a terminal, or pass the values as options", _exit.USAGE)
    except OSError as exc:
        # A file or folder the command was pointed at cannot be used (a folder where a file belongs, no
        # permission, a full disk): a person's problem to fix, not a bug to trace.
        where = f" {exc.filename!r}" if exc.filename else ""
        code = _exit.USAGE if isinstance(exc, _BAD_PATH) else _exit.ERROR
        return ui.fail(type(exc).__name__, f"cannot use{where}: {exc.strerror or exc}", code)


# A path given on the command line that names the wrong kind of thing, or nothing, is bad input (exit 2).
_BAD_PATH = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError)


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's settings from the command line; what is not given keeps the client's default."""
    options: dict[str, Any] = {
        "session_token": args.session_token,
        "base_url": args.base_url,
        "session_file": args.session_file,
        # One task per process: what earlier runs learned of run times is what makes this one's wait short.
        "remember_timings": True,
    }
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    poll_interval = getattr(args, "poll_interval", None)
    if poll_interval is not None:
        options["poll"] = PollPolicy(initial=poll_interval, maximum=poll_interval)
    requests_per_second = getattr(args, "requests_per_second", None)
    if requests_per_second is not None:
        options["requests_per_second"] = requests_per_second
    return options


def _resume_command(args: argparse.Namespace, task_id: str) -> str:
    """The command that picks a task up again and, for a command that saves its result, saves it."""
    output = getattr(args, "output", None)
    if args.command == "generate":
        return f"nanobanana wait {task_id} -o {output or '.'}"
    if args.command == "wait" and output:
        return f"nanobanana wait {task_id} -o {output}"
    return f"nanobanana wait {task_id}"


def _interrupted_hint(args: argparse.Namespace, task_id: str | None) -> str:
    if args.command == "batch":
        return " Run the same command again (same --journal) to resume where it stopped."
    if task_id:
        return f" Task {task_id} keeps running on the server: `{_resume_command(args, task_id)}` resumes it."
    return ""


def _error_hint(exc: NanoBananaError, args: argparse.Namespace) -> str:
    task_id = exc.task_id
    # A failed task is over, and a timeout's own message already says how to resume.
    if not task_id or isinstance(exc, (GenerationFailedError, WaitTimeoutError)):
        return ""
    if isinstance(exc, DownloadError):
        return f" The task succeeded: `nanobanana download {task_id} -o PATH` fetches the result again."
    return f" Task {task_id} may still be running: `{_resume_command(args, task_id)}` follows it."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

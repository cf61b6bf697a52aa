"""The command line's arguments."""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence
from typing import NoReturn, TypeAlias

from .._config import DEFAULT_MAX_RETRIES, ENV_BASE_URL, ENV_SESSION_FILE, ENV_SESSION_TOKEN
from .._version import __version__
from ..types import OutputFormat, Resolution
from ._exit import EXIT_CODES_HELP

_Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"
_OUTPUT_HELP = "a folder if it ends in / or exists (created if missing, the result keeps its name), else a file"
_FORMATS: tuple[str, ...] = typing.get_args(OutputFormat)
_RESOLUTIONS: tuple[str, ...] = typing.get_args(Resolution)


class UsageError(Exception):
    """The command line was used wrongly; `main` prints it (and its JSON record with ``--json``) and exits 2."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse's parser, raising `UsageError` instead of exiting, so a usage error can be reported as JSON."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(self.prog, message)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _add_global_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, default: object) -> None:
    """The options every command takes, before the command or (``default=SUPPRESS``) after it."""
    parser.add_argument(
        "--session-token",
        default=default,
        help=f"the site's session cookie (default: ${ENV_SESSION_TOKEN}, else the saved session)",
    )
    parser.add_argument(
        "--base-url",
        default=default,
        help=f"the API host (default: ${ENV_BASE_URL}, else https://nanabanana.ai)",
    )
    parser.add_argument(
        "--session-file",
        default=default,
        help=f"where the saved session lives (default: ${ENV_SESSION_FILE}, else your config folder)",
    )
    parser.add_argument(
        "--max-retries",
        type=_non_negative_int,
        default=default,
        metavar="N",
        help=f"retries of a failed request, 0 for none (default {DEFAULT_MAX_RETRIES})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if default is None else default,
        help="print machine-readable JSON on stdout (logs and progress go to stderr)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if default is None else default,
        help="log requests (-v) and debug details (-vv)",
    )


def _add_generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="what to do with the images")
    parser.add_argument(
        "-i",
        "--image",
        dest="images",
        action="append",
        default=[],
        metavar="URL_OR_PATH",
        help="an input image: a hosted URL or a local file (uploaded first); repeat for several, in order",
    )
    parser.add_argument("--resolution", choices=_RESOLUTIONS, help="output resolution (default 1K)")
    parser.add_argument("--format", dest="output_format", choices=_FORMATS, help="output format (default png)")
    parser.add_argument("--size", dest="image_size", metavar="SIZE", help="'auto' (default) or an aspect ratio")
    parser.add_argument("--width", type=_positive_int, help="width in pixels (default 1024)")
    parser.add_argument("--height", type=_positive_int, help="height in pixels (default 1024)")
    parser.add_argument("--steps", type=_positive_int, help="inference steps (default 20)")
    parser.add_argument("--guidance", dest="guidance_scale", type=float, help="guidance scale (default 7.5)")
    parser.add_argument("--public", dest="is_public", action="store_true", default=None, help="make the result public")
    parser.add_argument("--no-pro", dest="enable_pro", action="store_false", default=None, help="disable pro mode")


def _add_wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=_positive_float, default=600.0, help="seconds to wait for the task (default 600)"
    )
    parser.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="check the task's status every SECONDS (default: after 1 s, then less often, up to every 4 s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``nanobanana`` argument parser."""
    parser = _Parser(
        prog="nanobanana",
        description="Edit images with the Nano Banana API from the shell.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nanobanana {__version__}")
    _add_global_options(parser, default=None)
    # The same options are accepted after the command too (`nanobanana status ID --json`); SUPPRESS keeps a
    # subcommand from overwriting what was given before it.
    common = _Parser(add_help=False)
    _add_global_options(common.add_argument_group("global options (also accepted before the command)"),
                        default=argparse.SUPPRESS)  # fmt: skip
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_account_commands(commands, common)
    _add_task_commands(commands, common)
    _add_batch_commands(commands, common)
    _add_offline_commands(commands, common)
    return parser


def _add_account_commands(commands: _Commands, common: _Parser) -> None:
    login = commands.add_parser(
        "login", help="sign in with a code sent by e-mail and save the session", parents=[common]
    )
    login.add_argument("--email", help="your e-mail address (asked for when omitted)")
    login.add_argument(
        "--code",
        help="the 6-digit code from the e-mail, when you have one already (no new code is sent); asked when omitted",
    )
    commands.add_parser("logout", help="sign out and delete the saved session", parents=[common])
    commands.add_parser("whoami", help="show who is signed in", parents=[common])


def _add_task_commands(commands: _Commands, common: _Parser) -> None:
    generate = commands.add_parser("generate", help="run a whole generation and save the image", parents=[common])
    _add_generation_options(generate)
    generate.add_argument("-o", "--output", help=f"where to save: {_OUTPUT_HELP} (default: the current folder)")
    _add_wait_options(generate)

    upload = commands.add_parser("upload", help="upload a local image and print its hosted URL", parents=[common])
    upload.add_argument("path", help="the image file")

    create = commands.add_parser("create", help="create a task and print its id, without waiting", parents=[common])
    _add_generation_options(create)

    status = commands.add_parser("status", help="show a task's status once", parents=[common])
    status.add_argument("task_id")

    wait = commands.add_parser("wait", help="wait for a task to finish and print its result URL", parents=[common])
    wait.add_argument("task_id")
    wait.add_argument("-o", "--output", help=f"also download the result when done, to {_OUTPUT_HELP}")
    _add_wait_options(wait)

    download = commands.add_parser("download", help="download a result by URL or task id", parents=[common])
    download.add_argument("target", metavar="URL_OR_TASK_ID")
    download.add_argument("-o", "--output", required=True, help=f"where to save: {_OUTPUT_HELP}")


def _add_batch_commands(commands: _Commands, common: _Parser) -> None:
    batch = commands.add_parser(
        "batch", help="run a JSONL file of generations, resumable with a journal", parents=[common]
    )
    batch.add_argument("file", help="one JSON object per line: prompt, images, id, output, options")
    batch.add_argument("--concurrency", type=_positive_int, default=16, help="items in progress at once (default 16)")
    batch.add_argument("--out", dest="output_dir", default="results", help="folder for the results (default results)")
    batch.add_argument("--journal", default=None, help="progress file to resume from (default: <FILE>.journal.jsonl)")
    batch.add_argument("--retry-failed", action="store_true", help="run items that failed in an earlier run again")
    batch.add_argument(
        "--retry-uncertain",
        action="store_true",
        help="create again items whose create was in flight when an earlier run stopped (may pay twice)",
    )
    batch.add_argument("--rps", dest="requests_per_second", type=_positive_float, help="cap requests per second")
    batch.add_argument(
        "--status", action="store_true", help="show the counts and failed items from the journal; run nothing"
    )
    _add_wait_options(batch)

    report = commands.add_parser(
        "report", help="show a batch from its journal: counts and failures, or an HTML page", parents=[common]
    )
    report.add_argument("journal", help="the batch's journal (<FILE>.journal.jsonl by default)")
    report.add_argument(
        "-o", "--output", help="write one self-contained HTML page here (default: counts and failures as text)"
    )
    report.add_argument(
        "--batch",
        dest="batch_file",
        help="the batch file, for prompts and inputs (default: the journal's name without .journal.jsonl)",
    )


def _add_offline_commands(commands: _Commands, common: _Parser) -> None:
    # main() hands everything after `emulator` to the emulator's own parser.
    commands.add_parser("emulator", help="serve the offline API emulator (see `nanobanana emulator --help`)")

    demo = commands.add_parser(
        "demo", help="a full generation against the built-in emulator, offline", parents=[common]
    )
    demo.add_argument("-o", "--output", default="nanobanana-demo.png", help="where to save the result")
    demo.add_argument(
        "--finish-after", type=_non_negative_float, default=3.0, help="seconds the emulated task takes (default 3)"
    )


def command_index(argv: Sequence[str]) -> int | None:
    """The position of the command word in ``argv`` (skipping the global options and their values), if any."""
    takes_value = {"--session-token", "--base-url", "--session-file", "--max-retries"}
    skip = False
    for index, token in enumerate(argv):
        if skip:
            skip = False
        elif token in takes_value:
            skip = True
        elif not token.startswith("-"):
            return index
    return None

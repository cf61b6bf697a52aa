"""The ``nanobanana`` command line: a thin shell over the client.

Results go to stdout (``--json`` for machine-readable lines), progress, logs and errors to stderr. Expected
failures print one line and exit with a code per kind (see ``nanobanana --help``); no tracebacks.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from .._client import NanoBanana
from .._exceptions import NanoBananaError, WaitTimeoutError
from . import _exit
from ._parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        from ..emulator.__main__ import main as emulator_main

        code: int = emulator_main(list(args.emulator_args))
        return code

    from ._commands import COMMANDS, demo
    from ._ui import UI

    ui = UI(json_mode=args.json, verbose=args.verbose)

    async def run() -> int:
        if args.command == "demo":
            return await demo(args, ui)
        async with NanoBanana(
            session_token=args.session_token, base_url=args.base_url, session_file=args.session_file
        ) as client:
            return await COMMANDS[args.command](client, args, ui)

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        ui.error("interrupted." + _resume_hint(args))
        return _exit.INTERRUPTED
    except WaitTimeoutError as exc:
        ui.error(str(exc))
        return _exit.TIMEOUT
    except NanoBananaError as exc:
        ui.error(str(exc) + (_resume_hint(args) if exc.task_id else ""))
        return _exit.exit_code(exc)
    except EOFError:
        ui.error("no input: run it in a terminal, or pass the values as options")
        return _exit.USAGE


def _resume_hint(args: object) -> str:
    command = getattr(args, "command", "")
    if command == "batch":
        return " Run the same command again to resume from the journal."
    if command in ("generate", "wait"):
        return " A created task keeps running: `nanobanana wait TASK_ID` resumes it."
    return ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

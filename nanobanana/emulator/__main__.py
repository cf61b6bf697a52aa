"""``python -m nanobanana.emulator``: serve the emulator for programs in other processes or languages."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from ._server import Emulator
from ._types import Knobs


def _duration(text: str) -> float | tuple[float, float]:
    low, sep, high = text.partition("-")
    try:
        return (float(low), float(high)) if sep else float(low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or a range like 1-10, got {text!r}") from None


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve an offline emulator of the Nano Banana API (an API host and a file host).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="API port; 0 picks one (default: %(default)s)")
    parser.add_argument("--file-port", type=int, default=0, help="file host port; 0 picks one (default)")
    parser.add_argument("--finish-after", type=_duration, default=2.0, metavar="SECONDS",
                        help="time to finish a task: seconds, or a range like 1-10 (default: %(default)s)")  # fmt: skip
    parser.add_argument("--states", default="waiting", help="running state words, comma-separated (default: waiting)")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of tasks that fail, 0 to 1")
    parser.add_argument("--failure-message", default=None, help="failMsg of failed tasks")
    parser.add_argument("--no-auth", action="store_true", help="accept API calls without a session token")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible ids, timings and failures")
    parser.add_argument("--email", default="user@example.com", help="the account of the printed session token")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only warnings")
    return parser


async def _serve(emulator: Emulator, email: str) -> None:
    async with emulator as emu:
        token = emu.issue_token(email)
        print(f"Nano Banana emulator: API at {emu.url}, files at {emu.file_url}", flush=True)
        print(f"Session token for {email} (emulator only): {token}", flush=True)
        print(f"Try: NANOBANANA_BASE_URL={emu.url} NANOBANANA_SESSION_TOKEN={token} nanobanana whoami", flush=True)
        print("Sign-in codes are logged here when asked for. Ctrl-C stops.", flush=True)
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m nanobanana.emulator") -> int:
    """Run the standalone emulator until interrupted; returns the exit code.

    Args:
        argv: The arguments; defaults to the command line's.
        prog: The program name shown in help and errors.
    """
    args = _parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(name)s: %(message)s"
    )
    knobs: Knobs = {
        "finish_after": args.finish_after,
        "states": tuple(word.strip() for word in args.states.split(",") if word.strip()),
        "failure_rate": args.failure_rate,
        "require_auth": not args.no_auth,
        "seed": args.seed,
    }
    if args.failure_message is not None:
        knobs["failure_message"] = args.failure_message
    try:
        emulator = Emulator(host=args.host, port=args.port, file_port=args.file_port, **knobs)
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(emulator, args.email))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

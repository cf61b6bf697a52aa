"""``python -m nanobanana.emulator``: serve the emulator for programs in other processes or languages."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from argparse import SUPPRESS
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pydantic import ValidationError

from ._config import EmulatorConfig
from ._faults import ENDPOINTS, Fault, Faults
from ._server import Emulator
from ._types import Knobs


def _duration(text: str) -> float | tuple[float, float]:
    low, sep, high = text.partition("-")
    try:
        return (float(low), float(high)) if sep else float(low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or a range like 1-10, got {text!r}") from None


def _size(text: str) -> tuple[int, int] | None:
    if text == "request":
        return None
    width, sep, height = text.lower().partition("x")
    try:
        return (int(width), int(height)) if sep else (int(width), int(width))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT or 'request', got {text!r}") from None


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(",") if word.strip())


_FAULTS: dict[str, Callable[[str], Fault]] = {
    "challenge": lambda _: Fault.html_challenge(),
    "malformed": lambda _: Fault.malformed_json(),
    "slow": lambda seconds: Fault.slow(float(seconds or 1)),
    "drop": lambda _: Fault.drop(),
    "drop-after": lambda _: Fault.drop(after_processing=True),
    "truncate": lambda _: Fault.truncate(),
}
FAULT_WORDS = "a status code (429 comes with Retry-After: 1), " + ", ".join(_FAULTS).replace("slow", "slow=SECONDS")


@dataclass(frozen=True)
class FaultSpec:
    """A ``--fault`` option: which endpoint, which fault, and how often."""

    endpoint: str
    fault: Fault
    probability: float = 1.0
    times: int | None = None

    def apply(self, faults: Faults) -> None:
        """Script the fault (``times``) or set its rate (``probability``)."""
        if self.times is not None:
            faults.script(self.endpoint, self.fault, times=self.times)
        else:
            faults.rate(self.endpoint, self.fault, probability=self.probability)


def parse_fault(text: str) -> FaultSpec:
    """Read ``ENDPOINT:FAULT[:PROBABILITY or xTIMES]``, e.g. ``status:502:0.1`` or ``create:drop-after:x1``."""
    endpoint, _, rest = text.partition(":")
    word, _, how_often = rest.partition(":")
    name, _, argument = word.partition("=")
    try:
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)} or *")
        if name.isdigit():
            fault = Fault.status(int(name), retry_after=1 if name == "429" else None)
        elif name in _FAULTS:
            fault = _FAULTS[name](argument)
        else:
            raise ValueError(f"unknown fault {word!r}; use {FAULT_WORDS}")
        if how_often.startswith("x"):
            return FaultSpec(endpoint, fault, times=int(how_often[1:]))
        probability = float(how_often or 1)
        if not 0 <= probability <= 1:
            raise ValueError(f"the probability must be between 0 and 1, got {how_often}")
        return FaultSpec(endpoint, fault, probability=probability)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _add_knobs(parser: argparse.ArgumentParser) -> None:
    """One option per `EmulatorConfig` knob; a knob left out keeps the emulator's default."""
    knobs = parser.add_argument_group("behaviour (the knobs of EmulatorConfig)")
    knobs.add_argument("--finish-after", type=_duration, default=2.0, metavar="SECONDS",
                       help="time to finish a task: seconds, or a range like 1-10 (default: %(default)s)")  # fmt: skip
    knobs.add_argument("--states", type=_words, default=("waiting",), metavar="WORDS",
                       help="running state words, comma-separated (default: waiting)")  # fmt: skip
    knobs.add_argument("--failure-rate", type=float, default=0.0, help="share of tasks that fail, 0 to 1")
    knobs.add_argument("--failure-state", default=SUPPRESS, metavar="WORD",
                       help="the state word of a failed task (default: failed)")  # fmt: skip
    knobs.add_argument("--failure-message", default=SUPPRESS, metavar="TEXT", help="failMsg of failed tasks")
    knobs.add_argument("--no-auth", dest="require_auth", action="store_false",
                       help="accept API calls without a session token")  # fmt: skip
    knobs.add_argument("--seed", type=int, default=None, help="seed for reproducible ids, timings and failures")
    knobs.add_argument("--result-size", type=_size, default=SUPPRESS, metavar="WxH",
                       help="size of result images, or 'request' for the request's width and height "
                       "(default: 512x512)")  # fmt: skip
    knobs.add_argument("--no-record", dest="record_requests", action="store_false",
                       help="do not keep every request in memory (for long runs)")  # fmt: skip
    knobs.add_argument("--credits", type=int, default=None, metavar="N",
                       help="creates accepted before answering 402 Payment Required (default: no limit)")  # fmt: skip
    knobs.add_argument("--rate-limit", type=float, default=None, metavar="PER_SECOND",
                       help="API requests per second before answering 429 (default: no limit)")  # fmt: skip
    knobs.add_argument("--upload-lifetime", type=float, default=None, metavar="SECONDS",
                       help="seconds an upload is kept; a create naming an older one answers 400 "
                       "(default: for ever)")  # fmt: skip
    knobs.add_argument("--fault", dest="faults", action="append", default=[], type=parse_fault, metavar="SPEC",
                       help="inject faults: ENDPOINT:FAULT[:PROBABILITY or xTIMES], repeatable; "
                       f"FAULT is {FAULT_WORDS}; e.g. status:502:0.1, create:drop-after:x1")  # fmt: skip


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve an offline emulator of the Nano Banana API (an API host and a file host).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="API port; 0 picks one (default: %(default)s)")
    parser.add_argument("--file-port", type=int, default=0, help="file host port; 0 picks one (default)")
    parser.add_argument("--https", action="store_true",
                        help="serve https with a self-signed certificate made at start, and the __Secure-/__Host- "
                        "cookie names of the real site (default: http, with Auth.js's plain cookie names)")  # fmt: skip
    parser.add_argument("--email", default="user@example.com", help="the account of the printed session token")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only warnings")
    _add_knobs(parser)
    return parser


def _knobs(args: argparse.Namespace) -> Knobs:
    """The knobs given on the command line, by their `EmulatorConfig` names."""
    names = set(EmulatorConfig.model_fields)
    return cast(Knobs, {name: value for name, value in vars(args).items() if name in names})


async def _serve(emulator: Emulator, email: str, faults: Sequence[FaultSpec]) -> None:
    async with emulator as emu:
        for spec in faults:
            spec.apply(emu.faults)
        token = emu.issue_token(email)
        print(f"Nano Banana emulator: API at {emu.url}, files at {emu.file_url}", flush=True)
        print(f"Session token for {email} (emulator only): {token}", flush=True)
        print("Sample images:", *emu.sample_urls, sep="\n  ", flush=True)
        with tempfile.TemporaryDirectory(prefix="nanobanana-emulator-") as folder:
            trust = ""
            if emu.certificate is not None:
                # Clients trust the self-signed certificate through a file: Python's ssl reads SSL_CERT_FILE.
                certificate = Path(folder) / "certificate.pem"
                certificate.write_bytes(emu.certificate)
                print(f"Certificate: {certificate} (Node: NODE_EXTRA_CA_CERTS={certificate})", flush=True)
                trust = f"SSL_CERT_FILE={certificate} "
            print(
                f"Try: {trust}NANOBANANA_BASE_URL={emu.url} NANOBANANA_SESSION_TOKEN={token} nanobanana whoami",
                flush=True,
            )
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
    try:
        emulator = Emulator(host=args.host, port=args.port, file_port=args.file_port, https=args.https, **_knobs(args))
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0])
        print(f"error: --{name.replace('_', '-')} ({name}): {error['msg']}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(emulator, args.email, args.faults))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

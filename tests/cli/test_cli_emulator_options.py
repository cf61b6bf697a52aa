"""`nanobanana emulator`: an option for every knob, faults per endpoint, and what it prints at start."""

from __future__ import annotations

import json
import re
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from cli_support import CLI, finish
from support import CLI_FAST_POLL

from nanobanana.emulator import EmulatorConfig
from nanobanana.emulator.__main__ import _knobs, _parser


@dataclass
class Served:
    url: str
    token: str
    samples: list[str]
    certificate: str | None


@contextmanager
def serve(cli: CLI, *options: str) -> Iterator[Served]:
    """Run `nanobanana emulator` with ``options`` and read what it prints up to its "Ctrl-C stops." line."""
    server = cli.popen("emulator", "--port", "0", "-q", *options)
    assert server.stdout is not None
    lines = []
    for line in server.stdout:
        lines.append(line)
        if "Ctrl-C stops." in line:
            break
    text = "".join(lines)
    try:
        url = re.search(r"API at (\S+),", text)
        token = re.search(r"\(emulator only\): (\S+)", text)
        assert url, text
        assert token, text
        samples = re.findall(r"^  (\S+)$", text, flags=re.MULTILINE)
        certificate = re.search(r"^Certificate: (\S+)", text, flags=re.MULTILINE)
        yield Served(url.group(1), token.group(1), samples, certificate.group(1) if certificate else None)
    finally:
        server.send_signal(signal.SIGINT)
        stopped = finish(server, "emulator")
        assert stopped.code == 0, stopped


def test_every_knob_of_the_emulator_has_an_option() -> None:
    options = _parser("nanobanana emulator").parse_args(
        ["--failure-state", "error", "--failure-message", "no", "--result-size", "64x32"]
    )

    assert set(_knobs(options)) == set(EmulatorConfig.model_fields)


def test_options_left_out_keep_the_emulators_defaults() -> None:
    knobs = _knobs(_parser("nanobanana emulator").parse_args([]))

    assert EmulatorConfig(**knobs) == EmulatorConfig()


def test_it_prints_its_sample_image_urls_and_a_token_that_works(cli: CLI) -> None:
    with serve(cli) as served:
        whoami = cli.run("--base-url", served.url, f"--session-token={served.token}", "whoami")
        assert whoami.code == 0, whoami
        assert [url.rsplit("/", 1)[-1] for url in served.samples] == ["person.png", "outfit.png", "banana.png"]
        with urllib.request.urlopen(served.samples[2]) as response:
            assert response.status == 200


def test_credits_and_failures_come_from_the_options(cli: CLI) -> None:
    knobs = ("--credits", "1", "--failure-rate", "1", "--failure-message", "No face.", "--finish-after", "0")
    with serve(cli, *knobs) as s:
        sign_in = ("--base-url", s.url, f"--session-token={s.token}")
        failed = cli.run(*sign_in, "generate", "a banana", "-i", s.samples[0], *CLI_FAST_POLL)
        no_credits = cli.run(*sign_in, "create", "a banana", "-i", s.samples[0])

    assert failed.code == 6, failed
    assert failed.error_line().endswith("No face.")
    assert no_credits.code == 4, no_credits


def test_a_fault_option_applies_to_its_endpoint(cli: CLI) -> None:
    with serve(cli, "--fault", "status:502:x2", "--fault", "create:challenge:x1") as served:
        sign_in = ("--base-url", served.url, f"--session-token={served.token}", "--max-retries", "0")
        blocked = cli.run(*sign_in, "create", "a banana", "-i", served.samples[0])
        created = cli.run(*sign_in, "create", "a banana", "-i", served.samples[0])
        status = cli.run(*sign_in, "status", created.out.strip())

    assert blocked.code != 0
    assert created.code == 0, created
    assert status.code == 8, status  # 502, not retried


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [("nowhere:502", "unknown endpoint"), ("status:boom", "unknown fault"), ("status:502:2", "between 0 and 1")],
)
def test_a_bad_fault_option_exits_2_saying_why(cli: CLI, spec: str, complaint: str) -> None:
    run = cli.run("emulator", "--fault", spec)

    assert run.code == 2
    assert complaint in run.err


def test_the_rate_limit_option_answers_429_beyond_it(cli: CLI) -> None:
    with serve(cli, "--rate-limit", "1") as served:
        answers = []
        for _ in range(3):
            request = urllib.request.Request(
                served.url + "/api/image-generation-nano-banana/status",
                data=json.dumps({"taskId": "x"}).encode(),
                headers={"Content-Type": "application/json", "Cookie": f"authjs.session-token={served.token}"},
            )
            try:
                with urllib.request.urlopen(request) as response:
                    answers.append(response.status)
            except urllib.error.HTTPError as exc:
                answers.append(exc.code)

    assert 429 in answers


def test_https_mode_prints_a_certificate_to_trust_and_the_cli_works_with_it(cli: CLI) -> None:
    with serve(cli, "--https", "--finish-after", "0") as served:
        assert served.url.startswith("https://127.0.0.1:")
        # Self-signed: not trusted unless the client is told to.
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(served.url + "/api/auth/csrf")
        assert served.certificate is not None
        cli.env["SSL_CERT_FILE"] = served.certificate
        sign_in = ("--base-url", served.url, f"--session-token={served.token}")
        whoami = cli.run(*sign_in, "whoami")
        generate = cli.run(*sign_in, "generate", "a banana", "-i", served.samples[0], "-o", "out.png", *CLI_FAST_POLL)

    assert whoami.code == 0, whoami
    assert generate.code == 0, generate
    assert (cli.cwd / "out.png").stat().st_size > 0

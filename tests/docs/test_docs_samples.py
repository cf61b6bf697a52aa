"""Every Python sample in the docs runs, against the emulator, and the site builds.

Each ```` ```python ```` fence in ``docs/**/*.md`` and ``README.md`` is one test, named ``file:line``. The
convention, for whoever writes a page:

- **Top-level ``await``** (compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT``): the block runs as the body of a
  coroutine, with a fresh emulator in the same event loop and these names defined:

  - ``client``: a signed-in `NanoBanana` on the emulator, polling fast;
  - ``emu``: the `Emulator` (``finish_after=0``, ``seed=0``);
  - ``person_url``, ``outfit_url``: sample input images on the emulator's file host.

- **No top-level ``await``**: the block runs as a plain script (it may call ``asyncio.run``) while an emulator
  serves from a background thread; ``emu``, ``person_url`` and ``outfit_url`` are defined, ``client`` is not.
- **A block that defines ``test_*`` functions** is a test file of the reader's: it is written to a temporary
  folder and run with pytest (``asyncio_mode = auto``) in a subprocess, where the ``nanobanana_emulator``
  fixture comes from the installed plugin; it must pass.
- In every case the working folder is a temporary one holding ``me.png`` and ``outfit.jpg``;
  ``NANOBANANA_BASE_URL`` and ``NANOBANANA_SESSION_TOKEN`` point at the emulator and ``NANOBANANA_SESSION_FILE``
  at a temporary file, so ``NanoBanana()`` works as the docs show; ``input()`` answers the sign-in code the
  emulator last "e-mailed". (The subprocess of a test file gets none of these: it must build its own client.)
- A block that cannot run (it needs the real site, say) is preceded by ``<!-- skip: the reason -->`` on the
  line before its fence. A skip needs a reason and must sit right before a Python fence.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

import pytest
from support import FAST_POLL, write_jpeg, write_samples

from nanobanana import NanoBanana
from nanobanana.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*$")
_SKIP = re.compile(r"^\s*<!--\s*skip:(?P<reason>.*?)-->\s*$")
_SKIP_START = re.compile(r"<!--\s*skip\b")
_ENV = ("NANOBANANA_SESSION_TOKEN", "NANOBANANA_BASE_URL", "NANOBANANA_SESSION_FILE")
EMULATOR_KNOBS: dict[str, Any] = {"finish_after": 0.0, "seed": 0}


@dataclass(frozen=True)
class Sample:
    """One fenced Python block of the docs."""

    path: Path
    line: int  # of the opening fence, 1-based
    source: str
    skip_reason: str | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def _previous_text_line(lines: list[str], index: int) -> str | None:
    for previous in range(index - 1, -1, -1):
        if lines[previous].strip():
            return lines[previous]
    return None


def _blocks(path: Path) -> Iterator[tuple[int, str, str, str | None]]:
    """``(line, language, dedented source, skip reason)`` of every fenced block of a Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, start = match["indent"], index
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index])
            index += 1
        previous = _previous_text_line(lines, start)
        skip = _SKIP.match(previous) if previous is not None else None
        yield (
            start + 1,
            match["lang"].lower(),
            textwrap.dedent("\n".join(body)) + "\n",
            (skip["reason"].strip() if skip else None),
        )
        index += 1


def _collect() -> list[Sample]:
    return [
        Sample(path, line, source, reason)
        for path in DOC_FILES
        for line, lang, source, reason in _blocks(path)
        if lang in ("python", "py")
    ]


SAMPLES = _collect()


def _compile(sample: Sample) -> CodeType:
    # Line numbers in tracebacks point into the Markdown file.
    source = "\n" * sample.line + sample.source
    return compile(source, str(sample.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def _is_test_file(sample: Sample) -> bool:
    tree = ast.parse(sample.source)
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        for node in tree.body
    )


def _write_sample_images(folder: Path) -> None:
    write_samples(folder, 1)[0].rename(folder / "me.png")
    write_jpeg(folder / "outfit.jpg")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary working folder with the sample images, and logging left as it was found."""
    folder = tmp_path / "work"
    folder.mkdir()
    _write_sample_images(folder)
    monkeypatch.chdir(folder)
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    logger = logging.getLogger("nanobanana")
    level, propagate = logger.level, logger.propagate
    try:
        yield folder
    finally:
        logger.setLevel(level)
        logger.propagate = propagate


def _point_at(emu: Emulator, monkeypatch: pytest.MonkeyPatch, folder: Path) -> str:
    token = emu.issue_token("docs@example.com")
    monkeypatch.setenv("NANOBANANA_BASE_URL", emu.url)
    monkeypatch.setenv("NANOBANANA_SESSION_TOKEN", token)
    monkeypatch.setenv("NANOBANANA_SESSION_FILE", str(folder.parent / "session.json"))
    return token


def _namespace(emu: Emulator) -> dict[str, Any]:
    def fake_input(prompt: str = "") -> str:
        codes = list(emu.login_codes.values())
        if not codes:
            raise AssertionError("the sample asked for input, but no sign-in code was sent")
        return codes[-1]

    samples = emu.sample_urls
    return {
        "__name__": "__main__",
        "emu": emu,
        "person_url": samples[0],
        "outfit_url": samples[1],
        "input": fake_input,
    }


async def _run_awaiting(code: CodeType, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    async with Emulator(**EMULATOR_KNOBS) as emu:
        token = _point_at(emu, monkeypatch, folder)
        async with NanoBanana(
            base_url=emu.url,
            session_token=token,
            session_file=folder.parent / "session.json",
            poll=FAST_POLL,
        ) as client:
            namespace = {**_namespace(emu), "client": client}
            result = eval(code, namespace)
            if inspect.isawaitable(result):
                await result


def _run_plain(code: CodeType, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    with Emulator(**EMULATOR_KNOBS).run_in_thread() as emu:
        _point_at(emu, monkeypatch, folder)
        exec(code, _namespace(emu))


def _run_test_file(sample: Sample, folder: Path) -> None:
    (folder / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n", encoding="utf-8"
    )
    test_file = folder / "test_docs_sample.py"
    test_file.write_text(sample.source, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in _ENV}
    env["NANOBANANA_SESSION_FILE"] = str(folder.parent / "no-session.json")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file.name],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{sample.name}: its tests failed\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_sample_runs(sample: Sample, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if sample.skip_reason is not None:
        pytest.skip(sample.skip_reason)
    code = _compile(sample)
    if _is_test_file(sample):
        _run_test_file(sample, workdir)
    elif code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(_run_awaiting(code, monkeypatch, workdir))
    else:
        _run_plain(code, monkeypatch, workdir)


def test_samples_are_found() -> None:
    files = {sample.path for sample in SAMPLES}
    assert ROOT / "README.md" in files
    assert ROOT / "docs" / "index.md" in files
    assert len(SAMPLES) >= 30


def _skip_problems(path: Path) -> list[str]:
    """What is wrong with the ``<!-- skip -->`` markers of a Markdown file (nothing, for a good file)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fences = {line: lang for line, lang, _, _ in _blocks(path)}
    problems = []
    for number, text in enumerate(lines, start=1):
        if not _SKIP_START.search(text):
            continue
        where = f"{path.name}:{number}"
        match = _SKIP.match(text)
        following = next((i + 1 for i in range(number, len(lines)) if lines[i].strip()), None)
        if match is None:
            problems.append(f"{where}: write a skip as `<!-- skip: reason -->` on its own line")
        elif not match["reason"].strip():
            problems.append(f"{where}: a skip needs a reason")
        elif following not in fences:
            problems.append(f"{where}: no block follows")
        elif fences[following] not in ("python", "py"):
            problems.append(f"{where}: skips apply to Python blocks")
    return problems


def test_every_skip_in_the_docs_has_a_reason_and_a_python_block() -> None:
    assert [problem for path in DOC_FILES for problem in _skip_problems(path)] == []


@pytest.mark.parametrize(
    ("marker", "fence", "problem"),
    [
        ("<!-- skip: needs the real site -->", "python", None),
        ("<!-- skip: -->", "python", "a skip needs a reason"),
        ("<!-- skip -->", "python", "write a skip as"),
        ("<!-- skip: shell -->", "bash", "skips apply to Python blocks"),
    ],
)
def test_the_skip_check_finds_each_mistake(tmp_path: Path, marker: str, fence: str, problem: str | None) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"# A page\n\n{marker}\n```{fence}\nprint(1)\n```\n", encoding="utf-8")
    problems = _skip_problems(page)
    if problem is None:
        assert problems == []
        (block,) = [reason for _, _, _, reason in _blocks(page)]
        assert block == "needs the real site"  # and the sample is skipped with that reason
    else:
        (found,) = problems
        assert problem in found


def test_the_skip_check_finds_a_skip_with_no_block_after_it(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n<!-- skip: nothing follows -->\n", encoding="utf-8")
    assert [p.split(": ", 1)[1] for p in _skip_problems(page)] == ["no block follows"]


def test_site_builds_strict(tmp_path: Path) -> None:
    # Not skipped when the docs extra is missing: the test command installs it (see README, Development).
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"

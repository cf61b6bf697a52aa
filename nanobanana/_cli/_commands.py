"""The commands: each a thin shell over the client, returning an exit code."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from .._batch import read_batch_file
from .._batch_view import BatchView, view_batch
from .._client import NanoBanana
from .._config import default_session_file
from .._exceptions import AuthenticationError, GenerationFailedError, InvalidInputError, NanoBananaError
from .._inputs import is_url
from ..types import GenerationOptions, SessionInfo, TaskStatus
from . import _exit
from ._ui import UI

Command = Callable[[NanoBanana, argparse.Namespace, UI], Awaitable[int]]

_OPTION_NAMES = ("resolution", "output_format", "image_size", "width", "height", "steps", "guidance_scale",
                 "is_public", "enable_pro")  # fmt: skip


def _options(args: argparse.Namespace) -> GenerationOptions:
    given: dict[str, Any] = {name: getattr(args, name) for name in _OPTION_NAMES}
    return cast(GenerationOptions, {k: v for k, v in given.items() if v is not None})


def _status_json(status: TaskStatus) -> dict[str, Any]:
    return {
        "task_id": status.task_id,
        "state": status.state.value,
        "status": status.state_word,
        "url": status.url,
        "fail_msg": status.fail_msg,
        "done": status.is_done,
    }


_CODE_TRIES = 3


def output_target(text: str | None) -> str | None:
    """Where ``-o`` saves: a folder when ``text`` ends in a slash or names a folder (created if missing), else a file.

    Raises:
        InvalidInputError: The folder cannot be created (a file is in the way, or no permission).
    """
    if text is None:
        return None
    path = Path(text).expanduser()
    folder = path if text.endswith(("/", os.sep)) or path.is_dir() else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the folder {str(folder)!r} for -o: {exc.strerror or exc}") from None
    return str(path)


def check_login(args: argparse.Namespace) -> None:
    """Refuse a session file that cannot be written before the client reads it, and before a code is sent."""
    path = Path(args.session_file).expanduser() if args.session_file else default_session_file()
    if path.is_dir():
        raise InvalidInputError(f"--session-file {str(path)!r} is a folder; give the path of a file (it is created)")


async def login(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Sign in by e-mail code and save the session; a wrong typed code is asked for again, up to three tries."""
    email = args.email or ui.ask("E-mail: ")
    if args.code is None:
        await client.send_login_code(email)
        ui.info(f"A 6-digit code was sent to {email}.")
    session = await _exchange_code(client, email, args.code, ui)
    who = session.user.email or email
    ui.result({"email": who, "session_file": str(client.session_file)}, f"Signed in as {who}.")
    ui.info(f"Session saved to {client.session_file} (readable by you only).")
    return _exit.OK


async def _exchange_code(client: NanoBanana, email: str, given: str | None, ui: UI) -> SessionInfo:
    """The session for the code given, or for codes typed in until one is accepted (up to three tries).

    With no more input after a refused code, the refusal is the error, not the missing input.
    """
    tries = 1 if given is not None else _CODE_TRIES
    refused: AuthenticationError | InvalidInputError | None = None
    for attempt in range(1, tries + 1):
        try:
            code = given if given is not None else ui.ask("Code: ")
        except EOFError:
            if refused is None:
                raise
            raise _code_refused(refused, email) from None
        try:
            return await client.login(email, code, save=True)
        except (AuthenticationError, InvalidInputError) as exc:
            refused = exc
        if attempt < tries:
            left = tries - attempt
            ui.info(f"{_refusal(refused).capitalize()}; try again ({left} {'try' if left == 1 else 'tries'} left).")
    assert refused is not None
    raise _code_refused(refused, email)


def _refusal(exc: AuthenticationError | InvalidInputError) -> str:
    """Why a typed code was refused, in a few words."""
    if isinstance(exc, InvalidInputError):
        return str(exc).rstrip(".")
    return "the code was not accepted (wrong, used or expired)"


def _code_refused(exc: AuthenticationError | InvalidInputError, email: str) -> NanoBananaError:
    """The error of a code refused for the last time, naming the command that sends a new one."""
    message = f"{_refusal(exc)}. Run `nanobanana login --email {email}` to be sent a new code."
    if isinstance(exc, InvalidInputError):
        return InvalidInputError(message)
    exc.message = message
    return exc


async def logout(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Sign out and delete the saved session."""
    await client.logout()
    ui.result({"signed_out": True}, "Signed out.")
    return _exit.OK


async def whoami(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Show who is signed in."""
    session = await client.whoami()
    if session is None:
        message = "not signed in: run `nanobanana login`, or set NANOBANANA_SESSION_TOKEN"
        return ui.fail("AuthenticationError", message, _exit.AUTH, extra={"signed_in": False})
    ui.result(
        {"signed_in": True, "email": session.user.email, "name": session.user.name, "expires": session.expires},
        f"Signed in as {session.user.email or session.user.name}.",
    )
    return _exit.OK


async def generate(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """One whole generation, with a live status line.

    The task id is shown (and remembered for Ctrl-C) as soon as the task exists, since ``on_update`` hears of
    it before the first poll: a task is never lost, whatever stops the command.
    """
    with ui.task_status("Generating") as ticker:

        def on_update(status: TaskStatus) -> None:
            if ui.task_id is None:
                ui.follow(status.task_id)
                ui.info(f"Created task {status.task_id}")
            ticker.update(status)
            if status.state.is_success:
                ticker.set("downloading")

        ticker.set("uploading and creating" if any(not is_url(image) for image in args.images) else "creating")
        result = await client.generate(
            args.prompt,
            images=args.images,
            output=output_target(args.output) or ".",
            timeout=args.timeout,
            on_update=on_update,
            **_options(args),
        )
    ui.result(
        {"task_id": result.task_id, "url": result.url, "path": str(result.path)},
        f"Saved {result.path} (task {result.task_id})",
    )
    return _exit.OK


async def upload(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Upload one image."""
    url = await client.upload(args.path)
    ui.result({"url": url}, url)
    return _exit.OK


async def create(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Create a task without waiting."""
    task = await client.create(args.prompt, images=args.images, **_options(args))
    ui.result({"task_id": task.task_id, "status": task.status}, task.task_id)
    ui.info(f"Follow it with: nanobanana wait {task.task_id} -o PATH")
    return _exit.OK


async def status(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Show a task's status."""
    current = await client.status(args.task_id)
    detail = current.url or current.fail_msg or ""
    ui.result(_status_json(current), f"{current.task_id}: {current.state_word} {detail}".rstrip())
    return _exit.OK


async def wait(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Wait for a task and print its result URL; with ``-o``, download the result too."""
    output = output_target(args.output)
    ui.follow(args.task_id)
    with ui.task_status("Waiting for") as ticker:
        ticker.task_id = args.task_id
        final = await client.wait(args.task_id, timeout=args.timeout, on_update=ticker.update)
        if output is None or final.url is None:
            ui.result(_status_json(final), final.url or "")
            return _exit.OK
        ticker.set("downloading")
        path = await client.download(final.url, output)
    ui.result({**_status_json(final), "path": str(path)}, f"Saved {path}")
    return _exit.OK


async def download(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Download a result by URL, or by task id (reading its URL first)."""
    url = args.target
    task_id = None
    if not is_url(url):
        task_id = url
        current = await client.status(task_id)
        if current.state.is_failure:
            raise GenerationFailedError(task_id, current.fail_msg, current)
        if current.url is None:
            message = f"task {task_id} has no result yet ({current.state_word}); run `nanobanana wait {task_id}` first"
            return ui.fail("TaskNotDone", message, _exit.ERROR, task_id)
        url = current.url
    path = await client.download(url, output_target(args.output) or ".")
    ui.result({"task_id": task_id, "url": url, "path": str(path)}, f"Saved {path}")
    return _exit.OK


async def batch(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Run a JSONL batch with a progress display; exit non-zero if any item failed. ``--status``: only show it."""
    journal = args.journal or f"{args.file}.journal.jsonl"
    if args.status:
        return show_batch(view_batch(journal, args.file), ui)
    items = read_batch_file(args.file)
    ui.info(f"{len(items)} items; journal {journal} (re-run the same command to resume)")
    with ui.batch_progress(len(items)) as progress:
        outcomes = await client.generate_batch(
            items,
            concurrency=args.concurrency,
            output_dir=args.output_dir,
            journal=journal,
            on_progress=progress,
            timeout=args.timeout,
            retry_failed=args.retry_failed,
            retry_uncertain=args.retry_uncertain,
        )
    ui.batch_summary(outcomes)
    failed = sum(not outcome.ok for outcome in outcomes)
    if not failed:
        return _exit.OK
    hint = "" if args.retry_failed else "; --retry-failed runs failed generations again"
    message = f"{failed} of {len(outcomes)} items failed: `nanobanana report {journal} -o report.html` shows them{hint}"
    return ui.fail("BatchFailures", message, _exit.BATCH_FAILURES)


def show_batch(view: BatchView, ui: UI) -> int:
    """Print a batch's counts and the items to look at, from its journal; runs nothing."""
    ui.batch_status(view)
    unsettled = len(view.unsettled())
    if not unsettled:
        return _exit.OK
    message = f"{unsettled} of {len(view.items)} items failed or may have been created without an answer"
    return ui.fail("BatchFailures", message, _exit.BATCH_FAILURES)


def _write_report(view: BatchView, output: str) -> Path:
    """Write the HTML report to ``output`` (a folder gets ``report.html``) and return its path."""
    from .._report import write_report

    target = Path(output_target(output) or "report.html")
    return write_report(view, target / "report.html" if target.is_dir() else target)


async def report(args: argparse.Namespace, ui: UI) -> int:
    """Show a batch from its journal: as text, or (``-o``) as one self-contained HTML page."""
    view = view_batch(args.journal, args.batch_file)
    if args.output is None:
        return show_batch(view, ui)
    target = _write_report(view, args.output)
    ui.result({"report": str(target), "items": len(view.items)}, f"Wrote {target} ({len(view.items)} items)")
    return _exit.OK


async def demo(args: argparse.Namespace, ui: UI) -> int:
    """A whole generation against the built-in emulator: upload, create, poll, download. Offline."""
    from ..emulator import Emulator, sample_images

    ui.info("Starting the built-in emulator of the Nano Banana API (offline)...")
    async with Emulator(finish_after=args.finish_after, states=("waiting", "processing")) as emu:
        with tempfile.TemporaryDirectory(prefix="nanobanana-demo-") as folder:
            paths = []
            for name, data in sample_images()[:2]:
                path = Path(folder) / name
                path.write_bytes(data)
                paths.append(path)
            ui.info(f"Emulator at {emu.url}; inputs: {', '.join(p.name for p in paths)}")
            async with NanoBanana(
                base_url=emu.url,
                session_token=emu.issue_token("demo@example.com"),
                session_file=Path(folder) / "session.json",
            ) as client:
                with ui.task_status("Generating") as ticker:
                    result = await client.generate(
                        "change the clothes from image 1 to image 2",
                        images=paths,
                        output=output_target(args.output),
                        on_update=ticker.update,
                    )
    ui.result(
        {"task_id": result.task_id, "url": result.url, "path": str(result.path)},
        f"Done. Task {result.task_id} finished; the image is saved at {result.path}",
    )
    return _exit.OK


COMMANDS: dict[str, Command] = {
    "login": login,
    "logout": logout,
    "whoami": whoami,
    "generate": generate,
    "upload": upload,
    "create": create,
    "status": status,
    "wait": wait,
    "download": download,
    "batch": batch,
}

#: Checks of a command's arguments made before the client is built.
PRECHECKS: dict[str, Callable[[argparse.Namespace], None]] = {"login": check_login}

OFFLINE_COMMANDS: dict[str, Callable[[argparse.Namespace, UI], Awaitable[int]]] = {"demo": demo, "report": report}

"""The commands: each a thin shell over the client, returning an exit code."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from .._batch import read_batch_file
from .._client import NanoBanana
from .._exceptions import GenerationFailedError
from .._inputs import is_url
from ..types import GenerationOptions, TaskStatus
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


async def login(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Sign in by e-mail code and save the session."""
    email = args.email or ui.ask("E-mail: ")
    await client.send_login_code(email)
    ui.info(f"A 6-digit code was sent to {email}.")
    code = ui.ask("Code: ")
    session = await client.login(email, code, save=True)
    who = session.user.email or email
    ui.result({"email": who, "session_file": str(client.session_file)}, f"Signed in as {who}.")
    ui.info(f"Session saved to {client.session_file} (readable by you only).")
    return _exit.OK


async def logout(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Sign out and delete the saved session."""
    await client.logout()
    ui.result({"signed_out": True}, "Signed out.")
    return _exit.OK


async def whoami(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Show who is signed in."""
    session = await client.whoami()
    if session is None:
        if ui.json_mode:
            ui.result({"signed_in": False}, "")
        ui.error("not signed in: run `nanobanana login`, or set NANOBANANA_SESSION_TOKEN")
        return _exit.AUTH
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
            output=args.output or ".",
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
    ui.info(f"Follow it with: nanobanana wait {task.task_id}")
    return _exit.OK


async def status(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Show a task's status."""
    current = await client.status(args.task_id)
    detail = current.url or current.fail_msg or ""
    ui.result(_status_json(current), f"{current.task_id}: {current.state_word} {detail}".rstrip())
    return _exit.OK


async def wait(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Wait for a task and print its result URL."""
    ui.follow(args.task_id)
    with ui.task_status("Waiting for") as ticker:
        ticker.task_id = args.task_id
        final = await client.wait(args.task_id, timeout=args.timeout, on_update=ticker.update)
    ui.result(_status_json(final), final.url or "")
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
            ui.error(f"task {task_id} has no result yet ({current.state_word}); run `nanobanana wait {task_id}` first")
            return _exit.ERROR
        url = current.url
    path = await client.download(url, args.output)
    ui.result({"task_id": task_id, "url": url, "path": str(path)}, f"Saved {path}")
    return _exit.OK


async def batch(client: NanoBanana, args: argparse.Namespace, ui: UI) -> int:
    """Run a JSONL batch with a progress bar; exit non-zero if any item failed."""
    items = read_batch_file(args.file)
    journal = args.journal or f"{args.file}.journal.jsonl"
    ui.info(f"{len(items)} items; journal {journal} (re-run the same command to resume)")
    with ui.batch_progress(len(items)) as bar:
        outcomes = await client.generate_batch(
            items,
            concurrency=args.concurrency,
            output_dir=args.output_dir,
            journal=journal,
            on_progress=bar,
            timeout=args.timeout,
            retry_failed=args.retry_failed,
            retry_uncertain=args.retry_uncertain,
        )
    ui.batch_summary(outcomes)
    return _exit.OK if all(outcome.ok for outcome in outcomes) else _exit.BATCH_FAILURES


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
                        output=args.output,
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

"""What the command line shows: results on stdout (text or JSON), progress and errors on stderr."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

try:
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.table import Table
    from rich.text import Text
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise SystemExit("The command line needs its extra: pip install 'nanobanana[cli]'") from exc

from .._batch import BatchOutcome, BatchProgress
from ..types import TaskStatus


class UI:
    """Output for one command run.

    Text from outside (prompts, paths, URLs, server messages) is never read as rich markup or emoji codes:
    ``[...]`` and ``:name:`` are printed as they are.

    Attributes:
        task_id: The task this run follows, once known, so that an interruption can say how to resume it.
    """

    def __init__(self, *, json_mode: bool, verbose: int) -> None:
        self.json_mode = json_mode
        self.task_id: str | None = None
        self.out = Console(soft_wrap=True, emoji=False, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
        if verbose:
            handler = RichHandler(console=self.err, show_path=False, rich_tracebacks=False)
            logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s")
            logging.getLogger("nanobanana").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)

    def follow(self, task_id: str) -> None:
        """Remember the task this run follows (see `task_id`)."""
        self.task_id = task_id

    def result(self, data: dict[str, Any], text: str) -> None:
        """Print a command's result: ``data`` as one JSON line with --json, else ``text``."""
        if self.json_mode:
            sys.stdout.write(json.dumps(data, default=_json_value) + "\n")
            sys.stdout.flush()
        else:
            self.out.print(text, markup=False)

    def info(self, text: str) -> None:
        """A note for a person, on stderr."""
        self.err.print(text, markup=False)

    def error(self, text: str) -> None:
        """One clear error line, on stderr."""
        self.err.print(Text.assemble(("error:", "bold red"), " ", text))

    def ask(self, prompt: str) -> str:
        """Ask on stderr, read a line from stdin."""
        self.err.print(prompt, end="", markup=False)
        line = sys.stdin.readline()
        if not line:
            raise EOFError("no input")
        return line.strip()

    @contextmanager
    def task_status(self, what: str) -> Iterator[TaskTicker]:
        """A live spinner with the task's state and the elapsed time."""
        ticker = TaskTicker(what)
        # The ticker is rendered afresh at every refresh, so the elapsed time keeps counting between states.
        with self.err.status(ticker, spinner="dots"):
            yield ticker

    @contextmanager
    def batch_progress(self, total: int) -> Iterator[BatchBar]:
        """A progress bar with counts per stage, rate and ETA."""
        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=False,
        )
        with progress:
            bar = BatchBar(progress, progress.add_task("batch", total=total, counts="", rate=""))
            yield bar

    def batch_summary(self, outcomes: Sequence[BatchOutcome]) -> None:
        """A table of the batch's failures and totals."""
        ok = sum(outcome.ok for outcome in outcomes)
        resumed = sum(outcome.resumed for outcome in outcomes)
        failed = [outcome for outcome in outcomes if not outcome.ok]
        if self.json_mode:
            for outcome in outcomes:
                self.result(_outcome_json(outcome), "")
            return
        table = Table(title="Batch summary", show_lines=False)
        table.add_column("items", justify="right")
        table.add_column("done", justify="right", style="green")
        table.add_column("failed", justify="right", style="red")
        table.add_column("from an earlier run", justify="right")
        table.add_row(str(len(outcomes)), str(ok), str(len(failed)), str(resumed))
        self.out.print(table)
        if failed:
            errors = Table(title="Failed items")
            errors.add_column("item")
            errors.add_column("task")
            errors.add_column("error", overflow="fold")
            for outcome in failed[:50]:
                errors.add_row(Text(outcome.key), Text(outcome.task_id or "-"), Text(str(outcome.error)))
            if len(failed) > 50:
                errors.add_row("...", "", f"and {len(failed) - 50} more")
            self.out.print(errors)


def _json_value(value: object) -> str:
    """Values JSON has no type for: datetimes in ISO 8601, anything else (paths) as text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _outcome_json(outcome: BatchOutcome) -> dict[str, Any]:
    data: dict[str, Any] = {"index": outcome.index, "id": outcome.key, "ok": outcome.ok, "task_id": outcome.task_id}
    if outcome.result is not None:
        data.update(url=outcome.result.url, path=str(outcome.result.path) if outcome.result.path else None)
    if outcome.error is not None:
        data.update(error=str(outcome.error), error_type=type(outcome.error).__name__)
    data["resumed"] = outcome.resumed
    return data


class TaskTicker:
    """The spinner's line: the task's id, state and elapsed time (a rich renderable)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.task_id: str | None = None
        self.state = "starting"
        self.started = time.monotonic()

    def __rich__(self) -> Text:
        return self.text()

    def text(self) -> Text:
        """The line as it reads now (plain text: server words are never read as markup)."""
        task = f" {self.task_id}" if self.task_id else ""
        return Text(f"{self.what}{task}: {self.state} ({time.monotonic() - self.started:.0f}s)")

    def set(self, state: str) -> None:
        """Show a new stage or state."""
        self.state = state

    def update(self, status: TaskStatus) -> None:
        """An ``on_update`` callback for ``wait``/``generate``."""
        self.task_id = status.task_id
        self.set(status.state_word)


class BatchBar:
    """Feeds the batch progress bar from `BatchProgress` counts."""

    def __init__(self, progress: Progress, task_id: Any) -> None:
        self._progress = progress
        self._task = task_id
        self._started = time.monotonic()

    def __call__(self, counts: BatchProgress) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        self._progress.update(
            self._task,
            completed=counts.finished,
            counts=(
                f"[dim]queued[/] {counts.queued} [cyan]creating[/] {counts.creating} "
                f"[yellow]waiting[/] {counts.waiting} [blue]downloading[/] {counts.downloading} "
                f"[green]done[/] {counts.done} [red]failed[/] {counts.failed}"
            ),
            rate=f"{counts.finished / elapsed:.1f}/s",
        )

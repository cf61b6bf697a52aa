"""What the command line shows: results on stdout (text or JSON), progress and errors on stderr."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

try:
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from rich.text import Text
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise SystemExit("The command line needs its extra: pip install 'nanobanana[cli]'") from exc

from .._batch import BatchOutcome, BatchProgress
from .._batch_view import BatchView, ItemView
from ..types import TaskStatus
from ._exit import failure_json


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

    def fail(
        self,
        error_type: str,
        message: str,
        code: int,
        task_id: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Report a failure: the error line on stderr and, with --json, its record on stdout; returns ``code``."""
        self.error(message)
        if self.json_mode:
            failure_json(error_type, message, code, task_id, extra=extra)
        return code

    def ask(self, prompt: str) -> str:
        """Ask on stderr, read a line from stdin."""
        self.err.print(prompt, end="", markup=False)
        line = sys.stdin.readline()
        if not sys.stdin.isatty():
            # A terminal echoes the Enter; piped input does not, and what follows would share the prompt's line.
            self.err.print()
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
    def batch_progress(self, total: int) -> Iterator[BatchCounter]:
        """Batch progress: a bar with counts per stage, rate and ETA; plain periodic lines where a bar would not fit.

        Args:
            total: Items in the batch.
        """
        if not self.err.is_terminal or self.err.width < _BAR_MIN_WIDTH:
            lines = BatchLines(self.err, total)
            yield lines
            lines.print()
            return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[finished]}/{task.total}"),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]} ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=False,
        )
        with progress:
            task = progress.add_task("batch", total=total, finished=0, counts="", rate="", eta="-")
            yield BatchBar(progress, task, total)

    def batch_summary(self, outcomes: Sequence[BatchOutcome]) -> None:
        """A table of the batch's totals and failures."""
        if self.json_mode:
            for outcome in outcomes:
                self.result(_outcome_json(outcome), "")
            return
        failed = [outcome for outcome in outcomes if not outcome.ok]
        table = Table(title="Batch summary", show_lines=False)
        for column in ("items", "done", "failed", "from an earlier run"):
            table.add_column(column, justify="right")
        table.add_row(*map(str, (len(outcomes), len(outcomes) - len(failed), len(failed), _resumed(outcomes))))
        self.out.print(table)
        if failed:
            self.out.print(failures_table([(o.key, o.task_id, str(o.error)) for o in failed]))

    def batch_status(self, view: BatchView) -> None:
        """A batch's counts per state and the items to look at (failed or uncertain), from its journal."""
        counts = view.counts()
        if self.json_mode:
            self.result({"journal": str(view.journal), "running": view.running, "counts": counts}, "")
            for item in view.unsettled():
                self.result(_item_json(item), "")
            return
        if view.running:
            self.info("A batch is running on this journal: the counts are of now, and items sent are being created.")
        table = Table(title=f"Batch {view.journal}")
        for state in counts:
            table.add_column(state, justify="right")
        table.add_row(*map(str, counts.values()))
        self.out.print(table)
        unsettled = view.unsettled()
        if unsettled:
            rows = [(item.key, item.task_id, _item_problem(item)) for item in unsettled]
            self.out.print(failures_table(rows))


def _item_problem(item: ItemView) -> str:
    if item.state == "sent":
        return "its create was sent when the run stopped: the task may exist (and be charged)"
    return item.error or item.state


def _item_json(item: ItemView) -> dict[str, Any]:
    fields = ("key", "state", "index", "task_id", "error", "error_type")
    return {name: getattr(item, name) for name in fields}


_BAR_MIN_WIDTH = 100
"""Below this many columns the bar's many fields are cut to nothing: plain lines instead."""
_SHOWN_FAILURES = 50


def _resumed(outcomes: Sequence[BatchOutcome]) -> int:
    return sum(outcome.resumed for outcome in outcomes)


def without_task_id(message: str, task_id: str | None) -> str:
    """``message`` without mentions of ``task_id``, which a table shows in its own column."""
    if not task_id:
        return message
    text = re.sub(rf"\s*\((?:task )?{re.escape(task_id)}\)", "", message)
    text = re.sub(rf"\b([Tt]ask|[Gg]eneration) {re.escape(task_id)}\b", r"\1", text)
    return text.replace(task_id, "").strip()


def failures_table(rows: Sequence[tuple[str, str | None, str]]) -> Table:
    """Failed items: key, the full task id (the value to act on), and the error without repeating the id."""
    table = Table(title="Failed items")
    table.add_column("item", overflow="fold")
    table.add_column("task", no_wrap=True, min_width=max((len(task or "-") for _, task, _ in rows), default=4))
    table.add_column("error", overflow="fold", ratio=1)
    for key, task_id, error in rows[:_SHOWN_FAILURES]:
        table.add_row(Text(key), Text(task_id or "-"), Text(without_task_id(error, task_id)))
    if len(rows) > _SHOWN_FAILURES:
        table.add_row("...", "", f"and {len(rows) - _SHOWN_FAILURES} more")
    return table


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


class BatchCounter:
    """A batch run's display, fed by ``on_progress``: stages, and rate and ETA over this run's items only.

    Items an earlier run settled (``skipped``) count in the totals, never in the rate: a resumed batch does not
    claim thousands of items a second. The first report of a resumed run is announced in one line.
    """

    def __init__(self, total: int) -> None:
        self.counts = BatchProgress(total, total, 0, 0, 0, 0, 0)
        self.started = time.monotonic()
        self._announced = False

    def __call__(self, counts: BatchProgress) -> None:
        """The ``on_progress`` callback."""
        self.counts = counts
        if not self._announced and (counts.skipped or counts.reattached):
            self._announced = True
            self.note(resumed_line(counts))
        self.changed()

    def note(self, text: str) -> None:
        """Print a line apart from the progress (the subclasses' job)."""

    def changed(self) -> None:
        """Show the new numbers (the subclasses' job)."""

    def rate(self) -> float:
        """Items finished per second in this run."""
        return self.counts.run_finished / max(time.monotonic() - self.started, 1e-6)

    def eta(self) -> str:
        """The time left at this run's rate, or ``-`` before there is a rate."""
        rate = self.rate()
        if not self.counts.run_finished or rate <= 0:
            return "-"
        seconds = round((self.counts.run_total - self.counts.run_finished) / rate)
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def resumed_line(counts: BatchProgress) -> str:
    """``resumed: N done, M re-attached, K to go`` (with the earlier failures when there are some)."""
    failed = f", {counts.failed} failed earlier" if counts.failed else ""
    to_go = counts.run_total - counts.reattached
    return f"resumed: {counts.done} done{failed}, {counts.reattached} re-attached, {to_go} to go"


class BatchBar(BatchCounter):
    """The batch's rich progress bar."""

    def __init__(self, progress: Progress, task_id: TaskID, total: int) -> None:
        super().__init__(total)
        self._progress = progress
        self._task = task_id

    def note(self, text: str) -> None:
        """Print above the bar."""
        self._progress.console.print(text, markup=False, highlight=False)

    def changed(self) -> None:
        """Redraw the bar."""
        c = self.counts
        self._progress.update(
            self._task,
            completed=c.finished,
            finished=c.finished,
            counts=(
                f"[dim]queued[/] {c.queued} [cyan]creating[/] {c.creating} "
                f"[yellow]waiting[/] {c.waiting} [blue]downloading[/] {c.downloading} "
                f"[green]done[/] {c.done} [red]failed[/] {c.failed}"
            ),
            rate=f"{self.rate():.1f}/s",
            eta=self.eta(),
        )


class BatchLines(BatchCounter):
    """Plain progress lines, one every few seconds, where a bar would not fit (narrow or not a terminal)."""

    INTERVAL = 5.0

    def __init__(self, console: Console, total: int) -> None:
        super().__init__(total)
        self._console = console
        self._printed = time.monotonic()

    def note(self, text: str) -> None:
        """Print a line."""
        self._console.print(text, markup=False)

    def changed(self) -> None:
        """Print a line if the last one is old enough."""
        if time.monotonic() - self._printed >= self.INTERVAL:
            self.print()

    def print(self) -> None:
        """Print the numbers now."""
        c = self.counts
        running = c.creating + c.waiting + c.downloading
        self._console.print(
            f"batch: {c.finished}/{c.total} finished (done {c.done}, failed {c.failed}), {running} running, "
            f"{c.queued} queued, {self.rate():.1f}/s, ETA {self.eta()}",
            markup=False,
        )
        self._printed = time.monotonic()

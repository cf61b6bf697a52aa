"""Batch progress: counts of a batch's items per stage, and of what this run did versus what the journal settled."""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

Stage = Literal["queued", "creating", "waiting", "downloading", "done", "failed"]
_STAGES: tuple[Stage, ...] = ("queued", "creating", "waiting", "downloading", "done", "failed")


@dataclass(frozen=True)
class BatchProgress:
    """Counts of a batch's items per stage, passed to ``on_progress`` at every change.

    The six stages add up to ``total``. After a resume, items settled by the journal (``skipped``) are counted
    in ``done`` or ``failed`` from the first call on; a display computes its rate and ETA over this run's items
    only (`run_total`, `run_finished`).

    Attributes:
        total: Items in the batch.
        queued: Not started yet.
        creating: Uploading inputs or creating the task.
        waiting: Created, waiting for the server to finish.
        downloading: Fetching the result.
        done: Finished with a result (including those finished in an earlier run).
        failed: Finished with an error (including those settled in an earlier run, and those not started
            because the batch stopped early).
        skipped: Items settled by the journal of an earlier run, without any request in this one.
        reattached: Items of this run that follow a task an earlier run created, instead of creating one.
        not_started: Items never started because the batch stopped early (see `BatchAbortedError`).
    """

    total: int
    queued: int
    creating: int
    waiting: int
    downloading: int
    done: int
    failed: int
    skipped: int = 0
    reattached: int = 0
    not_started: int = 0

    @property
    def finished(self) -> int:
        """Items done or failed."""
        return self.done + self.failed

    @property
    def run_total(self) -> int:
        """Items this run has to settle: all but those the journal settled."""
        return self.total - self.skipped

    @property
    def run_finished(self) -> int:
        """Items this run settled so far (the basis of a rate or an ETA)."""
        return self.finished - self.skipped


ProgressCallback = Callable[[BatchProgress], "Awaitable[None] | None"]
"""Receives a `BatchProgress` at every change; plain or async function."""


@dataclass
class ProgressTracker:
    """Each item's stage, the counts derived from them, and the callback told of every change."""

    callback: ProgressCallback | None
    stages: dict[str, Stage] = field(default_factory=dict)
    counter: Counter[Stage] = field(default_factory=Counter)
    skipped: int = 0
    reattached: int = 0
    not_started: int = 0

    def queue(self, slot: str) -> None:
        """Count an item as queued, before the run starts (no callback)."""
        self._move(slot, "queued")

    def settle(self, slot: str, stage: Stage) -> None:
        """Count an item the journal settled (no callback: `announce` tells of them all at once)."""
        self._move(slot, stage)
        self.skipped += 1

    async def move(self, slot: str, stage: Stage) -> None:
        """Move an item to ``stage`` and tell the callback."""
        self._move(slot, stage)
        await self.announce()

    async def announce(self) -> None:
        """Tell the callback the counts as they are."""
        if self.callback is not None:
            result = self.callback(self.snapshot())
            if inspect.isawaitable(result):
                await result

    def _move(self, slot: str, stage: Stage) -> None:
        previous = self.stages.get(slot)
        if previous is not None:
            self.counter[previous] -= 1
        self.stages[slot] = stage
        self.counter[stage] += 1

    def snapshot(self) -> BatchProgress:
        """The counts as they are now."""
        c = self.counter
        return BatchProgress(
            total=len(self.stages),
            **{stage: c[stage] for stage in _STAGES},
            skipped=self.skipped,
            reattached=self.reattached,
            not_started=self.not_started,
        )

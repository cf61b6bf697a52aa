"""Batches: many generations at once, one outcome per input, resumable from a journal after a crash."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._batch_items import BatchInput, BatchItem, PlannedItem, fingerprint, plan_items, read_batch_file
from ._batch_outcomes import BatchOutcome, reusable_task, settled_outcome
from ._batch_progress import BatchProgress, ProgressCallback, ProgressTracker
from ._batch_steps import ClientSteps
from ._batch_uploads import BatchUploads
from ._download import remove_partial_files
from ._exceptions import APIError, BatchAbortedError, InvalidInputError, NanoBananaError
from ._journal import Entry, Event, Journal
from ._telemetry import NOOP, Handle
from ._transport import may_have_acted

__all__ = [
    "BatchInput",
    "BatchItem",
    "BatchOutcome",
    "BatchProgress",
    "BatchRun",
    "ProgressCallback",
    "read_batch_file",
]

logger = logging.getLogger("nanobanana")

_ACCOUNT_STATUSES = frozenset({401, 402, 403})
_ACCOUNT_FAILURES_TO_STOP = 3


class _AccountWatch:
    """Stops a batch after repeated account failures (401, 402, 403 or a Cloudflare block) in a row.

    Such an error says nothing about the item and everything about the account or the network: every item
    after it would fail the same way, so the rest are better left unstarted for a later run.
    """

    def __init__(self) -> None:
        self._in_a_row = 0
        self.reason: NanoBananaError | None = None

    def saw(self, exc: NanoBananaError) -> None:
        if isinstance(exc, APIError) and getattr(exc, "status_code", None) in _ACCOUNT_STATUSES:
            self._in_a_row += 1
            if self._in_a_row >= _ACCOUNT_FAILURES_TO_STOP and self.reason is None:
                self.reason = exc
                logger.warning("Batch stopped starting items after %d account failures: %s", self._in_a_row, exc)

    def passed(self) -> None:
        self._in_a_row = 0

    def check(self, key: str) -> None:
        """Refuse to start item ``key`` once the batch has stopped."""
        if self.reason is not None:
            raise BatchAbortedError(key, self.reason)


@dataclass
class _Attempt:
    """One item being run: what is known of its task so far, for the journal when it fails."""

    planned: PlannedItem
    item: BatchItem
    task_id: str | None = None
    create_sent: bool = False


def _check_path(value: object, name: str, *, folder: bool) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidInputError(f"{name} must be a path (str or os.PathLike) or None, got {value!r}")
    path = Path(value).expanduser()
    if folder and path.exists() and not path.is_dir():
        raise InvalidInputError(f"{name} {str(path)!r} is a file; it must be a folder (created if missing)")
    if not folder and path.is_dir():
        raise InvalidInputError(f"{name} {str(path)!r} is a folder; it must be a file (created if missing)")
    return path


def _check_options(concurrency: object, on_progress: object, timeout: object, flags: Mapping[str, object]) -> None:
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise InvalidInputError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if on_progress is not None and not callable(on_progress):
        raise InvalidInputError(f"on_progress must be a function or None, got {on_progress!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise InvalidInputError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
    for name, flag in flags.items():
        if not isinstance(flag, bool):
            raise InvalidInputError(f"{name} must be True or False, got {flag!r}")


def _inputs_of(items: object) -> list[BatchInput]:
    if isinstance(items, (str, bytes, Mapping)):
        raise InvalidInputError("items must be a list of items (prompts, dicts or BatchItems); wrap one in [...]")
    if not isinstance(items, Iterable):
        raise InvalidInputError(f"items must be an iterable of batch items, got {type(items).__name__}")
    return list(items)


class BatchRun:
    """A running batch: ``await`` it for every outcome in input order, or ``async for`` them as they finish.

    Created by `NanoBanana.generate_batch`; see it for the arguments. Every argument and the items as a set
    (unique ids and output files) are checked when it is created, before anything is sent.
    """

    def __init__(
        self,
        steps: ClientSteps,
        items: Iterable[BatchInput],
        *,
        concurrency: int,
        output_dir: str | os.PathLike[str] | None,
        journal: str | os.PathLike[str] | None,
        on_progress: ProgressCallback | None,
        timeout: float | None,
        retry_failed: bool,
        retry_uncertain: bool,
    ) -> None:
        _check_options(
            concurrency, on_progress, timeout, {"retry_failed": retry_failed, "retry_uncertain": retry_uncertain}
        )
        self._output_dir = _check_path(output_dir, "output_dir", folder=True)
        self._journal_path = _check_path(journal, "journal", folder=False)
        self._planned = plan_items(_inputs_of(items), self._output_dir)
        self._steps = steps
        self._telemetry = steps.telemetry
        self._concurrency = concurrency
        self._timeout = timeout
        self._retry_failed = retry_failed
        self._retry_uncertain = retry_uncertain
        self._progress = ProgressTracker(on_progress)
        self._journal: Journal | None = None
        self._uploads = BatchUploads(None, fallback=steps.uploads)
        self._account = _AccountWatch()
        self._started = False

    def __await__(self) -> Generator[Any, None, list[BatchOutcome]]:
        return self._collect().__await__()

    async def _collect(self) -> list[BatchOutcome]:
        outcomes = [outcome async for outcome in self]
        return sorted(outcomes, key=lambda outcome: outcome.index)

    def __aiter__(self) -> AsyncIterator[BatchOutcome]:
        if self._started:
            raise RuntimeError("a batch runs once; call generate_batch again to run another")
        self._started = True
        return self._run()

    async def _run(self) -> AsyncIterator[BatchOutcome]:
        try:
            await self._open()
            for p in self._planned:
                self._progress.queue(p.key)
            settled, to_run = self._settle_from_journal()
            if self._progress.skipped or self._progress.reattached:
                await self._progress.announce()  # a display can say what the journal settled before anything runs
            for outcome in settled:
                yield outcome
            # Closed before the journal is, also when the caller stops early: no worker writes to a closed journal.
            async with contextlib.aclosing(self._run_items(to_run)) as outcomes:
                async for outcome in outcomes:
                    yield outcome
        finally:
            if self._journal is not None:
                self._journal.close()

    async def _open(self) -> None:
        if self._journal_path is not None:
            digests = {p.key: p.digest for p in self._planned if p.digest is not None}
            self._journal = await asyncio.to_thread(
                Journal, self._journal_path, fingerprint=fingerprint(self._planned), digests=digests
            )
            self._uploads = BatchUploads(self._journal, fallback=self._steps.uploads)
        if self._output_dir is not None:
            try:
                await asyncio.to_thread(self._output_dir.mkdir, parents=True, exist_ok=True)
            except OSError as exc:
                raise InvalidInputError(f"cannot create output_dir {str(self._output_dir)!r}: {exc.strerror}") from None
            if self._journal is not None:
                # Only with a journal, whose lock guarantees that no other run of this batch is writing them now.
                targets = [p.target for p in self._planned if p.target is not None]
                await asyncio.to_thread(remove_partial_files, targets)

    def _entry(self, key: str) -> Entry | None:
        return self._journal.entries.get(key) if self._journal is not None else None

    def _settle_from_journal(self) -> tuple[list[BatchOutcome], list[PlannedItem]]:
        """The outcomes the journal settled (counted at once, so progress shows them apart) and the items to run."""
        settled: list[BatchOutcome] = []
        to_run: list[PlannedItem] = []
        for p in self._planned:
            entry = self._entry(p.key)
            if p.item is None:
                to_run.append(p)
                continue
            outcome = settled_outcome(
                p.index, p.item, entry, retry_failed=self._retry_failed, retry_uncertain=self._retry_uncertain
            )
            if outcome is not None:
                settled.append(outcome)
                self._progress.settle(p.key, "done" if outcome.ok else "failed")
            else:
                to_run.append(p)
                if reusable_task(entry) is not None:
                    self._progress.reattached += 1
        return settled, to_run

    async def _run_items(self, to_run: list[PlannedItem]) -> AsyncGenerator[BatchOutcome, None]:
        pending: asyncio.Queue[PlannedItem] = asyncio.Queue()
        for p in to_run:
            pending.put_nowait(p)
        done: asyncio.Queue[BatchOutcome | Exception] = asyncio.Queue()
        span = NOOP if self._telemetry is None else self._telemetry.batch(len(self._planned))
        with span.as_parent():  # each worker task copies the context: its items' spans go under the batch's
            workers = [
                asyncio.ensure_future(self._worker(pending, done)) for _ in range(min(self._concurrency, len(to_run)))
            ]
        try:
            for _ in range(len(to_run)):
                outcome = await done.get()
                if isinstance(outcome, Exception):
                    raise outcome
                yield outcome
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            counts = self._progress.counter
            span.end(succeeded=counts["done"], failed=counts["failed"])

    async def _worker(self, pending: asyncio.Queue[PlannedItem], done: asyncio.Queue[BatchOutcome | Exception]) -> None:
        while not pending.empty():
            planned = pending.get_nowait()
            try:
                with self._generation_span(planned) as span:
                    settled = await self._settle(planned)
                    span.fail(settled.error)
                outcome: BatchOutcome | Exception = settled
            except Exception as exc:
                # Not an outcome (a bug, e.g. in on_progress): hand it to the consumer, which would otherwise wait
                # for ever for this item.
                outcome = exc
            done.put_nowait(outcome)

    async def _settle(self, p: PlannedItem) -> BatchOutcome:
        if p.item is None:
            await self._progress.move(p.key, "failed")
            return BatchOutcome(index=p.index, key=p.key, item=None, error=p.error)
        attempt = _Attempt(planned=p, item=p.item, task_id=reusable_task(self._entry(p.key)))
        try:
            return await self._process(attempt)
        except NanoBananaError as exc:
            return await self._failed(attempt, exc)

    async def _process(self, attempt: _Attempt) -> BatchOutcome:
        """Create the item's task (or follow the one an earlier run created), wait for it, and fetch its result."""
        p = attempt.planned
        reattached = attempt.task_id is not None
        if attempt.task_id is None:
            attempt.task_id = await self._create(attempt)
        else:
            logger.info("Batch item %s: re-attaching to task %s", p.key, attempt.task_id)
        task_id = attempt.task_id
        await self._progress.move(p.key, "waiting")
        final = await self._steps.wait(task_id, timeout=self._timeout, initial_delay=0.0 if reattached else None)
        await self._progress.move(p.key, "downloading")
        result = await self._steps.fetch(task_id, final, p.target)
        self._record(p.key, "done", task_id=task_id, url=result.url, path=str(result.path) if result.path else None)
        await self._progress.move(p.key, "done")
        return BatchOutcome(index=p.index, key=p.key, item=attempt.item, task_id=task_id, result=result)

    async def _create(self, attempt: _Attempt) -> str:
        """Upload the item's inputs and create its task, unless the batch has stopped starting items."""
        p, item = attempt.planned, attempt.item
        self._account.check(p.key)
        await self._progress.move(p.key, "creating")
        prepared = await self._steps.prepare(item.to_request(), item.images, self._uploads)
        self._account.check(p.key)  # it may have stopped while the inputs were uploading
        self._record(p.key, "creating", index=p.index, digest=p.digest)
        attempt.create_sent = True
        task = await self._steps.create(prepared)
        self._account.passed()
        self._record(p.key, "created", task_id=task.task_id)
        return task.task_id

    async def _not_started(self, p: PlannedItem, error: BatchAbortedError) -> BatchOutcome:
        """An item left for a later run: nothing was created for it, so the journal needs no line."""
        self._progress.not_started += 1
        await self._progress.move(p.key, "failed")
        return BatchOutcome(index=p.index, key=p.key, item=p.item, error=error)

    async def _failed(self, attempt: _Attempt, exc: NanoBananaError) -> BatchOutcome:
        p, task_id = attempt.planned, attempt.task_id
        if isinstance(exc, BatchAbortedError):
            return await self._not_started(p, exc)
        self._account.saw(exc)
        if task_id is not None:
            exc.task_id = task_id
        uncertain = task_id is None and attempt.create_sent and may_have_acted(exc)
        self._record(
            p.key,
            "failed",
            task_id=task_id,
            error=str(exc),
            error_type=type(exc).__name__,
            status_code=getattr(exc, "status_code", None),
            fail_msg=getattr(exc, "fail_msg", None),
            uncertain=uncertain or None,
        )
        await self._progress.move(p.key, "failed")
        return BatchOutcome(
            index=p.index, key=p.key, item=attempt.item, task_id=task_id, error=exc, uncertain=uncertain
        )

    def _generation_span(self, p: PlannedItem) -> Handle:
        """The item's generation span, under the batch's (the worker's context holds it); an invalid item's too."""
        if self._telemetry is None:
            return NOOP
        return self._telemetry.generation(p.item if p.item is not None else "")

    def _record(self, key: str, event: Event, **fields: Any) -> None:
        if self._journal is not None:
            self._journal.record(key, event, **fields)

"""Batches: many generations at once, one outcome per input, resumable from a journal after a crash."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, ValidationError

from ._download import remove_partial_files
from ._exceptions import InvalidInputError, NanoBananaError
from ._journal import Entry, Journal
from ._transport import may_have_acted
from .types import GenerationRequest, GenerationResult

if TYPE_CHECKING:
    from ._client import NanoBanana

logger = logging.getLogger("nanobanana")

Stage = Literal["queued", "creating", "waiting", "downloading", "done", "failed"]
_STAGES: tuple[Stage, ...] = ("queued", "creating", "waiting", "downloading", "done", "failed")
_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class BatchItem(GenerationRequest):
    """One generation of a batch: a `GenerationRequest` plus local inputs and naming.

    Batch files (JSONL) hold one of these per line, e.g.
    ``{"id": "look-1", "prompt": "...", "images": ["me.png", "outfit.png"], "resolution": "2K"}``.

    Attributes:
        id: A stable name for the item: the journal key and the output file's stem. Defaults to the item's
            position and a hash of its content.
        images: Inputs to upload (local paths) or use as they are (URLs), after ``image_urls``.
        output: The output file name inside the batch's ``output_dir``; defaults to ``<id>.<format>``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    images: tuple[str, ...] = ()
    output: str | None = None

    def to_request(self) -> GenerationRequest:
        """The request without the batch-only fields."""
        return GenerationRequest.model_validate(self.model_dump(exclude={"id", "images", "output"}))

    def key(self, index: int) -> str:
        """The item's journal key: its ``id``, else its position and a hash of its content."""
        if self.id:
            return self.id
        digest = hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]
        return f"{index}-{digest}"


@dataclass(frozen=True)
class BatchProgress:
    """Counts of a batch's items per stage, passed to ``on_progress`` at every change.

    Attributes:
        total: Items in the batch.
        queued: Not started yet.
        creating: Uploading inputs or creating the task.
        waiting: Created, waiting for the server to finish.
        downloading: Fetching the result.
        done: Finished with a result (including those finished in an earlier run).
        failed: Finished with an error.
    """

    total: int
    queued: int
    creating: int
    waiting: int
    downloading: int
    done: int
    failed: int

    @property
    def finished(self) -> int:
        """Items done or failed."""
        return self.done + self.failed


@dataclass(frozen=True)
class BatchOutcome:
    """The outcome of one batch item: a result or an error, never both.

    Attributes:
        index: The item's position in the input.
        key: The item's journal key.
        item: The item.
        task_id: The server's task id, once created (kept on failures too, so no task is lost).
        result: The result, on success. Items finished in an earlier run carry ``url`` and ``path``, not
            ``content``.
        error: The error, on failure.
        resumed: True when the outcome comes from the journal of an earlier run.
    """

    index: int
    key: str
    item: BatchItem | None
    task_id: str | None = None
    result: GenerationResult | None = None
    error: NanoBananaError | None = None
    resumed: bool = False

    @property
    def ok(self) -> bool:
        """True on success."""
        return self.result is not None


ProgressCallback = Callable[[BatchProgress], "Awaitable[None] | None"]
"""Receives a `BatchProgress` at every change; plain or async function."""

BatchInput = BatchItem | GenerationRequest | Mapping[str, Any] | str
"""A batch item: a `BatchItem`, a `GenerationRequest`, a dict of `BatchItem` fields, or just a prompt."""


def to_item(value: BatchInput) -> BatchItem:
    """Turn any accepted input into a `BatchItem`."""
    if isinstance(value, BatchItem):
        return value
    try:
        if isinstance(value, GenerationRequest):
            return BatchItem.model_validate(value.model_dump())
        if isinstance(value, str):
            return BatchItem(prompt=value)
        return BatchItem.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"invalid batch item: {problems}") from exc


@dataclass
class _Counts:
    stages: dict[str, Stage] = field(default_factory=dict)
    counter: Counter[Stage] = field(default_factory=Counter)

    def move(self, key: str, stage: Stage) -> None:
        previous = self.stages.get(key)
        if previous is not None:
            self.counter[previous] -= 1
        self.stages[key] = stage
        self.counter[stage] += 1

    def snapshot(self) -> BatchProgress:
        c = self.counter
        return BatchProgress(total=len(self.stages), **{stage: c[stage] for stage in _STAGES})


class BatchRun:
    """A running batch: ``await`` it for every outcome in input order, or ``async for`` them as they finish.

    Created by `NanoBanana.generate_batch`; see it for the arguments.
    """

    def __init__(
        self,
        client: NanoBanana,
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
        if concurrency < 1:
            raise InvalidInputError(f"concurrency must be >= 1, got {concurrency}")
        self._client = client
        self._inputs = list(items)
        self._concurrency = concurrency
        self._output_dir = Path(output_dir).expanduser() if output_dir is not None else None
        self._journal_path = journal
        self._on_progress = on_progress
        self._timeout = timeout
        self._retry_failed = retry_failed
        self._retry_uncertain = retry_uncertain
        self._counts = _Counts()
        self._journal: Journal | None = None
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
        if self._journal_path is not None:
            self._journal = await asyncio.to_thread(Journal, self._journal_path)
        if self._output_dir is not None:
            await asyncio.to_thread(self._output_dir.mkdir, parents=True, exist_ok=True)
            if self._journal is not None:
                await asyncio.to_thread(self._remove_partial_downloads)
        pending: asyncio.Queue[tuple[int, BatchInput]] = asyncio.Queue()
        for index, value in enumerate(self._inputs):
            pending.put_nowait((index, value))
            self._counts.move(f"#{index}", "queued")
        done: asyncio.Queue[BatchOutcome | Exception] = asyncio.Queue()
        span = self._client._telemetry.batch(len(self._inputs))
        with span.as_parent():  # each worker task copies the context: its items' spans go under the batch's
            workers = [
                asyncio.ensure_future(self._worker(pending, done))
                for _ in range(min(self._concurrency, len(self._inputs)))
            ]
        try:
            for _ in range(len(self._inputs)):
                outcome = await done.get()
                if isinstance(outcome, Exception):
                    raise outcome
                yield outcome
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            span.end(succeeded=self._counts.counter["done"], failed=self._counts.counter["failed"])
            if self._journal is not None:
                self._journal.close()

    async def _worker(
        self, pending: asyncio.Queue[tuple[int, BatchInput]], done: asyncio.Queue[BatchOutcome | Exception]
    ) -> None:
        while not pending.empty():
            index, value = pending.get_nowait()
            try:
                with self._client._telemetry.generation(value) as span:
                    processed = await self._process(index, value)
                    span.fail(processed.error)
                outcome: BatchOutcome | Exception = processed
            except Exception as exc:
                # Not an outcome (a bug, e.g. in on_progress): hand it to the consumer, which would otherwise wait
                # for ever for this item.
                outcome = exc
            done.put_nowait(outcome)

    async def _progress(self, key: str, stage: Stage) -> None:
        self._counts.move(key, stage)
        if self._on_progress is not None:
            result = self._on_progress(self._counts.snapshot())
            if inspect.isawaitable(result):
                await result

    def _record(self, key: str, event: Literal["creating", "created", "done", "failed"], **fields: Any) -> None:
        if self._journal is not None:
            self._journal.record(key, event, **fields)

    def _remove_partial_downloads(self) -> None:
        """Delete what downloads of this batch's own targets left behind in a crash (``kill -9`` skips cleanup).

        Only with a journal, whose lock guarantees that no other run of this batch is writing them now.
        """
        remove_partial_files(
            target for index, value in enumerate(self._inputs) if (target := self._target_of(index, value))
        )

    def _target_of(self, index: int, value: BatchInput) -> Path | None:
        try:
            return self._target(index, to_item(value))
        except InvalidInputError:
            return None

    def _target(self, index: int, item: BatchItem) -> Path | None:
        if self._output_dir is None:
            return None
        name = item.output or f"{item.id or f'{index:05d}'}.{_EXTENSIONS[item.output_format]}"
        return self._output_dir / name

    async def _process(self, index: int, value: BatchInput) -> BatchOutcome:
        slot = f"#{index}"
        try:
            item = to_item(value)
        except InvalidInputError as exc:
            await self._progress(slot, "failed")
            return BatchOutcome(index=index, key=slot, item=None, error=exc)
        key = item.key(index)
        entry = self._journal.entries.get(key) if self._journal is not None else None
        task_id = entry.task_id if entry is not None else None
        create_sent = False
        try:
            resumed = self._resume(index, key, item, entry)
            if resumed is not None:
                await self._progress(slot, "done" if resumed.ok else "failed")
                return resumed
            if task_id is None or (entry is not None and entry.error_type == "GenerationFailedError"):
                # A task that failed in an earlier run is replaced, not followed: forget its id.
                task_id = None
                await self._progress(slot, "creating")
                request = await self._client._prepare(item.to_request(), item.images)
                self._record(key, "creating", index=index)
                create_sent = True
                task = await self._client.create(request)
                task_id = task.task_id
                self._record(key, "created", task_id=task_id)
            else:
                logger.info("Batch item %s: re-attaching to task %s", key, task_id)
            await self._progress(slot, "waiting")
            final = await self._client._wait_done(task_id, timeout=self._timeout, initial_delay=0.0 if entry else None)
            await self._progress(slot, "downloading")
            result = await self._client._fetch_result(task_id, final, self._target(index, item))
            self._record(key, "done", task_id=task_id, url=result.url, path=str(result.path) if result.path else None)
            await self._progress(slot, "done")
            return BatchOutcome(index=index, key=key, item=item, task_id=task_id, result=result)
        except NanoBananaError as exc:
            if task_id is not None:
                exc.task_id = task_id
            uncertain = task_id is None and create_sent and may_have_acted(exc)
            self._record(
                key,
                "failed",
                task_id=task_id,
                error=str(exc),
                error_type=type(exc).__name__,
                uncertain=uncertain or None,
            )
            await self._progress(slot, "failed")
            return BatchOutcome(index=index, key=key, item=item, task_id=task_id, error=exc)

    def _resume(self, index: int, key: str, item: BatchItem, entry: Entry | None) -> BatchOutcome | None:
        """The outcome of an item an earlier run settled, or None when it must (still) run."""
        if entry is None:
            return None
        if entry.event == "done" and entry.url and entry.task_id:
            path = Path(entry.path) if entry.path else None
            if path is None or path.exists():
                status_stub = {"taskId": entry.task_id, "generations": [{"status": "succeed", "url": entry.url}]}
                result = GenerationResult.model_validate(
                    {"task_id": entry.task_id, "url": entry.url, "path": path, "status": status_stub}
                )
                return BatchOutcome(index=index, key=key, item=item, task_id=entry.task_id, result=result, resumed=True)
            return None  # the file is gone: fetch it again (re-attaching to the task)
        if entry.event == "failed" and entry.error_type == "GenerationFailedError" and not self._retry_failed:
            error = NanoBananaError(entry.error or "the generation failed in an earlier run")
            error.task_id = entry.task_id
            return BatchOutcome(index=index, key=key, item=item, task_id=entry.task_id, error=error, resumed=True)
        uncertain = entry.task_id is None and (entry.event == "creating" or entry.uncertain)
        if uncertain and not self._retry_uncertain:
            error = NanoBananaError(
                f"Batch item {key!r}: an earlier run sent its create request but stopped before the answer, so "
                "the task may exist (and be charged). Check your history on the website; to create it again "
                "anyway, run with retry_uncertain=True (CLI: --retry-uncertain)."
            )
            return BatchOutcome(index=index, key=key, item=item, error=error, resumed=True)
        return None


def read_batch_file(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Read a JSONL batch file: one `BatchItem` (a JSON object, or a JSON string as the prompt) per line.

    Blank lines and lines starting with ``#`` are skipped. Relative image paths are resolved against the
    file's folder.

    Raises:
        InvalidInputError: The file is missing or a line is not a valid item (the message names the line).
    """
    source = Path(path).expanduser()
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInputError(f"cannot read batch file {str(source)!r}: {exc.strerror or exc}") from None
    items: list[BatchItem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(line)
            item = to_item(value)
        except (ValueError, InvalidInputError) as exc:
            raise InvalidInputError(f"{source}:{number}: {exc}") from None
        images = tuple(
            image if "://" in image or Path(image).is_absolute() else str(source.parent / image)
            for image in item.images
        )
        items.append(item.model_copy(update={"images": images}))
    return items

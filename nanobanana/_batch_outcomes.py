"""Batch outcomes: one per item, and the outcomes an earlier run settled, rebuilt from its journal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._batch_items import BatchItem
from ._exceptions import GenerationFailedError, NanoBananaError, UncertainCreateError
from ._journal import Entry
from .types import GenerationResult


def _error_classes(root: type[NanoBananaError]) -> dict[str, type[NanoBananaError]]:
    """Every error class by name: the public tree under ``root``."""
    found = {root.__name__: root}
    for sub in root.__subclasses__():
        found.update(_error_classes(sub))
    return found


# Attributes of the error classes that held live objects of the earlier run; a rebuilt error has them as None.
_UNRECORDED = ("method", "url", "body", "headers", "status", "last_status", "timeout", "request_sent", "retry_after")


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
        error: The error, on failure. A failure settled in an earlier run comes back as the same error class,
            with its message and task id; an item whose create may have reached the server without an answer
            comes back, after a resume, as `UncertainCreateError`; an item never started because the batch
            stopped early as `BatchAbortedError`.
        resumed: True when the outcome comes from the journal of an earlier run.
        uncertain: True when the item's create may have reached the server although no task id came back (the
            task may exist and be charged): do not simply run it again.
    """

    index: int
    key: str
    item: BatchItem | None
    task_id: str | None = None
    result: GenerationResult | None = None
    error: NanoBananaError | None = None
    resumed: bool = False
    uncertain: bool = False

    @property
    def ok(self) -> bool:
        """True on success."""
        return self.result is not None


def rebuilt_error(entry: Entry) -> NanoBananaError:
    """The error a journal recorded, as its own class again, with its message, task id and recorded details.

    Classes this package does not know (a newer version's) come back as `NanoBananaError`.
    """
    cls = _error_classes(NanoBananaError).get(entry.error_type or "", NanoBananaError)
    error = cls.__new__(cls)
    NanoBananaError.__init__(error, entry.error or f"{entry.error_type or 'an error'} in an earlier run")
    for name in _UNRECORDED:
        setattr(error, name, None)
    error.task_id = entry.task_id
    if entry.status_code is not None:
        setattr(error, "status_code", entry.status_code)  # noqa: B010 - not every class declares it
    if issubclass(cls, GenerationFailedError):
        setattr(error, "fail_msg", entry.fail_msg or "")  # noqa: B010
    return error


def _done_outcome(index: int, item: BatchItem, entry: Entry) -> BatchOutcome | None:
    if not (entry.url and entry.task_id):
        return None
    path = Path(entry.path) if entry.path else None
    if path is not None and not path.exists():
        return None  # the file is gone: fetch it again (re-attaching to the task)
    status_stub = {"taskId": entry.task_id, "generations": [{"status": "succeed", "url": entry.url}]}
    result = GenerationResult.model_validate(
        {"task_id": entry.task_id, "url": entry.url, "path": path, "status": status_stub}
    )
    return BatchOutcome(index=index, key=entry.key, item=item, task_id=entry.task_id, result=result, resumed=True)


def is_uncertain(entry: Entry) -> bool:
    """Whether the item's last create may have reached the server with no task id known."""
    return entry.task_id is None and (entry.event == "creating" or entry.uncertain)


def settled_outcome(
    index: int, item: BatchItem, entry: Entry | None, *, retry_failed: bool, retry_uncertain: bool
) -> BatchOutcome | None:
    """The outcome of an item an earlier run settled, or None when it must (still) run."""
    if entry is None:
        return None
    if entry.event == "done":
        return _done_outcome(index, item, entry)
    if entry.event == "failed" and entry.error_type == GenerationFailedError.__name__ and not retry_failed:
        error = rebuilt_error(entry)
        return BatchOutcome(index=index, key=entry.key, item=item, task_id=entry.task_id, error=error, resumed=True)
    if is_uncertain(entry) and not retry_uncertain:
        cause = entry.error_type if entry.event == "failed" else None
        error = UncertainCreateError(entry.key, cause_type=cause, sent_at=entry.sent_at)
        return BatchOutcome(index=index, key=entry.key, item=item, error=error, resumed=True, uncertain=True)
    return None


def reusable_task(entry: Entry | None) -> str | None:
    """The task an item should follow instead of creating one: an earlier run's, unless that one failed."""
    if entry is None or entry.error_type == GenerationFailedError.__name__:
        return None
    return entry.task_id

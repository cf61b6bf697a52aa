"""A read-only view of a batch from its journal (and batch file): each item's state, for status and reports.

It reads the journal as other tools may: line by line, keeping what it knows (``key``, ``event``, ``time``,
``index``, ``task_id``, ``url``, ``path``, ``error``, ``error_type``, ``uncertain``) and ignoring unknown
events and extra fields, so journals of newer versions still read. It takes no lock: a batch may be running.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ._batch import BatchItem, read_batch_file
from ._exceptions import InvalidInputError

State = Literal["done", "failed", "uncertain", "running", "sent", "not started"]
"""An item's state: ``running`` has a task id, ``sent`` was being created when its run stopped."""

STATES: tuple[State, ...] = ("done", "failed", "uncertain", "running", "sent", "not started")
_EVENTS = ("creating", "created", "done", "failed")
_JOURNAL_SUFFIX = ".journal.jsonl"


@dataclass(frozen=True)
class ItemView:
    """One item as the journal (and batch file) tell it.

    Attributes:
        key: The journal key (the item's ``id``, or its position and a hash).
        state: Where the item stands.
        index: The item's position in the batch file, when known.
        prompt: The prompt, when the batch file (or the journal) gives it.
        images: The input images: local paths (resolved) or URLs.
        task_id: The server's task id, once created.
        url: The result's URL, when done.
        path: Where the result was saved, when done.
        error: The error message, when failed.
        error_type: The error's class name, when failed.
        started: When the item's last create began.
        finished: When the item ended (done or failed).
    """

    key: str
    state: State = "not started"
    index: int | None = None
    prompt: str | None = None
    images: tuple[str, ...] = ()
    task_id: str | None = None
    url: str | None = None
    path: str | None = None
    error: str | None = None
    error_type: str | None = None
    started: datetime | None = None
    finished: datetime | None = None

    @property
    def seconds(self) -> float | None:
        """Seconds from the last create to the end, when both are known."""
        if self.started is None or self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


@dataclass(frozen=True)
class BatchView:
    """Every item of a batch, in batch order (items only in the journal come after, in journal order).

    Attributes:
        journal: The journal read.
        items: The items.
        running: A batch run holds the journal now: its ``sent`` items are being created, not lost.
    """

    journal: Path
    items: list[ItemView] = field(default_factory=list)
    running: bool = False

    def counts(self) -> dict[State, int]:
        """Items per state, every state present (zeros included), in `STATES` order."""
        seen = Counter(item.state for item in self.items)
        return {state: seen[state] for state in STATES}

    def unsettled(self) -> list[ItemView]:
        """The items that failed or whose create may have reached the server: the ones to look at.

        While a run holds the journal, items ``sent`` are being created, not lost, and are not listed.
        """
        states = ("failed", "uncertain") if self.running else ("failed", "uncertain", "sent")
        return [item for item in self.items if item.state in states]


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _apply(item: ItemView, record: dict[str, Any]) -> ItemView:
    """The item after one journal event."""
    event, at = record["event"], _time(record.get("time"))
    known = {name: record[name] for name in ("task_id", "url", "path", "error", "error_type") if record.get(name)}
    if isinstance(record.get("index"), int):
        known["index"] = record["index"]
    if isinstance(record.get("prompt"), str):
        known["prompt"] = record["prompt"]
    if event == "creating":
        # A new attempt: what an earlier, failed task said no longer applies.
        fresh = ItemView(key=item.key, index=item.index, prompt=item.prompt, images=item.images)
        return replace(fresh, state="sent", started=at, **known)
    if event == "created":
        return replace(item, state="running", **known)
    if event == "done":
        return replace(item, state="done", finished=at, error=None, error_type=None, **known)
    uncertain = bool(record.get("uncertain")) and not (known.get("task_id") or item.task_id)
    return replace(item, state="uncertain" if uncertain else "failed", finished=at, **known)


def read_journal(path: str | os.PathLike[str]) -> dict[str, ItemView]:
    """Every item the journal at ``path`` knows, by key, in the order first seen.

    Raises:
        InvalidInputError: The journal cannot be read.
    """
    source = Path(path).expanduser()
    try:
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InvalidInputError(f"cannot read the journal {str(source)!r}: {exc.strerror or exc}") from None
    items: dict[str, ItemView] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(record, dict) and record.get("event") in _EVENTS and record.get("key") is not None:
            key = str(record["key"])
            items[key] = _apply(items.get(key, ItemView(key=key)), record)
    return items


def _looks_like_items(path: Path) -> bool:
    """Whether a file without journal events holds batch items instead (a prompt on its first object line)."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                record = json.loads(line)
            except ValueError:
                return False
            return isinstance(record, (dict, str)) and (isinstance(record, str) or "prompt" in record)
    return False


def is_in_use(journal: Path) -> bool:
    """Whether a batch run holds the journal's lock now (POSIX only; elsewhere, False)."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return False
    import fcntl

    with open(journal, "rb") as file:
        try:
            # A shared lock is refused while a run holds its exclusive one, and disturbs no run when granted.
            fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)
    return False


def default_batch_file(journal: Path) -> Path | None:
    """The batch file a journal was named after (``jobs.jsonl`` for ``jobs.jsonl.journal.jsonl``), if it exists."""
    if journal.name.endswith(_JOURNAL_SUFFIX):
        candidate = journal.with_name(journal.name[: -len(_JOURNAL_SUFFIX)])
        if candidate.is_file():
            return candidate
    return None


def view_batch(journal: str | os.PathLike[str], batch_file: str | os.PathLike[str] | None = None) -> BatchView:
    """The batch as its journal and batch file (given, or found by `default_batch_file`) tell it.

    Raises:
        InvalidInputError: The journal or the batch file cannot be read.
    """
    source = Path(journal).expanduser()
    recorded = read_journal(source)
    if not recorded and _looks_like_items(source):
        raise InvalidInputError(f"{str(source)!r} looks like a batch file, not its journal; pass the journal")
    batch = Path(batch_file).expanduser() if batch_file is not None else default_batch_file(source)
    items = merge(read_batch_file(batch) if batch is not None else [], recorded)
    return BatchView(source, items, running=is_in_use(source))


def merge(items: list[BatchItem], recorded: dict[str, ItemView]) -> list[ItemView]:
    """The batch file's items with what the journal recorded of them, then the journal's other items."""
    merged = []
    left = dict(recorded)
    for index, item in enumerate(items):
        key = item.key(index)
        known = left.pop(key, ItemView(key=key))
        images = tuple(item.image_urls) + tuple(item.images)
        merged.append(replace(known, index=index, prompt=item.prompt, images=images))
    return merged + list(left.values())

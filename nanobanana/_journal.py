"""The batch journal: an append-only JSONL file that lets a crashed batch resume without paying twice.

The format (version 2) is documented for other tools in ``docs/reference/journal.md``. The first line is a
header naming the format version and the batch; each further line is one event, written and flushed before the
batch moves on:

- ``creating``: the create request is about to be sent (so a crash right after it is known to be uncertain);
- ``created``: the server answered with a task id;
- ``done``: the result is saved (url, path);
- ``failed``: the item ended in an error (with ``uncertain`` when the task may exist on the server anyway);
- ``upload``: an input image was uploaded (its sha256 and hosted URL), so a resumed batch does not upload it
  again.

Reading keeps the last event of each item; a line cut short by a crash is ignored. A journal without a header
(written before headers existed) is read as version 1; a newer version, or a journal written by another batch,
is refused. Flushed lines survive the process being killed (``kill -9``); pass ``fsync=True`` to survive a
power cut too, at a cost per line. An exclusive lock on the file refuses a second run on the same journal while
the first is alive.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal, get_args

from ._exceptions import InvalidInputError, JournalLockedError

logger = logging.getLogger("nanobanana")

Event = Literal["creating", "created", "done", "failed"]
_ITEM_EVENTS = frozenset(get_args(Event))

VERSION = 2
"""The format version this package writes; it reads every version up to it."""


@dataclass(frozen=True)
class Entry:
    """The last known state of one item, as read from the journal.

    ``digest`` (the item's content hash), ``sent_at`` (when its last create was sent) and ``task_id`` carry over
    from the item's earlier events.
    """

    key: str
    event: Event
    time: str | None = None
    sent_at: str | None = None
    task_id: str | None = None
    digest: str | None = None
    url: str | None = None
    path: str | None = None
    error: str | None = None
    error_type: str | None = None
    status_code: int | None = None
    fail_msg: str | None = None
    uncertain: bool = False


def _lock(file: IO[str], path: Path) -> None:
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        file.close()
        raise JournalLockedError(
            f"the journal {str(path)!r} is in use by another batch run; wait for it to finish or use another file"
        ) from None


def _open(path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Bytes that are not UTF-8 (a disk fault) make their line unreadable JSON, skipped like a line cut short.
        return open(path, "a+", encoding="utf-8", errors="replace")  # held open for the run, so it stays locked
    except OSError as exc:
        raise InvalidInputError(f"cannot open the journal {str(path)!r}: {exc.strerror or exc}") from None


def _carried_task_id(event: Event, previous: Entry | None) -> str | None:
    """The task id an event without one inherits from the item's previous event.

    A ``creating`` event starts a new task (a failed one being replaced), so it inherits nothing: a crash
    before its ``created`` must leave the item uncertain, not attached to the old, failed task.
    """
    if event == "creating" or previous is None:
        return None
    return previous.task_id


def _text(record: Mapping[str, Any], name: str) -> str | None:
    """A text field, or None when absent or not text (a journal edited by hand is read, not trusted)."""
    value = record.get(name)
    return value if isinstance(value, str) and value else None


def _entry(record: Mapping[str, Any], previous: Entry | None) -> Entry:
    event: Event = record["event"]
    status_code = record.get("status_code")
    return Entry(
        key=str(record["key"]),
        event=event,
        time=_text(record, "time"),
        sent_at=_text(record, "time") if event == "creating" else (previous.sent_at if previous else None),
        task_id=_text(record, "task_id") or _carried_task_id(event, previous),
        digest=_text(record, "digest") or (previous.digest if previous else None),
        url=_text(record, "url"),
        path=_text(record, "path"),
        error=_text(record, "error"),
        error_type=_text(record, "error_type"),
        status_code=status_code if isinstance(status_code, int) and not isinstance(status_code, bool) else None,
        fail_msg=_text(record, "fail_msg"),
        uncertain=record.get("uncertain") is True,
    )


class Journal:
    """An open, locked journal of one batch: `entries` and `uploads` from earlier runs, and `record` for this one.

    Args:
        path: The journal file (created if missing).
        fingerprint: The batch's fingerprint, written in a new journal's header.
        digests: Each item's content hash by key, to refuse a journal written by another batch.
        fsync: Sync every line to disk (survives a power cut, at a cost per line).

    Raises:
        JournalLockedError: Another run holds the journal.
        InvalidInputError: The journal cannot be opened, has a format version this package cannot read, or
            belongs to another batch.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, fingerprint: str, digests: Mapping[str, str], fsync: bool = False
    ) -> None:
        self.path = Path(path).expanduser()
        self._fsync = fsync
        self.version = 1
        self.fingerprint: str | None = None
        self.entries: dict[str, Entry] = {}
        self.uploads: dict[str, str] = {}
        self._file: IO[str] | None = _open(self.path)
        _lock(self._file, self.path)
        try:
            self._read()
            if self._file.tell() == 0:
                self._write({"event": "journal", "version": VERSION, "fingerprint": fingerprint, "items": len(digests)})
            elif fingerprint != self.fingerprint:
                self._check_belongs(digests)
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self._file is not None
        self._file.seek(0)
        for number, line in enumerate(self._file, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                # A crash can cut the last line short; anything else is worth a warning.
                logger.warning("Journal %s: ignoring unreadable line %d", self.path, number)
                continue
            if isinstance(record, dict):
                self._apply(record, first=number == 1)
        self._file.seek(0, os.SEEK_END)
        if self._file.tell() and not self._ends_with_newline():
            self._file.write("\n")

    def _apply(self, record: dict[str, Any], *, first: bool) -> None:
        event = record.get("event")
        if not isinstance(event, str):
            return
        if event == "journal" and first:
            self._read_header(record)
        elif event == "upload" and isinstance(record.get("digest"), str) and isinstance(record.get("url"), str):
            self.uploads[record["digest"]] = record["url"]
        elif event in _ITEM_EVENTS and isinstance(record.get("key"), str):
            key = record["key"]
            self.entries[key] = _entry(record, self.entries.get(key))

    def _read_header(self, record: Mapping[str, Any]) -> None:
        version = record.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
            raise InvalidInputError(
                f"the journal {str(self.path)!r} has format version {version!r}, which this version of nanobanana "
                f"cannot read (it reads 1 to {VERSION}); upgrade nanobanana, or use another journal file"
            )
        self.version = version
        fingerprint = record.get("fingerprint")
        self.fingerprint = fingerprint if isinstance(fingerprint, str) else None

    def _check_belongs(self, digests: Mapping[str, str]) -> None:
        """Refuse a journal whose items are not this batch's: re-attaching would return another batch's results.

        A resume may run a part of the batch (or the batch with items added), so the journal's items must match
        this batch's where their keys meet, and at least one must meet.
        """
        changed = sorted(
            key
            for key, entry in self.entries.items()
            if entry.digest and digests.get(key, entry.digest) != entry.digest
        )
        if changed or (self.entries and not any(key in digests for key in self.entries)):
            detail = f"items {', '.join(map(repr, changed[:5]))} differ" if changed else "none of its items are here"
            raise InvalidInputError(
                f"the journal {str(self.path)!r} was written by another batch ({detail}); resuming from it would "
                "re-attach to that batch's tasks. Use another journal file, or run the batch it was written for."
            )

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as raw:
            raw.seek(-1, os.SEEK_END)
            return raw.read(1) == b"\n"

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            raise RuntimeError("the journal is closed")
        record["time"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def record(self, key: str, event: Event, **fields: Any) -> None:
        """Append one event for item ``key`` and flush it (fields that are None are left out)."""
        record = {"key": key, "event": event, **{k: v for k, v in fields.items() if v is not None}}
        self._write(record)
        self.entries[key] = _entry(record, self.entries.get(key))

    def record_upload(self, digest: str, url: str) -> None:
        """Append an uploaded image (``sha256:<hex>`` of its bytes) and its hosted URL, and flush it."""
        self._write({"event": "upload", "digest": digest, "url": url})
        self.uploads[digest] = url

    def close(self) -> None:
        """Release the lock and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

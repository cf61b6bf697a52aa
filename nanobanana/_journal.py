"""The batch journal: an append-only JSONL file that lets a crashed batch resume without paying twice.

Each line is one event of one item, written and flushed before the batch moves on:

- ``creating``: the create request is about to be sent (so a crash right after it is known to be uncertain);
- ``created``: the server answered with a task id;
- ``done``: the result is saved (url, path);
- ``failed``: the item ended in an error (with ``uncertain`` when the task may exist on the server anyway).

Reading keeps the last event of each item; a line cut short by a crash is ignored. Flushed lines survive the
process being killed (``kill -9``); pass ``fsync=True`` to survive a power cut too, at a cost per line. An
exclusive lock on the file refuses a second run on the same journal while the first is alive.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

from ._exceptions import JournalLockedError

logger = logging.getLogger("nanobanana")

Event = Literal["creating", "created", "done", "failed"]

_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """The last known state of one item, as read from the journal."""

    key: str
    event: Event
    task_id: str | None = None
    url: str | None = None
    path: str | None = None
    error: str | None = None
    error_type: str | None = None
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


def _carried_task_id(event: Event, previous: Entry | None) -> str | None:
    """The task id an event without one inherits from the item's previous event.

    A ``creating`` event starts a new task (a failed one being replaced), so it inherits nothing: a crash
    before its ``created`` must leave the item uncertain, not attached to the old, failed task.
    """
    if event == "creating" or previous is None:
        return None
    return previous.task_id


class Journal:
    """An open, locked journal: `entries` from earlier runs, and `record` for this one."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path).expanduser()
        self._fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the run
        _lock(self._file, self.path)
        self.entries = self._read()
        if self._file.tell() == 0:
            self._write({"event": "journal", "version": _VERSION})

    def _read(self) -> dict[str, Entry]:
        assert self._file is not None
        self._file.seek(0)
        entries: dict[str, Entry] = {}
        for number, line in enumerate(self._file, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                # A crash can cut the last line short; anything else is worth a warning.
                logger.warning("Journal %s: ignoring unreadable line %d", self.path, number)
                continue
            if not isinstance(record, dict) or record.get("event") not in ("creating", "created", "done", "failed"):
                continue
            key = str(record.get("key"))
            previous = entries.get(key)
            entries[key] = Entry(
                key=key,
                event=record["event"],
                task_id=record.get("task_id") or _carried_task_id(record["event"], previous),
                url=record.get("url"),
                path=record.get("path"),
                error=record.get("error"),
                error_type=record.get("error_type"),
                uncertain=bool(record.get("uncertain", False)),
            )
        self._file.seek(0, os.SEEK_END)
        if self._file.tell() and not self._ends_with_newline():
            self._file.write("\n")
        return entries

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
        """Append one event for item ``key`` and flush it."""
        self._write({"key": key, "event": event, **{k: v for k, v in fields.items() if v is not None}})
        previous = self.entries.get(key)
        self.entries[key] = Entry(
            key=key,
            event=event,
            task_id=fields.get("task_id") or _carried_task_id(event, previous),
            url=fields.get("url"),
            path=fields.get("path"),
            error=fields.get("error"),
            error_type=fields.get("error_type"),
            uncertain=bool(fields.get("uncertain", False)),
        )

    def close(self) -> None:
        """Release the lock and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

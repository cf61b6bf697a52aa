"""Reading a batch journal as a test sees it: complete lines only (the last one may be mid-write)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def journal_records(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of the journal at ``path`` (none if it does not exist yet), in order."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # the line being written, or cut short by a kill
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def journal_events(path: Path, event: str) -> list[dict[str, Any]]:
    """The journal's records of one ``event`` (``created``, ``done``, ...), in order."""
    return [record for record in journal_records(path) if record.get("event") == event]


def last_record_per_key(path: Path) -> dict[str, dict[str, Any]]:
    """Each item's last complete record, by its ``key``."""
    return {record["key"]: record for record in journal_records(path) if "key" in record}

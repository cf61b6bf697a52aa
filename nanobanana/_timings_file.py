"""The learned run times on disk: a small JSON file beside the saved session, one section per API host.

Several processes may share it (the CLI runs one task per process). A save reads the file again, adds what this
process learned to its host's section, keeps the newest spans of each kind, and replaces the file atomically
(a temporary file, then ``os.replace``), so a reader never sees half a file; two saves at the same moment may
lose one's additions, never the file. A file that cannot be read or parsed counts as empty: timings only ever
make waits better, so they are never worth an error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._timing import WINDOW, Kind, Span

logger = logging.getLogger("nanobanana")

FILE_NAME = "timings.json"
_VERSION = 1


def path_beside(session_file: Path) -> Path:
    """Where the timings live for a client whose session file is ``session_file``."""
    return session_file.with_name(FILE_NAME)


def load(path: Path, host: str) -> dict[Kind, list[Span]]:
    """The spans saved for ``host``, oldest first; empty if the file is missing, unreadable or malformed."""
    section = _read(path).get(host)
    return _parse_section(section) if isinstance(section, dict) else {}


def save(path: Path, host: str, fresh: Mapping[Kind, Sequence[Span]]) -> None:
    """Add ``fresh`` spans to ``host``'s section of the file, keeping the newest `WINDOW` of each kind.

    Never raises: a file that cannot be written is logged and skipped.
    """
    if not any(fresh.values()):
        return
    hosts = _read(path)
    section = hosts.get(host)
    spans = _parse_section(section) if isinstance(section, dict) else {}
    for kind, added in fresh.items():
        spans[kind] = [*spans.get(kind, []), *added][-WINDOW:]
    hosts[host] = {
        f"{resolution}/{images}": [list(span) for span in kept] for (resolution, images), kept in spans.items()
    }
    try:
        _write_atomically(path, json.dumps({"version": _VERSION, "hosts": hosts}, separators=(",", ":")))
    except OSError as exc:
        logger.info("Could not save the learned task timings to %s: %s", path, exc)


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    hosts = data.get("hosts") if isinstance(data, dict) and data.get("version") == _VERSION else None
    return dict(hosts) if isinstance(hosts, dict) else {}


def _parse_section(section: Mapping[object, object]) -> dict[Kind, list[Span]]:
    """The valid kinds and spans of one host's section; anything malformed is dropped."""
    parsed: dict[Kind, list[Span]] = {}
    for key, spans in section.items():
        resolution, _, images = str(key).rpartition("/")
        if not resolution or not images.lstrip("-").isdigit() or not isinstance(spans, list):
            continue
        parsed[(resolution, int(images))] = [span for span in map(_span, spans) if span is not None][-WINDOW:]
    return parsed


def _span(item: object) -> Span | None:
    if not isinstance(item, list) or len(item) != 2:
        return None
    low, high = item
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e6 for v in (low, high)):
        return None
    return (float(low), float(high)) if low <= high else None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

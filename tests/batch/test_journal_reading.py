"""Reading a journal: whatever a file holds, the batch gets its entries or an `InvalidInputError`, nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nanobanana import InvalidInputError
from nanobanana._journal import Journal

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
_fields = st.sampled_from(["key", "event", "task_id", "url", "path", "digest", "error", "version", "uncertain"])
_events = st.sampled_from(["journal", "creating", "created", "done", "failed", "upload", "other"])
_records = st.dictionaries(_fields, _json | _events, max_size=6)
_lines = st.lists(st.one_of(_records.map(json.dumps), st.binary(max_size=20).map(repr)), max_size=8)


def _open(content: bytes) -> Journal | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.jsonl"
        path.write_bytes(content)
        try:
            journal = Journal(path, fingerprint="sha256:x", digests={"item-0": "d"})
        except InvalidInputError:
            return None
        journal.close()
        return journal


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_journal_or_invalid_input(content: bytes) -> None:
    _open(content)


@settings(max_examples=150, deadline=None)
@given(_lines)
def test_any_json_lines_give_a_journal_or_invalid_input(lines: list[str]) -> None:
    journal = _open("\n".join(lines).encode())
    if journal is not None:
        for entry in journal.entries.values():
            assert entry.task_id is None or isinstance(entry.task_id, str)
            assert entry.url is None or isinstance(entry.url, str)


def test_a_line_with_bytes_that_are_not_utf8_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    good: dict[str, Any] = {"key": "item-0", "event": "created", "task_id": "t-1"}
    path.write_bytes(b'{"key": "item-0", "event": "creating"}\n\xff\xfe garbage\n' + json.dumps(good).encode() + b"\n")
    journal = Journal(path, fingerprint="sha256:x", digests={"item-0": "d"})
    journal.close()
    assert journal.entries["item-0"].task_id == "t-1"

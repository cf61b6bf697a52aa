"""Writing a journal: a closed journal refuses every line, and ``fsync=True`` syncs each line once it is whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import journal_records

from nanobanana._journal import Journal


def _open(path: Path, *, fsync: bool = False) -> Journal:
    return Journal(path, fingerprint="sha256:x", digests={"item-0": "d"}, fsync=fsync)


def test_recording_after_close_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """A refusal, not a silent no-op: the batch records ``creating`` before it sends a create, so a run whose
    journal is gone must not send one it could not record (a resume would send it again)."""
    path = tmp_path / "run.jsonl"
    journal = _open(path)
    journal.record("item-0", "creating", index=0)
    journal.close()
    before = path.read_bytes()

    with pytest.raises(RuntimeError, match="the journal is closed"):
        journal.record("item-0", "created", task_id="t-1")
    with pytest.raises(RuntimeError, match="the journal is closed"):
        journal.record_upload("sha256:abc", "http://127.0.0.1/a.png")

    assert path.read_bytes() == before
    assert journal.entries["item-0"].event == "creating"
    assert journal.uploads == {}


def test_closing_twice_is_harmless_and_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    journal = _open(path)
    journal.close()
    journal.close()

    again = _open(path)  # the lock is free: a second run may open it
    again.close()
    assert [r["event"] for r in journal_records(path)] == ["journal"]


def test_fsync_syncs_every_line_after_it_is_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.jsonl"
    real_fsync = os.fsync
    lines_on_disk_at_each_sync: list[int] = []

    def counting_fsync(fd: int) -> None:
        assert os.fstat(fd).st_ino == path.stat().st_ino  # the journal's own file
        # Read through another file object: what the OS holds, not the journal's buffer.
        lines_on_disk_at_each_sync.append(len(path.read_bytes().splitlines()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    journal = _open(path, fsync=True)
    journal.record("item-0", "creating", index=0)
    journal.record_upload("sha256:abc", "http://127.0.0.1/a.png")
    journal.record("item-0", "created", task_id="t-1")
    journal.close()

    assert lines_on_disk_at_each_sync == [1, 2, 3, 4]  # the header and three records, each synced once
    assert [r["event"] for r in journal_records(path)] == ["journal", "creating", "upload", "created"]


def test_without_fsync_no_line_is_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    path = tmp_path / "run.jsonl"
    journal = _open(path)
    journal.record("item-0", "creating", index=0)
    journal.close()

    assert synced == []
    assert [r["event"] for r in journal_records(path)] == ["journal", "creating"]

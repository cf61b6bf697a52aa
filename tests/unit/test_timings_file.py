"""The learned timings on disk: per host, merged across processes, and never an error when the file is bad."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from nanobanana._timing import WINDOW, kind_of
from nanobanana._timings_file import FILE_NAME, load, save

HOST = "http://127.0.0.1:8000"
KIND = kind_of("1K", 2)


def test_saved_spans_load_back_for_the_same_host_only(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    save(path, HOST, {KIND: [(35.0, 35.0), (30.0, 33.5)]})
    assert load(path, HOST) == {KIND: [(35.0, 35.0), (30.0, 33.5)]}
    assert load(path, "http://localhost:9000") == {}


def test_a_save_adds_to_what_other_processes_saved(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    save(path, HOST, {KIND: [(1.0, 1.0)]})
    save(path, HOST, {KIND: [(2.0, 2.0)]})
    assert load(path, HOST) == {KIND: [(1.0, 1.0), (2.0, 2.0)]}


def test_a_save_keeps_only_the_newest_window(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    save(path, HOST, {KIND: [(float(i), float(i)) for i in range(WINDOW + 5)]})
    spans = load(path, HOST)[KIND]
    assert len(spans) == WINDOW
    assert spans[0] == (5.0, 5.0)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        "[1, 2]",
        '{"version": 99, "hosts": {}}',
        '{"version": 1, "hosts": []}',
        '{"version": 1, "hosts": {"http://127.0.0.1:8000": {"1K/2": [[5, 1], "x", [NaN, 1], [true, 2]]}}}',
        '{"version": 1, "hosts": {"http://127.0.0.1:8000": {"nonsense": [[1, 2]]}}}',
    ],
)
def test_a_corrupt_file_reads_as_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(content, encoding="utf-8")
    assert not any(load(path, HOST).values())


def test_a_corrupt_file_is_replaced_by_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(b"\x00\xff garbage")
    save(path, HOST, {KIND: [(3.0, 3.0)]})
    assert load(path, HOST) == {KIND: [(3.0, 3.0)]}


def test_a_file_that_cannot_be_written_is_skipped_without_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    save(blocker / FILE_NAME, HOST, {KIND: [(3.0, 3.0)]})


def _save_many(path: str, worker: int) -> None:
    for i in range(25):
        save(Path(path), HOST, {kind_of("1K", worker % 4): [(float(worker), float(i))]})


def test_concurrent_writers_never_leave_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_save_many, args=(str(path), w)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    assert [process.exitcode for process in workers] == [0, 0, 0]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert load(path, HOST)
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temporary file left behind

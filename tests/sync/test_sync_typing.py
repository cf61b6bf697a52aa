"""What mypy sees of the blocking client: the async client's parameters, blocking return types."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

SNIPPET = """
from pathlib import Path
from typing_extensions import assert_type
from nanobanana import BatchOutcome, GenerationResult, SessionInfo, SyncNanoBanana, Task, TaskStatus

client = SyncNanoBanana(base_url="http://127.0.0.1:8000", max_concurrency=4, wait_timeout=None)
assert_type(client.generate("p", images=["a.png"], output="out.png", resolution="2K"), GenerationResult)
assert_type(client.create("p", image_urls=["u"]), Task)
assert_type(client.status("t"), TaskStatus)
assert_type(client.wait("t", timeout=1.0, on_update=print), TaskStatus)
assert_type(client.download("u"), bytes)
assert_type(client.download("u", "out.png"), Path)
assert_type(client.upload(b"..."), str)
assert_type(client.generate_batch(["p"], concurrency=2), list[BatchOutcome])
assert_type(client.login("e", "123456", save=True), SessionInfo)
assert_type(client.whoami(), SessionInfo | None)
with client as same:
    assert_type(same, SyncNanoBanana)
SyncNanoBanana(max_concurency=4)
SyncNanoBanana(max_concurrency="4")
client.generate("p", resolution="8K")
"""


def test_mypy_sees_the_async_clients_parameters_and_blocking_results(tmp_path: Path) -> None:
    source = tmp_path / "uses_sync_client.py"
    source.write_text(textwrap.dedent(SNIPPET), encoding="utf-8")
    out, _, _ = api.run([str(source), "--strict", "--no-error-summary", "--hide-error-context"])
    errors = [line.split(": error: ")[1] for line in out.splitlines() if ": error: " in line]
    assert [error.split('"')[1] for error in errors] == ["max_concurency", "max_concurrency", "resolution"], out

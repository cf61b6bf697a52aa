"""The batch runs over the steps a client hands it: no import of the client, no reach into its privates."""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import nanobanana
from nanobanana._batch import BatchRun
from nanobanana._batch_steps import ClientSteps, Prepared, UploadMemory
from nanobanana._batch_uploads import BatchUploads
from nanobanana.types import GenerationRequest, GenerationResult, Task, TaskStatus

PACKAGE = Path(nanobanana.__file__).parent
BATCH_MODULES = [*sorted(PACKAGE.glob("_batch*.py")), PACKAGE / "_journal.py"]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_batch_module_imports_the_client() -> None:
    for path in BATCH_MODULES:
        assert not {name for name in _imported_modules(path) if name.endswith("_client")}, path.name


def test_no_batch_module_calls_a_private_member_of_another_object() -> None:
    for path in BATCH_MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                where = f"{path.name}:{node.lineno}"
                assert isinstance(owner, ast.Name), where
                assert owner.id in ("self", "cls"), where


class FakeSteps:
    """Steps of a generation without any server: every task succeeds at once."""

    def __init__(self) -> None:
        self.created: list[str] = []

    async def prepare(
        self, request: GenerationRequest, images: Sequence[str], uploads: UploadMemory | None = None, /
    ) -> Prepared:
        return Prepared(request)

    async def create(self, prepared: Prepared) -> Task:
        self.created.append(prepared.request.prompt)
        return Task(task_id=f"task-{len(self.created)}")

    async def wait(self, task_id: str, *, timeout: float | None, initial_delay: float | None = None) -> TaskStatus:
        return TaskStatus.model_validate(
            {"taskId": task_id, "generations": [{"status": "succeed", "url": "http://127.0.0.1/r.png"}]}
        )

    async def fetch(self, task_id: str, final: TaskStatus, output: Path | None) -> GenerationResult:
        return GenerationResult(task_id=task_id, url="http://127.0.0.1/r.png", content=b"png", status=final)

    def steps(self) -> ClientSteps:
        return ClientSteps(prepare=self.prepare, create=self.create, wait=self.wait, fetch=self.fetch)


async def test_a_batch_runs_over_the_steps_it_is_given() -> None:
    fake = FakeSteps()
    run = BatchRun(
        fake.steps(),
        ["one", "two"],
        concurrency=2,
        output_dir=None,
        journal=None,
        on_progress=None,
        timeout=None,
        retry_failed=False,
        retry_uncertain=False,
    )
    outcomes = await run
    assert [o.ok for o in outcomes] == [True, True]
    assert sorted(fake.created) == ["one", "two"]


class CountingMemory:
    """A client's upload memory that knows one image already."""

    def __init__(self, known: bytes) -> None:
        self.known = known
        self.asked = 0

    async def hosted(self, data: bytes, upload: Callable[[], Awaitable[str]]) -> str:
        self.asked += 1
        return "http://127.0.0.1/known.png" if data == self.known else await upload()


async def test_the_batch_asks_the_clients_upload_memory_about_images_its_journal_lacks(tmp_path: Path) -> None:
    memory = CountingMemory(b"known bytes")
    uploads = BatchUploads(None, fallback=memory)
    uploaded: list[bytes] = []

    async def upload() -> str:
        uploaded.append(b"new bytes")
        return "http://127.0.0.1/new.png"

    assert await uploads.hosted(b"known bytes", upload) == "http://127.0.0.1/known.png"
    assert await uploads.hosted(b"known bytes", upload) == "http://127.0.0.1/known.png"
    assert await uploads.hosted(b"new bytes", upload) == "http://127.0.0.1/new.png"
    assert memory.asked == 2  # once per distinct image: the batch remembers the rest
    assert uploaded == [b"new bytes"]

"""What a batch needs of a client: the steps of one generation, handed to the batch by the client that owns them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ._inputs import UploadedInput
from ._telemetry import Telemetry
from .types import GenerationRequest, GenerationResult, Task, TaskStatus


class UploadMemory(Protocol):
    """Hosted URLs of images already uploaded, by a hash of their bytes, so the same bytes are uploaded once."""

    def hosted(self, data: bytes, upload: Callable[[], Awaitable[str]]) -> Awaitable[str]:
        """The hosted URL of ``data``: one remembered, else the one ``upload()`` returns (then remembered)."""
        ...

    def renew(self, data: bytes, stale: str, upload: Callable[[], Awaitable[str]]) -> Awaitable[str]:
        """A hosted URL of ``data`` other than ``stale``, which the service no longer has.

        ``stale`` is forgotten and ``upload()``'s URL remembered in its place; callers renewing the same stale
        URL at once share one upload, and one renewed already is returned without uploading.
        """
        ...


@dataclass(frozen=True)
class Prepared:
    """A request ready to create: every input URL in order, and how to upload its local inputs again.

    Attributes:
        request: The request with the uploaded inputs' URLs appended.
        uploaded: The local inputs and the URLs they were uploaded to.
        uploads: The memory they were uploaded through (None: the client's own cache), which an upload
            again updates.
    """

    request: GenerationRequest
    uploaded: tuple[UploadedInput, ...] = ()
    uploads: UploadMemory | None = None


class PrepareStep(Protocol):
    """Checks and uploads an item's local images, returning the request with every input URL in order."""

    def __call__(
        self, request: GenerationRequest, images: Sequence[str], uploads: UploadMemory | None = None, /
    ) -> Awaitable[Prepared]: ...


class WaitStep(Protocol):
    """Waits for a task to finish; ``initial_delay`` None means a task just created (the first poll comes later)."""

    def __call__(
        self, task_id: str, *, timeout: float | None, initial_delay: float | None = None
    ) -> Awaitable[TaskStatus]: ...


@dataclass(frozen=True)
class ClientSteps:
    """The client's steps of one generation, as a batch runs them; `NanoBanana.generate_batch` hands them over.

    Attributes:
        prepare: Upload local inputs (through an `UploadMemory` when given).
        create: Create the task of a prepared request. Refused because an uploaded input is gone, it uploads
            that input again (through the prepared request's memory, which then remembers the new URL) and
            sends the create once more.
        wait: Wait for the task to finish.
        fetch: Download a finished task's result to a file (or into memory, for None).
        uploads: The client's own memory of uploads, if it keeps one: the batch asks it about images its
            journal does not know, so bytes the client uploaded before are not uploaded again.
        telemetry: The client's telemetry, for one span over the batch with each item's generation under it;
            None records none.
    """

    prepare: PrepareStep
    create: Callable[[Prepared], Awaitable[Task]]
    wait: WaitStep
    fetch: Callable[[str, TaskStatus, Path | None], Awaitable[GenerationResult]]
    uploads: UploadMemory | None = None
    telemetry: Telemetry | None = None

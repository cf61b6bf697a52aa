"""What the emulator remembers: sessions, sign-in codes, files, tasks and the requests it saw."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ._config import EmulatorConfig
from ._durations import Durations


def iso(moment: datetime) -> str:
    """A timestamp the way the API writes it: ``2026-01-06T00:27:41.744Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator received.

    Attributes:
        host: ``"api"`` or ``"files"``.
        endpoint: The endpoint name (``create``, ``status``, ``upload``, ``download``, ``csrf``, ...).
        method: The HTTP method.
        path: The decoded path.
        headers: The request's headers (the last value of a repeated header).
        body: The parsed JSON or form body, if any (uploads: the field names and file sizes).
        at: ``time.monotonic()`` when it arrived.
    """

    host: str
    endpoint: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies the request carried."""
        jar: dict[str, str] = {}
        for part in self.headers.get("Cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value
        return jar


@dataclass
class EmulatedTask:
    """A task the emulator created, and the plan it follows.

    Its state is derived from the clock at each status call (O(1), nothing runs in the background).

    Attributes:
        task_id: The id answered by create.
        owner: The e-mail of the session that created it (None when sign-in is not required).
        request: The create request's JSON body, as received.
        created: When it was created (wall clock).
        started: ``time.monotonic()`` at creation.
        finish_after: Seconds from creation to the final state.
        states: The running state words.
        fails: Whether it ends in failure.
        failure_state: The state word of the failure.
        failure_message: Its ``failMsg``.
        result_path: The path of the result on the file host.
        forced_failure: Set by `Emulator.finish`: the task is over now, failed (True) or not (False).
    """

    task_id: str
    owner: str | None
    request: dict[str, Any]
    created: datetime
    started: float
    finish_after: float
    states: tuple[str, ...]
    fails: bool
    failure_state: str
    failure_message: str
    result_path: str
    forced_failure: bool | None = None

    def state_at(self, now: float) -> tuple[str, bool, float]:
        """``(state word, finished, seconds elapsed up to the last change)`` at monotonic time ``now``."""
        if self.forced_failure is not None:
            return (self.failure_state if self.forced_failure else "succeed"), True, now - self.started
        elapsed = now - self.started
        if elapsed >= self.finish_after:
            return (self.failure_state if self.fails else "succeed"), True, self.finish_after
        step = int(elapsed / self.finish_after * len(self.states))
        return self.states[min(step, len(self.states) - 1)], False, elapsed

    @property
    def failed(self) -> bool:
        """True when the task ended, or will end, in failure."""
        return self.forced_failure if self.forced_failure is not None else self.fails

    @property
    def prompt(self) -> str:
        """The prompt it was created with."""
        return str(self.request.get("prompt", ""))


@dataclass
class StoredFile:
    """A file on the emulated file host."""

    data: bytes
    content_type: str


@dataclass
class World:
    """Everything the emulator knows. One per `Emulator`; the web handlers read and change it."""

    config: EmulatorConfig
    rng: random.Random = field(default_factory=random.Random)
    sessions: dict[str, str] = field(default_factory=dict)
    login_codes: dict[str, str] = field(default_factory=dict)
    csrf_tokens: set[str] = field(default_factory=set)
    files: dict[str, StoredFile] = field(default_factory=dict)
    tasks: dict[str, EmulatedTask] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    uploads: list[str] = field(default_factory=list)
    uploaded_at: dict[str, float] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    rate_limited: int = 0

    def __post_init__(self) -> None:
        self.rng.seed(self.config.seed)

    def issue_token(self, email: str) -> str:
        token = secrets.token_urlsafe(32)
        self.sessions[token] = email
        return token

    def new_code(self, email: str) -> str:
        code = f"{self.rng.randrange(1_000_000):06d}"
        self.login_codes[email] = code
        return code

    def upload_gone(self, path: str) -> bool:
        """Whether ``path`` was uploaded and is gone: expired by `Emulator.expire_uploads`, or past its lifetime."""
        stored_at = self.uploaded_at.get(path)
        if stored_at is None:
            return False
        lifetime = self.config.upload_lifetime
        return path not in self.files or (lifetime is not None and time.monotonic() - stored_at >= lifetime)

    def create_task(self, owner: str | None, request: dict[str, Any]) -> EmulatedTask:
        config = self.config
        duration = self._draw_duration(config.finish_after)
        task_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        result_name = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        extension = str(request.get("output_format") or "png").lower()
        task = EmulatedTask(
            task_id=task_id,
            owner=owner,
            request=request,
            created=datetime.now(timezone.utc),
            started=time.monotonic(),
            finish_after=duration,
            states=config.states,
            fails=self.rng.random() < config.failure_rate,
            failure_state=config.failure_state,
            failure_message=config.failure_message,
            result_path=f"/nano-banana/{task_id}-{result_name}.{extension}",
        )
        self.tasks[task_id] = task
        self.results[task.result_path] = task_id
        return task

    def _draw_duration(self, finish: float | tuple[float, float] | Durations) -> float:
        if isinstance(finish, Durations):
            return finish.draw(self.rng, (time.monotonic() - self.started) / 60.0)
        return self.rng.uniform(*finish) if isinstance(finish, tuple) else float(finish)

    def generation(self, task: EmulatedTask, file_url: str) -> dict[str, Any]:
        """The status answer's ``generations[0]`` for ``task``, now."""
        word, finished, elapsed = task.state_at(time.monotonic())
        succeeded = finished and not task.failed
        return {
            "id": task.task_id,
            "createdDate": iso(task.created),
            "updatedDate": iso(task.created + timedelta(seconds=elapsed)),
            "status": word,
            "failMsg": task.failure_message if finished and task.failed else "",
            "url": file_url + task.result_path if succeeded else "",
            "mediaType": "image",
        }

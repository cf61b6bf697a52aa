"""Pydantic models of the API's answers: a created task, a task's status, the signed-in user.

Python names are snake_case; aliases match the wire exactly (``taskId``, ``failMsg``, ``createdDate``, ...).
Answers accept and keep fields this version does not know (``model_extra``), so a server that adds fields
never breaks parsing. They are strict only in what the SDK needs (a task id, a state word, a result URL): a
field it does not need that cannot be read keeps its default, and its raw value is set aside in ``unparsed``.
Public as `nanobanana.types`; this module imports nothing else of the package, so the errors can name them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)


class TaskState(str, enum.Enum):
    """The state of a task, parsed from the server's status word.

    Only ``waiting`` and ``succeed`` have been observed. Common synonyms map onto these members
    (``success`` -> ``SUCCEED``, ``fail`` -> ``FAILED``, ``running`` -> ``PROCESSING``, ...), and any other
    word becomes ``UNKNOWN`` instead of an error, so a new word from the server never breaks parsing. The raw
    word is always kept on the model that carried it (``status``).
    """

    WAITING = "waiting"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"
    ERROR = "error"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> TaskState:
        if isinstance(value, str):
            word = value.strip().lower()
            return _STATES.get(word) or _STATE_SYNONYMS.get(word, cls.UNKNOWN)
        return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        """True when the task will not change any more (succeeded or failed)."""
        return self in (TaskState.SUCCEED, TaskState.FAILED, TaskState.ERROR)

    @property
    def is_success(self) -> bool:
        """True when the task succeeded."""
        return self is TaskState.SUCCEED

    @property
    def is_failure(self) -> bool:
        """True when the task ended in failure."""
        return self in (TaskState.FAILED, TaskState.ERROR)


_STATE_SYNONYMS: dict[str, TaskState] = {
    "pending": TaskState.WAITING,
    "queued": TaskState.WAITING,
    "queue": TaskState.WAITING,
    "created": TaskState.WAITING,
    "starting": TaskState.PROCESSING,
    "running": TaskState.PROCESSING,
    "generating": TaskState.PROCESSING,
    "in_progress": TaskState.PROCESSING,
    "success": TaskState.SUCCEED,
    "succeeded": TaskState.SUCCEED,
    "completed": TaskState.SUCCEED,
    "complete": TaskState.SUCCEED,
    "fail": TaskState.FAILED,
    "failure": TaskState.FAILED,
    "errored": TaskState.ERROR,
    "canceled": TaskState.FAILED,
    "cancelled": TaskState.FAILED,
}


_STATES: dict[str, TaskState] = {member.value: member for member in TaskState}


def _state_of(word: str) -> TaskState:
    """The state a word names: a dict lookup for the API's own words, else the enum's lenient parsing."""
    # Read several times for every status (is it done, did it fail, its URL), so the common case skips Enum's call.
    state = _STATES.get(word)
    return state if state is not None else TaskState(word)


class _Answer(BaseModel):
    """Base of every model parsed from an answer: tolerant, keeps unknown fields."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)


class _LenientAnswer(_Answer):
    """An answer with fields the SDK does not need: an unreadable one keeps its default instead of failing.

    Attributes:
        unparsed: The fields this version could not read, by wire name, exactly as received (None when every
            field was read). Only fields the SDK does not need are set aside; their attributes keep defaults.
    """

    # Wire (and Python) names of the fields whose unreadable values are set aside instead of failing the answer.
    _lenient: ClassVar[frozenset[str]] = frozenset()

    unparsed: dict[str, object] | None = Field(default=None, repr=False, description="Fields not read, raw.")

    @model_validator(mode="wrap")
    @classmethod
    def _set_aside_unreadable(cls, data: object, handler: ModelWrapValidatorHandler[_LenientAnswer]) -> _LenientAnswer:
        # The common answer is read in one pass; only an answer with an unreadable field pays for a second.
        try:
            return handler(data)
        except ValidationError as exc:
            if not isinstance(data, dict):
                raise
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            # A server field named like ours is set aside too, rather than mistaken for ours.
            if not bad or not bad <= cls._lenient | {"unparsed"}:
                raise
            kept = {key: value for key, value in data.items() if key not in bad}
            return handler({**kept, "unparsed": {key: data[key] for key in bad}})


class Task(_LenientAnswer):
    """A created task: the answer to create.

    Attributes:
        task_id: The task's id; pass it to ``status``, ``wait`` or ``nanobanana wait``.
        status: The raw state word (``"waiting"`` when just created).
    """

    _lenient = frozenset({"status", "created_at", "updated_at"})

    task_id: str = Field(min_length=1)
    status: str = "waiting"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("task_id", mode="before")
    @classmethod
    def _number_is_an_id(cls, value: object) -> object:
        # A numeric id is still the task's id: losing it would lose a paid task.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def state(self) -> TaskState:
        """The parsed state."""
        return _state_of(self.status)


class Generation(_LenientAnswer):
    """One generation of a task, as the status call reports it.

    Attributes:
        status: The raw state word, kept as sent (see ``state`` for the parsed value).
        url: The result URL once succeeded (on the file host), else ``""``. Read from ``url`` or, as some
            versions of the API send it, ``image_url``.
        fail_msg: The server's failure reason (``failMsg``), ``""`` when none.
    """

    _lenient = frozenset(
        {
            "id",
            "failMsg",
            "fail_msg",
            "mediaType",
            "media_type",
            "createdDate",
            "created_date",
            "updatedDate",
            "updated_date",
        }
    )

    id: str = ""
    status: str = ""
    url: str = Field(default="", validation_alias=AliasChoices("url", "image_url"))
    fail_msg: str = Field(default="", alias="failMsg")
    media_type: str = Field(default="image", alias="mediaType")
    created_date: datetime | None = Field(default=None, alias="createdDate")
    updated_date: datetime | None = Field(default=None, alias="updatedDate")

    @field_validator("id", "status", "url", "fail_msg", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @property
    def state(self) -> TaskState:
        """The parsed state."""
        return _state_of(self.status)


class TaskStatus(_Answer):
    """The answer to status: the task and its generations.

    A task normally has one generation; ``state``, ``url`` and ``fail_msg`` read the first. A status with no
    generation yet is reported as ``WAITING``.

    Attributes:
        task_id: The task (``taskId`` on the wire).
        generations: Its generations as the server lists them; unknown fields are kept on each.

    Example:
        ```python
        status = await client.status(task.task_id)
        if status.is_done:
            print(status.state, status.url or status.fail_msg)
        ```
    """

    task_id: str = Field(alias="taskId")
    generations: tuple[Generation, ...] = ()

    @field_validator("generations", mode="before")
    @classmethod
    def _none_is_no_generation(cls, value: object) -> object:
        return () if value is None else value

    @property
    def generation(self) -> Generation | None:
        """The first generation, or None when the server has not listed one yet."""
        return self.generations[0] if self.generations else None

    @property
    def state_word(self) -> str:
        """The raw state word of the first generation (``"waiting"`` when there is none yet)."""
        generation = self.generation
        return generation.status if generation is not None else TaskState.WAITING.value

    @property
    def state(self) -> TaskState:
        """The parsed state of the task."""
        return _state_of(self.state_word)

    @property
    def is_done(self) -> bool:
        """True when the task has reached a terminal state, success or failure."""
        return self.state.is_terminal

    @property
    def url(self) -> str | None:
        """The result URL when the task succeeded, else None."""
        generation = self.generation
        if generation is None or not generation.state.is_success or not generation.url:
            return None
        return generation.url

    @property
    def urls(self) -> list[str]:
        """Every result URL, for tasks that produce several generations."""
        return [g.url for g in self.generations if g.state.is_success and g.url]

    @property
    def fail_msg(self) -> str:
        """The server's failure reason, ``""`` when none."""
        generation = self.generation
        return generation.fail_msg if generation is not None else ""


class User(_LenientAnswer):
    """The signed-in user, as the site's session endpoint describes it.

    Attributes:
        name: The display name, if the site has one.
        email: The e-mail address signed in with.
        image: The avatar URL, if any.
    """

    _lenient = frozenset({"name", "email", "image"})

    name: str | None = None
    email: str | None = None
    image: str | None = None


class SessionInfo(_LenientAnswer):
    """The answer to ``GET /api/auth/session`` when signed in.

    Attributes:
        user: Who is signed in.
        expires: When the session ends, if the site says.
    """

    _lenient = frozenset({"user", "expires"})

    user: User = Field(default_factory=lambda: User())
    expires: datetime | None = None

"""Pydantic models of the API's wire shapes.

Python names are snake_case; aliases match the wire exactly (``taskId``, ``failMsg``, ``createdDate``, ...).
Answers accept and keep fields this version does not know (``model_extra``), so a server that adds fields
never breaks parsing. Answers are strict only in what the SDK needs (a task id, a state word, a result URL): a
field it does not need that cannot be read (a ``created_at`` that is not a date, a null ``mediaType``) keeps its
default and its raw value is set aside in ``unparsed``. Requests are validated strictly, before anything is sent.
"""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, TypedDict
from urllib.parse import urlsplit

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

if TYPE_CHECKING:
    import PIL.Image

__all__ = [
    "MAX_INPUT_IMAGES",
    "Generation",
    "GenerationOptions",
    "GenerationRequest",
    "GenerationResult",
    "OutputFormat",
    "Resolution",
    "SessionInfo",
    "Task",
    "TaskState",
    "TaskStatus",
    "User",
]

OutputFormat = Literal["png", "jpeg", "webp"]
"""Image formats the API is known or expected to produce."""

Resolution = Literal["1K", "2K", "4K"]
"""Output resolutions: ``1K`` is observed, ``2K`` and ``4K`` are seen in other clients."""


MAX_INPUT_IMAGES = 8
"""The most input images one generation accepts (``image_urls`` and ``images`` together).

The API's own limit is not documented and unknown; the website sends two images. This cap is the SDK's, so a
mistaken call (a whole folder passed as inputs) is refused before anything is uploaded or paid for.
"""


class GenerationOptions(TypedDict, total=False):
    """Optional settings of a generation, passed as keywords to ``create`` and ``generate``.

    Each defaults to what the website sends (see `GenerationRequest`, whose attributes these are).
    """

    output_format: OutputFormat
    image_size: str
    enable_pro: bool
    resolution: Resolution
    width: int
    height: int
    steps: int
    guidance_scale: float
    is_public: bool


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


def _check_http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"image URL must be an absolute http(s) URL, got {url!r}")
    return url


class GenerationRequest(BaseModel):
    """The body of a create call. Defaults are the values the website sends.

    Validation runs before anything is sent: an empty prompt, an out-of-range number or an image URL that is
    not absolute http(s) raises ``pydantic.ValidationError`` (``client.create`` turns it into
    ``InvalidInputError``). ``image_urls`` are sent byte for byte as given: URLs with spaces, as the site's own
    upload URLs have, are not re-encoded.

    Attributes:
        prompt: What to do with the images (1 to 10,000 characters, not blank).
        image_urls: Hosted input images, in order ("image 1", "image 2", ... in the prompt); at most
            `MAX_INPUT_IMAGES` (the API's own limit is unknown).
        output_format: ``png`` (sent by the site), ``jpeg`` or ``webp``.
        image_size: ``auto`` (sent by the site) or an aspect ratio; other words are not documented.
        enable_pro: The site's "pro" model switch; the site sends True.
        resolution: ``1K`` (sent by the site), ``2K`` or ``4K``.
        width: Pixels, 64 to 8192; the site sends 1024.
        height: Pixels, 64 to 8192; the site sends 1024.
        steps: Sampling steps, 1 to 200; the site sends 20.
        guidance_scale: How closely to follow the prompt, 0 to 50; the site sends 7.5.
        is_public: Publish the result in the site's gallery; False unless asked.

    Example:
        ```python
        request = GenerationRequest(prompt="make it night", image_urls=[url], resolution="2K")
        task = await client.create(request)
        ```
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    prompt: str = Field(min_length=1, max_length=10_000, description="What to do with the images.")
    image_urls: tuple[str, ...] = Field(
        default=(), max_length=MAX_INPUT_IMAGES, description="Hosted input images, in order."
    )
    output_format: OutputFormat = "png"
    image_size: str = Field(default="auto", min_length=1, description="'auto' or an aspect ratio.")
    enable_pro: bool = True
    resolution: Resolution = "1K"
    width: int = Field(default=1024, ge=64, le=8192)
    height: int = Field(default=1024, ge=64, le=8192)
    steps: int = Field(default=20, ge=1, le=200)
    guidance_scale: float = Field(default=7.5, ge=0, le=50, allow_inf_nan=False)
    is_public: bool = Field(default=False, description="Keep results private unless asked.")

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("prompt must not be blank")
        return prompt

    @field_validator("image_urls", mode="before")
    @classmethod
    def _urls_are_a_sequence(cls, urls: object) -> object:
        if isinstance(urls, (str, bytes)):
            raise ValueError("image_urls must be a list of URLs, not a single string")
        return urls

    @field_validator("image_urls")
    @classmethod
    def _urls_are_http(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_http_url(url) for url in urls)

    def to_wire(self) -> dict[str, object]:
        """The JSON body for ``POST /api/image-generation-nano-banana/create``."""
        body = self.model_dump()
        body["image_urls"] = list(self.image_urls)
        return body


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


class GenerationResult(BaseModel):
    """What ``generate`` returns: the finished task and its image.

    Attributes:
        task_id: The task's id.
        url: The hosted result URL.
        path: Where the image was saved, when ``output`` was given; else None.
        content: The image bytes, when no ``output`` was given; else None.
        status: The final status as received.
        media_type: The result's media type as the file host sent it (``Content-Type``, e.g. ``image/png``),
            when known.
    """

    model_config = ConfigDict(frozen=True)

    task_id: str
    url: str
    path: Path | None = None
    content: bytes | None = Field(default=None, repr=False)
    status: TaskStatus = Field(repr=False)
    media_type: str | None = None

    def read_bytes(self) -> bytes:
        """The image's bytes, whether kept in memory (no ``output``) or saved to ``path``.

        Reading a saved file blocks while it reads; in async code with large files, call it through
        ``asyncio.to_thread``.

        Returns:
            ``content`` when the result was kept in memory, else the saved file's bytes.

        Raises:
            InvalidInputError: The saved file can no longer be read.

        Example:
            ```python
            result = await client.generate("make it night", image_urls=[url])
            png = result.read_bytes()  # bytes, never None
            ```
        """
        if self.content is not None:
            return self.content
        from ._pillow import read_saved

        return read_saved(self.path)

    def image(self) -> PIL.Image.Image:
        """The result opened as a ``PIL.Image.Image``, from its bytes or its saved file.

        Needs the ``nanobanana[pillow]`` extra.

        Raises:
            InvalidInputError: Pillow is not installed (the message names the extra), or the image cannot be
                opened.

        Example:
            ```python
            result = await client.generate("make it night", images=[photo])
            result.image().thumbnail((256, 256))
            ```
        """
        from ._pillow import open_image

        return open_image(self.content, self.path)

    def __repr_args__(self):  # type: ignore[no-untyped-def]
        yield from super().__repr_args__()
        if self.content is not None:
            yield "content", f"<{len(self.content)} bytes>"

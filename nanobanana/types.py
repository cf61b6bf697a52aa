"""The public models: a create's request and options, the API's answers, and a generation's result.

Requests are validated strictly, before anything is sent. The answer models (`Task`, `TaskStatus`,
`Generation`, `TaskState`, `User`, `SessionInfo`) are defined in ``_answers``, which imports nothing else of
the package so that the errors can name them; they are public here. Python names are snake_case; aliases match
the wire exactly (``taskId``, ``failMsg``, ``createdDate``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from ._answers import Generation, SessionInfo, Task, TaskState, TaskStatus, User

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

"""Input images: telling URLs from local files, reading and checking local files, building uploads."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeGuard, TypeVar, Union
from urllib.parse import urlsplit

from . import _pillow
from ._exceptions import InvalidInputError

if TYPE_CHECKING:
    import PIL.Image

ImageInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, "PIL.Image.Image"]
"""An input image: a hosted URL, a local path, raw bytes, a binary file object, or a ``PIL.Image.Image``
(sent as lossless PNG; needs the ``nanobanana[pillow]`` extra)."""

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"BM", 0, "image/bmp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypavif", 4, "image/avif"),
)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}

T = TypeVar("T")


@dataclass(frozen=True)
class LocalImage:
    """A checked local image, ready to upload."""

    data: bytes
    filename: str
    content_type: str


@dataclass(frozen=True)
class UploadedInput:
    """A local input of one request and the hosted URL it was uploaded to, to upload it again if that is gone.

    Attributes:
        url: The hosted URL sent in the request.
        image: The input as given (read again for a new upload).
        index: Its position among the request's ``images``.
    """

    url: str
    image: ImageInput
    index: int


def uploaded_inputs(images: Sequence[ImageInput], urls: Sequence[str]) -> tuple[UploadedInput, ...]:
    """The local inputs among ``images`` with the URL each was uploaded to (``urls``: every input's, in order)."""
    if not images:
        return ()
    return tuple(
        UploadedInput(url, image, index)
        for index, (url, image) in enumerate(zip(urls, images, strict=True))
        if not is_url(image)
    )


def is_url(value: object) -> TypeGuard[str]:
    """True for a string that is an http(s) URL (a hosted image, sent as is)."""
    if not isinstance(value, str):
        return False
    try:
        return urlsplit(value).scheme in ("http", "https")
    except ValueError:  # an unbalanced "[" in the host part
        return False


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type from the file's first bytes, or None when it is not a known image format."""
    for magic, offset, content_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if content_type == "image/webp" and data[:4] != b"RIFF":
                continue
            return content_type
    return None


def _read_path(value: str | os.PathLike[str]) -> tuple[bytes, str]:
    path = Path(os.fspath(value)).expanduser()
    try:
        return path.read_bytes(), path.name
    except FileNotFoundError:
        raise InvalidInputError(f"image file not found: {str(path)!r}") from None
    except IsADirectoryError:
        raise InvalidInputError(f"expected an image file, got a folder: {str(path)!r}") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read image file {str(path)!r}: {exc.strerror or exc}") from None


async def _read(value: ImageInput) -> tuple[bytes, str | None]:
    """The bytes of one local input and its own file name, if it has one."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), None
    if isinstance(value, (str, os.PathLike)):
        return await asyncio.to_thread(_read_path, value)
    if _pillow.is_pil_image(value):
        own_name = os.path.basename(str(getattr(value, "filename", "") or ""))
        return await asyncio.to_thread(_pillow.to_png, value), f"{Path(own_name).stem}.png" if own_name else None
    if hasattr(value, "read"):
        raw = await asyncio.to_thread(value.read)
        if not isinstance(raw, bytes):
            raise InvalidInputError("file objects must be opened in binary mode ('rb')")
        return raw, os.path.basename(str(getattr(value, "name", "") or "")) or None
    raise InvalidInputError(
        f"an image must be a URL, a path, bytes, a binary file or a PIL image, got {type(value).__name__}"
    )


async def load_image(value: ImageInput, *, filename: str | None = None, index: int = 0) -> LocalImage:
    """Read and check one local input (path, bytes, binary file object or PIL image).

    ``index`` is the input's position from 0; messages count inputs from 1, as prompts do ("image 1").
    """
    data, own_name = await _read(value)
    name = filename or own_name
    if not data:
        raise InvalidInputError(f"image {name or index + 1} is empty")
    content_type = sniff_image_type(data)
    if content_type is None:
        guessed = mimetypes.guess_type(name or "")[0]
        raise InvalidInputError(
            f"{name or f'input {index + 1}'!r} is not an image (PNG, JPEG, WebP, GIF, BMP, HEIC or AVIF)"
            + (f"; its name suggests {guessed}" if guessed and not guessed.startswith("image/") else "")
        )
    if not name:
        name = f"image-{index + 1}{_EXTENSIONS.get(content_type, '')}"
    return LocalImage(data=data, filename=name, content_type=content_type)


async def gather_all(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Run awaitables concurrently; on the first failure cancel the rest and raise it (nothing is left running)."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def split_inputs(images: Sequence[ImageInput]) -> list[tuple[int, ImageInput]]:
    """The local (non-URL) inputs, with their positions."""
    return [(i, image) for i, image in enumerate(images) if not is_url(image)]

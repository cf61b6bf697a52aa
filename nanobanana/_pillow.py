"""Results and inputs as images: PIL images to PNG bytes and back (Pillow being an optional extra), saved files."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeGuard

from ._exceptions import InvalidInputError

if TYPE_CHECKING:
    from PIL import Image

# The modes Pillow's PNG writer refuses that have a lossless twin it takes.
_TWINS = {"La": "LA", "RGBa": "RGBA", "PA": "RGBA", "I": "I;16", "LAB": "RGB"}


def _image_module() -> type[Image.Image] | None:
    # Only an installed (and imported) Pillow can have made the object, so Pillow is never imported for nothing.
    module = sys.modules.get("PIL.Image")
    image_class: type[Image.Image] | None = getattr(module, "Image", None) if module is not None else None
    return image_class


def is_pil_image(value: object) -> TypeGuard[Image.Image]:
    """True for a ``PIL.Image.Image`` (without importing Pillow)."""
    image_class = _image_module()
    return image_class is not None and isinstance(value, image_class)


def require() -> None:
    """Import Pillow, or say which extra to install.

    Raises:
        InvalidInputError: Pillow is not installed.
    """
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        raise InvalidInputError(
            'this needs Pillow: install the extra with `pip install "nanobanana[pillow]"`'
        ) from None


def to_png(image: Image.Image) -> bytes:
    """The image as lossless PNG bytes, in its own mode where PNG holds it (else RGB, L, or RGBA with alpha)."""
    try:
        return _png_bytes(image)
    except (OSError, ValueError, KeyError):
        # Pillow says which modes its PNG writer takes only by refusing the others.
        bands = image.getbands()
        nearest = _TWINS.get(image.mode) or ("RGBA" if "A" in bands else "L" if len(bands) == 1 else "RGB")
    try:
        return _png_bytes(image.convert(nearest))
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInputError(f"this PIL image (mode {image.mode}) cannot be saved as PNG: {exc}") from None


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def open_image(data: bytes | None, path: Path | None) -> Image.Image:
    """The image in ``data`` (or else in the file at ``path``), decoded by Pillow.

    Raises:
        InvalidInputError: Pillow is not installed, or there is no image to open.
    """
    require()
    from PIL import Image, UnidentifiedImageError

    source: BinaryIO | Path
    if data is not None:
        source = io.BytesIO(data)
    elif path is not None:
        source = path
    else:
        raise InvalidInputError("this result has neither bytes nor a saved file to open")
    try:
        image = Image.open(source)
        # Decoded now, while the file is at hand: Pillow then closes it.
        image.load()
    except (OSError, UnidentifiedImageError) as exc:
        raise InvalidInputError(f"Pillow cannot open this result: {exc}") from None
    return image


def read_saved(path: Path | None) -> bytes:
    """The bytes of a result saved to ``path``.

    Raises:
        InvalidInputError: There is no saved file, or it cannot be read any more.
    """
    if path is None:
        raise InvalidInputError("this result has neither bytes nor a saved file to read")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read the saved result {str(path)!r}: {exc.strerror or exc}") from None

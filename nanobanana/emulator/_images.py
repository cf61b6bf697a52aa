"""The emulator's pictures: sample inputs and rendered results, with Pillow (or plain PNGs without it)."""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import textwrap
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

_FORMATS = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg"), "jpg": ("JPEG", "image/jpeg"),
            "webp": ("WEBP", "image/webp")}  # fmt: skip


def media_type(output_format: str) -> tuple[str, str]:
    """The file extension and content type of a result in ``output_format`` (PNG for unknown ones)."""
    fmt = output_format.lower()
    if fmt not in _FORMATS or not _has_pillow():
        return "png", "image/png"
    return ("jpg" if fmt == "jpeg" else fmt), _FORMATS[fmt][1]


@functools.cache
def _has_pillow() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def _color(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    # Pastel colours, so dark text stays readable on them.
    return (150 + digest[0] % 100, 150 + digest[1] % 100, 150 + digest[2] % 100)


def plain_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour, without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 6))
        + chunk(b"IEND", b"")
    )


@functools.cache
def sample_images() -> tuple[tuple[str, bytes], ...]:
    """The emulator's own sample input images, as ``(file name, PNG bytes)``: a person, an outfit, a banana.

    The demo and the tests upload these, so everything works with no file of yours.
    """
    if not _has_pillow():
        return (
            ("person.png", plain_png(256, 256, (120, 160, 220))),
            ("outfit.png", plain_png(256, 256, (220, 120, 120))),
            ("banana.png", plain_png(256, 256, (250, 220, 90))),
        )
    from PIL import Image, ImageDraw

    def person() -> Image.Image:
        image = Image.new("RGB", (256, 256), (200, 225, 245))
        draw = ImageDraw.Draw(image)
        draw.ellipse((98, 30, 158, 90), fill=(240, 200, 170), outline=(60, 60, 60), width=2)
        draw.rounded_rectangle((78, 95, 178, 200), radius=18, fill=(70, 110, 190), outline=(40, 40, 40), width=2)
        draw.rectangle((88, 200, 123, 250), fill=(50, 50, 70))
        draw.rectangle((133, 200, 168, 250), fill=(50, 50, 70))
        return image

    def outfit() -> Image.Image:
        image = Image.new("RGB", (256, 256), (245, 235, 220))
        draw = ImageDraw.Draw(image)
        shirt = [(60, 60), (105, 40), (151, 40), (196, 60), (226, 110), (190, 125), (180, 100), (180, 220),
                 (76, 220), (76, 100), (66, 125), (30, 110)]  # fmt: skip
        draw.polygon(shirt, fill=(210, 60, 70), outline=(90, 20, 30), width=3)
        for y in range(70, 220, 25):
            draw.line((76, y, 180, y), fill=(250, 200, 200), width=4)
        return image

    def banana() -> Image.Image:
        image = Image.new("RGB", (256, 256), (235, 245, 235))
        draw = ImageDraw.Draw(image)
        draw.chord((30, 20, 230, 220), 20, 160, fill=(250, 215, 60), outline=(120, 90, 20), width=3)
        draw.chord((60, 20, 230, 170), 20, 160, fill=(235, 245, 235))
        return image

    def encode(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "PNG", optimize=True)
        return buffer.getvalue()

    return (("person.png", encode(person())), ("outfit.png", encode(outfit())), ("banana.png", encode(banana())))


def render_result(
    prompt: str,
    inputs: Sequence[tuple[str, bytes | None]],
    size: tuple[int, int],
    output_format: str,
) -> bytes:
    """Draw a result: the prompt, and a thumbnail of each input (a labelled box when it cannot be read).

    Deterministic: the same request gives the same bytes.

    Args:
        prompt: The generation's prompt.
        inputs: ``(url, bytes or None)`` per input image, in order.
        size: ``(width, height)`` of the result.
        output_format: ``png``, ``jpeg`` or ``webp``.
    """
    width, height = size
    background = _color(prompt)
    if not _has_pillow():
        return plain_png(width, height, background)
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    margin = max(4, width // 32)
    font_size = max(10, min(width, height) // 24)
    font = ImageFont.load_default(size=font_size)
    if inputs:
        slot = (width - margin * (len(inputs) + 1)) // len(inputs)
        thumb = max(8, min(slot, height // 2))
        for index, (url, data) in enumerate(inputs):
            left = margin + index * (slot + margin)
            box = (left, margin, left + thumb, margin + thumb)
            picture = _thumbnail(data, thumb)
            if picture is not None:
                canvas.paste(picture, (left + (thumb - picture.width) // 2, margin + (thumb - picture.height) // 2))
            else:
                draw.rectangle(box, fill=(210, 210, 210), outline=(90, 90, 90), width=2)
                name = url.rsplit("/", 1)[-1][:24]
                draw.text((left + 6, margin + 6), f"image {index + 1}\n{name}", fill=(40, 40, 40), font=font)
            draw.text((left, margin + thumb + 4), f"image {index + 1}", fill=(30, 30, 30), font=font)
        top = margin * 2 + thumb + font_size + 8
    else:
        top = margin
    chars = max(10, int(width / (font_size * 0.55)))
    lines = textwrap.wrap(prompt, chars)[: max(1, (height - top - font_size * 2) // (font_size + 4))]
    draw.multiline_text((margin, top), "\n".join(lines), fill=(20, 20, 20), font=font, spacing=4)
    draw.text((margin, height - margin - font_size), "nanobanana emulator", fill=(70, 70, 70), font=font)
    buffer = io.BytesIO()
    pil_format = _FORMATS.get(output_format.lower(), _FORMATS["png"])[0]
    canvas.save(buffer, pil_format)
    return buffer.getvalue()


def _thumbnail(data: bytes | None, side: int) -> Image.Image | None:
    if data is None:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as source:
            picture = source.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    picture.thumbnail((side, side))
    result: Image.Image = picture
    return result

"""Pillow in and out: PIL images as inputs (sent as lossless PNG) and results opened as PIL images."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image
from unit_support import PNG, RESULT_URL, TASK_ID, UPLOAD, FakeAPI, sent_multipart, status_json

from nanobanana import GenerationResult, InvalidInputError, NanoBanana, TaskStatus

HOSTED = "https://file.v03ai.com/image2video/image2video_1_photo.png"


def picture(mode: str) -> Image.Image:
    """A small image with distinct pixels in ``mode``."""
    image = Image.new("RGBA", (8, 6))
    image.putdata([(x * 30, y * 40, (x + y) * 10, 255 - x * 20) for y in range(6) for x in range(8)])
    if mode == "P":
        return image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return image.convert(mode)


def png_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def uploaded_file(body: bytes) -> bytes:
    """The file part of a one-field multipart body."""
    return body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    """Same mode, size and colour of every pixel."""
    return (a.mode, a.size, a.convert("RGBA").tobytes()) == (b.mode, b.size, b.convert("RGBA").tobytes())


def result_of(content: bytes | None = None, path: Path | None = None) -> GenerationResult:
    status = TaskStatus.model_validate(status_json("succeed"))
    return GenerationResult(task_id=TASK_ID, url=RESULT_URL, content=content, path=path, status=status)


# --- in -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "LA", "1"])
async def test_a_pil_image_is_uploaded_as_lossless_png_in_its_own_mode(
    api: FakeAPI, client: NanoBanana, mode: str
) -> None:
    original = picture(mode)
    api.post(UPLOAD, payload={"url": HOSTED})

    await client.upload(original)

    sent = Image.open(io.BytesIO(uploaded_file(await sent_multipart(api.calls("POST", UPLOAD)[0]))))
    assert sent.format == "PNG"
    assert same_pixels(sent, original)


async def test_a_pil_image_of_a_mode_png_cannot_hold_is_sent_in_the_nearest_one(
    api: FakeAPI, client: NanoBanana
) -> None:
    api.post(UPLOAD, payload={"url": HOSTED})

    await client.upload(picture("RGB").convert("CMYK"))

    sent = Image.open(io.BytesIO(uploaded_file(await sent_multipart(api.calls("POST", UPLOAD)[0]))))
    assert sent.mode == "RGB"


async def test_a_pil_image_opened_from_a_file_is_uploaded_under_its_name_as_png(
    api: FakeAPI, client: NanoBanana, tmp_path: Path
) -> None:
    picture("RGB").save(tmp_path / "holiday.jpg")
    api.post(UPLOAD, payload={"url": HOSTED})

    with Image.open(tmp_path / "holiday.jpg") as opened:
        await client.upload(opened)

    body = await sent_multipart(api.calls("POST", UPLOAD)[0])
    assert b'filename="holiday.png"' in body
    assert b"Content-Type: image/png" in body


async def test_generate_accepts_pil_images_among_its_inputs(api: FakeAPI, client: NanoBanana) -> None:
    api.post(UPLOAD, payload={"url": HOSTED})
    api.post("https://nanabanana.ai/api/image-generation-nano-banana/create", payload={"task_id": TASK_ID})

    task = await client.create("make it night", images=[picture("RGBA")])

    assert task.task_id == TASK_ID


# --- out ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_a_result_in_memory_opens_as_a_pil_image(mode: str) -> None:
    original = picture(mode)

    opened = result_of(content=png_of(original)).image()

    assert same_pixels(opened, original)


def test_a_saved_result_opens_as_a_pil_image(tmp_path: Path) -> None:
    original = picture("RGBA")
    (tmp_path / "out.png").write_bytes(png_of(original))

    opened = result_of(path=tmp_path / "out.png").image()

    assert same_pixels(opened, original)


def test_a_result_that_is_not_an_image_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="Pillow cannot open"):
        result_of(content=b"not an image").image()


def test_without_pillow_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)

    with pytest.raises(InvalidInputError, match=r"nanobanana\[pillow\]"):
        result_of(content=PNG).image()


# --- the bytes, wherever they are ---------------------------------------------------------------------------


def test_read_bytes_of_a_result_in_memory_is_its_content() -> None:
    assert result_of(content=PNG).read_bytes() == PNG


def test_read_bytes_of_a_saved_result_reads_its_file(tmp_path: Path) -> None:
    (tmp_path / "out.png").write_bytes(PNG)

    assert result_of(path=tmp_path / "out.png").read_bytes() == PNG


def test_read_bytes_of_a_deleted_result_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read the saved result"):
        result_of(path=tmp_path / "gone.png").read_bytes()

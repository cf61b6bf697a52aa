"""Against the emulator: a PIL image goes in as PNG, and the result comes out as a PIL image."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from nanobanana import NanoBanana
from nanobanana.emulator import Emulator


def gradient(mode: str) -> Image.Image:
    image = Image.new("RGBA", (16, 12))
    image.putdata([(x * 15, y * 20, 128, 200) for y in range(12) for x in range(16)])
    return image.convert(mode) if mode != "P" else image.convert("RGB").quantize(colors=8)


async def test_a_pil_image_goes_in_as_png_and_the_result_comes_out_as_one(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    original = gradient("RGBA")

    result = await client.generate("make it night", images=[original], output=tmp_path / "out.png")

    [upload] = emu.uploads
    stored = Image.open(io.BytesIO(await client.download(upload)))
    assert (stored.format, stored.mode, stored.tobytes()) == ("PNG", "RGBA", original.tobytes())
    with Image.open(tmp_path / "out.png") as saved:
        assert result.image().tobytes() == saved.tobytes()


async def test_a_palette_image_keeps_its_palette(emu: Emulator, client: NanoBanana) -> None:
    original = gradient("P")

    url = await client.upload(original)

    stored = Image.open(io.BytesIO(await client.download(url)))
    assert stored.mode == "P"
    assert stored.convert("RGB").tobytes() == original.convert("RGB").tobytes()

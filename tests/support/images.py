"""Sample input images written to disk, as a user's files would be."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from nanobanana.emulator import sample_images


def write_samples(folder: Path, count: int = 2) -> list[Path]:
    """The emulator's first ``count`` sample images (person, outfit, banana) as PNG files in ``folder``."""
    paths = []
    for name, data in sample_images()[:count]:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def write_jpeg(path: Path, index: int = 1) -> Path:
    """Sample image ``index`` re-encoded as a JPEG file at ``path``."""
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(sample_images()[index][1])) as image:
        image.convert("RGB").save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return path

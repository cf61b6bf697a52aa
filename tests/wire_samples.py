"""The create body of the captured browser session (``shared/reference/captured-session.txt``), byte for byte.

Tests that check what goes on the wire compare against this literal, not against our own models' defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CAPTURED_PROMPT = "change the clotes from image 1 to image 2"
CAPTURED_IMAGE_URLS = [
    "https://file.v03ai.com/image2video/image2video_1767659183726_Screenshot 2026-01-06 000423.png",
    "https://file.v03ai.com/image2video/image2video_1767659189363_Screenshot 2026-01-06 000601.png",
]
CAPTURED_CREATE: dict[str, Any] = {
    "prompt": CAPTURED_PROMPT,
    "image_urls": CAPTURED_IMAGE_URLS,
    "output_format": "png",
    "image_size": "auto",
    "enable_pro": True,
    "resolution": "1K",
    "width": 1024,
    "height": 1024,
    "steps": 20,
    "guidance_scale": 7.5,
    "is_public": False,
}


def create_body(prompt: str, image_urls: Sequence[str]) -> dict[str, Any]:
    """The body the website would send for ``prompt`` and ``image_urls``, with its default settings."""
    return {**CAPTURED_CREATE, "prompt": prompt, "image_urls": list(image_urls)}

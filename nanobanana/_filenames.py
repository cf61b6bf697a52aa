"""Where a result is saved: a name chosen by the server becomes a safe plain file name inside the output folder.

A result URL is the server's choice, so its last segment is untrusted input: once percent-decoded it can hold
separators (``..%2F..%2Fetc%2Fpasswd``), name a dotfile (``.bashrc``), carry control characters or run to any
length. Only a conservative set of characters survives, the name never starts with a dot, its length is
bounded, and its extension comes from what the file host says the content is, never from the URL alone.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/avif": ".avif",
    "image/heic": ".heic",
    "image/bmp": ".bmp",
}
_IMAGE_SUFFIXES = frozenset(_EXTENSIONS.values()) | {".jpeg"}
_FALLBACK_STEM = "result"
_FALLBACK_SUFFIX = ".bin"
# Well under every file system's limit of 255 bytes, leaving room for the download's temporary-name affixes.
MAX_STEM_CHARS = 100
_UNSAFE = re.compile(r"[^\w.\- ]+")
# Names Windows reserves whatever their extension; harmless elsewhere, so they are refused everywhere.
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})


def suffix_for(media_type: str | None, url: str) -> str:
    """The file extension for a result: from its media type, else from the URL if it names an image type."""
    if media_type:
        found = _EXTENSIONS.get(media_type.split(";", 1)[0].strip().lower())
        if found:
            return found
    suffix = Path(_last_segment(url)).suffix.lower()
    return suffix if suffix in _IMAGE_SUFFIXES else _FALLBACK_SUFFIX


def safe_file_name(url: str, media_type: str | None) -> str:
    """A plain file name for the result at ``url``: no separators, no leading dot, no control characters."""
    stem = Path(_last_segment(url)).stem
    # NFKC folds look-alike characters (full-width slashes and dots) into the ASCII ones filtered next.
    stem = unicodedata.normalize("NFKC", stem)
    stem = _UNSAFE.sub("_", stem).strip("._- ")[:MAX_STEM_CHARS].rstrip("._- ")
    if not stem or stem.lower() in _RESERVED:
        stem = f"{_FALLBACK_STEM}_{stem}" if stem else _FALLBACK_STEM
    return stem + suffix_for(media_type, url)


def _last_segment(url: str) -> str:
    # Decoded first, then split again: an encoded separator must not smuggle a folder into the name.
    decoded = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return re.split(r"[/\\]", decoded)[-1]


def result_path(path: str | os.PathLike[str], url: str, media_type: str | None) -> Path:
    """Where to save ``url``: ``path`` itself, or a safe name derived from the URL inside ``path`` if a folder."""
    target = Path(path).expanduser()
    if target.is_dir():
        return target / safe_file_name(url, media_type)
    return target

"""Downloads of results: streamed, size-limited, atomic, and free of credentials.

Result URLs live on another host (``file.v03ai.com``) and are capabilities: they need no sign-in, so the
transport sends our cookie and headers to the API host only, re-checking at every redirect. Files are
written to a temporary name beside the target and renamed into place only once complete and checked, so an
interrupted or truncated download never leaves a partial file under the real name.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import tempfile
from collections.abc import Coroutine, Iterable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from yarl import URL

from ._config import DOWNLOAD_CHUNK_BYTES
from ._exceptions import APIError, APIStatusError, DownloadError, InvalidInputError
from ._transport import AIOHTTP_ERRORS, Transport, translate_error

logger = logging.getLogger("nanobanana")

_ACCEPTED_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")


def _parse_url(url: str) -> URL:
    try:
        # encoded=False: yarl percent-encodes what must be (the site's URLs contain spaces), once.
        parsed = URL(url)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInputError(f"download needs an absolute http(s) URL, got {url!r}")
    return parsed


def target_path(path: str | os.PathLike[str], url: str) -> Path:
    """Where to save ``url``: ``path`` itself, or the URL's file name inside ``path`` if it is a folder."""
    target = Path(path).expanduser()
    if target.is_dir():
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "result.png"
        target = target / name
    return target


def download(
    transport: Transport,
    url: str,
    path: str | os.PathLike[str] | None,
    *,
    max_bytes: int,
) -> Coroutine[Any, Any, bytes | Path]:
    """Fetch ``url``; return its bytes, or save it to ``path`` and return the final path.

    Raises:
        InvalidInputError: ``url`` is not an http(s) URL.
        DownloadError: The file could not be fetched, was not an image, was too large, or was cut short.
    """
    parsed = _parse_url(url)
    target = target_path(path, url) if path is not None else None
    # A plain function handing back the first attempt's coroutine: a download waiting for its turn is one frame.
    return _attempt(transport, parsed, url, target, max_bytes, 0)


async def _attempt(
    transport: Transport, parsed: URL, url: str, target: Path | None, max_bytes: int, resend: int
) -> bytes | Path:
    """One attempt at the download; the first goes on to the retries, whose final error it explains."""
    try:
        async with transport.pacer.slot():
            response = await transport.get(parsed, resend)
            try:
                if response.status >= 400:
                    text = (await response.content.read(2048)).decode("utf-8", errors="replace")
                    raise transport.status_error(
                        "GET", response.url, response.status, response.reason or "", response.headers, text
                    )
                content_type = response.headers.get("Content-Type", "").lower()
                if not content_type.startswith(_ACCEPTED_TYPES):
                    raise DownloadError(
                        f"Downloading {url}: expected an image, got {content_type or 'no content type'!r}.",
                        url=url,
                        status_code=response.status,
                    )
                expected = response.content_length
                if expected is not None and expected > max_bytes:
                    raise DownloadError(
                        f"Downloading {url}: {expected} bytes is over the limit of {max_bytes} bytes "
                        "(raise max_download_bytes).",
                        url=url,
                    )
                if target is None and expected is not None:
                    # Size known and within the limit: one read, as aiohttp does it, instead of chunk by chunk.
                    data = await response.read()
                    _check_complete(len(data), expected, url)
                    return data
                chunks = response.content.iter_chunked(DOWNLOAD_CHUNK_BYTES)
                if target is None:
                    buffer = bytearray()
                    async for chunk in chunks:
                        buffer += chunk
                        _check_size(len(buffer), max_bytes, url)
                    _check_complete(len(buffer), expected, url)
                    return bytes(buffer)
                with _atomic_file(target, url) as file:
                    received = 0
                    async for chunk in chunks:
                        received += len(chunk)
                        _check_size(received, max_bytes, url)
                        _write(file, chunk, url)
                    _check_complete(received, expected, url)
                    await asyncio.to_thread(_flush_to_disk, file, url)
                logger.debug("Saved %s (%d bytes) to %s", parsed.path, received, target)
                return target
            except AIOHTTP_ERRORS as exc:
                raise translate_error("GET", response.url, exc) from exc
            finally:
                response.release()
    except Exception as exc:
        if resend:
            raise
        again = functools.partial(_attempt, transport, parsed, url, target, max_bytes)
        try:
            return await transport.retry_after(exc, again, idempotent=True)
        except APIStatusError as final:
            raise DownloadError(
                f"Downloading {url} failed: HTTP {final.status_code}. The link may have expired; "
                "read a fresh URL with `client.status(task_id)`.",
                url=url,
                status_code=final.status_code,
            ) from final
        except APIError as final:
            raise DownloadError(f"Downloading {url} failed: {final.message}", url=url) from final


def _check_size(size: int, max_bytes: int, url: str) -> None:
    if size > max_bytes:
        raise DownloadError(
            f"Downloading {url}: over the limit of {max_bytes} bytes (raise max_download_bytes).", url=url
        )


def _check_complete(size: int, expected: int | None, url: str) -> None:
    if expected is not None and size != expected:
        raise DownloadError(f"Downloading {url}: got {size} of {expected} bytes; the transfer was cut short.", url=url)


def _write(file: IO[bytes], chunk: bytes, url: str) -> None:
    try:
        file.write(chunk)
    except OSError as exc:
        raise DownloadError(f"Saving {url} failed: {exc}", url=url) from exc


def _flush_to_disk(file: IO[bytes], url: str) -> None:
    try:
        file.flush()
        os.fsync(file.fileno())
    except OSError as exc:
        raise DownloadError(f"Saving {url} failed: {exc}", url=url) from exc


_PART_SUFFIX = ".part"


def remove_partial_files(targets: Iterable[Path]) -> None:
    """Delete the temporary files that downloads to ``targets`` left behind when a crash skipped their cleanup.

    Call it only when nothing can be downloading to those targets now (a batch holding its journal's lock).
    """
    names_by_folder: dict[Path, set[str]] = {}
    for target in targets:
        names_by_folder.setdefault(target.parent, set()).add(target.name)
    for folder, names in names_by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            # _atomic_file names them ".<target name>.<random>.part".
            name = entry.name
            ours = name.startswith(".") and name.endswith(_PART_SUFFIX)
            if ours and name[1:].removesuffix(_PART_SUFFIX).rpartition(".")[0] in names:
                logger.info("Removing %s, left over by an interrupted download", entry.path)
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


@contextlib.contextmanager
def _atomic_file(target: Path, url: str) -> Iterator[IO[bytes]]:
    """A temporary file beside ``target``, renamed onto it on success and deleted on any failure."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=_PART_SUFFIX)
    except OSError as exc:
        raise DownloadError(f"Cannot write to {target.parent}: {exc}", url=url) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
        try:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except OSError as exc:
            raise DownloadError(f"Saving {url} to {target} failed: {exc}", url=url) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

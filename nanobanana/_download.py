"""Downloads of results: streamed, size-limited, atomic, and free of credentials.

Result URLs live on another host (``file.v03ai.com``) and are capabilities: they need no sign-in, so the cookie
and headers go to the API host only, checked again at every redirect. The file host is asked for the bytes as
they are (``Accept-Encoding: identity``); one that compresses anyway is decoded here, with the size limit held
on the decoded bytes. Files are written to a temporary name beside the target and renamed into place only once
complete, so an interrupted or truncated download never leaves a partial file under the real name.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
from collections.abc import Coroutine, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import aiohttp
from yarl import URL

from ._config import DOWNLOAD_CHUNK_BYTES, MAX_REDIRECTS
from ._deadline import Deadline
from ._decoding import Decoder
from ._error_map import AIOHTTP_ERRORS, map_exception, status_error
from ._exceptions import APIError, APIStatusError, DownloadError, InvalidInputError
from ._filenames import result_path
from ._session import is_http_url
from ._transport import Transport

logger = logging.getLogger("nanobanana")

_ACCEPTED_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _parse_url(url: str) -> URL:
    try:
        # encoded=False: yarl percent-encodes what must be (the site's URLs contain spaces), once.
        parsed = URL(url)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or not is_http_url(parsed):
        raise InvalidInputError(f"download needs an absolute http(s) URL, got {url!r}")
    return parsed


_Destination = str | os.PathLike[str] | None


def download(
    transport: Transport,
    url: str,
    path: str | os.PathLike[str] | None,
    *,
    max_bytes: int,
) -> Coroutine[Any, Any, bytes | Path]:
    """Fetch ``url``; return its bytes, or save it to ``path`` and return the final path.

    Checks its arguments at once (before the returned coroutine is awaited), then the coroutine downloads under
    the file host's own limit of downloads at once and the client's retry rule.

    Raises:
        InvalidInputError: ``url`` is not an http(s) URL.
        DownloadError: The file could not be fetched, was not an image, was too large, was cut short, or the
            client's ``download_timeout`` ran out.
    """
    parsed = _parse_url(url)
    return _download(transport, parsed, path, max_bytes)


async def _download(transport: Transport, url: URL, path: _Destination, max_bytes: int) -> bytes | Path:
    """The download with its retries, its overall deadline and its final error."""
    attempt = functools.partial(_fetch_once, transport, url, path, max_bytes)
    deadline = Deadline(transport.download_deadline)
    try:
        async with transport.downloads, deadline:
            return await transport.retrier.run(attempt, idempotent=True)
    except asyncio.TimeoutError:
        if not deadline.expired:
            raise
        failure = DownloadError(
            f"Downloading {url} took longer than download_timeout ({transport.download_deadline:g}s).", url=str(url)
        )
    except APIStatusError as final:
        failure = DownloadError(
            f"Downloading {url} failed with HTTP {final.status_code}: the link may have expired; "
            "read a fresh URL with `client.status(task_id)`.",
            url=str(url),
            status_code=final.status_code,
            retryable=final.retryable,
        )
    except APIError as final:
        failure = DownloadError(f"Could not download the result: {final.message}", url=str(url))
        failure.retryable = final.retryable
    raise failure


async def _fetch_once(transport: Transport, url: URL, path: _Destination, max_bytes: int, resends: int) -> bytes | Path:
    """One attempt: the GET (redirects followed by hand), the checks, the body to memory or to the file."""
    failure: APIError
    try:
        response = await _get(transport, url, resends)
        try:
            _check(transport, response, max_bytes, await _error_text(response))
            # Named only now: inside a folder, the file's extension comes from what the host says it sent.
            target = result_path(path, str(url), response.headers.get("Content-Type")) if path is not None else None
            return await _receive(response, target, max_bytes, str(url))
        finally:
            response.release()
    except AIOHTTP_ERRORS as exc:
        failure = map_exception("GET", str(url), exc, transport.redact)
    raise failure


async def _get(transport: Transport, url: URL, resends: int) -> aiohttp.ClientResponse:
    """The GET of ``url``, following redirects itself so that each hop's headers are chosen for its host.

    Each hop is one HTTP span; ``resends`` counts the download's attempts before this one.
    """
    http = transport.session.for_downloads()
    # The file host is not the API: the API's rate limit and its slow-down after a 429 do not apply here.
    for _ in range(MAX_REDIRECTS + 1):
        with transport.telemetry.http_request("GET", url, resends) as span:
            response = await http.get(
                url,
                headers=transport.session.download_headers(url),
                allow_redirects=False,
                timeout=transport.download_timeout,
                auto_decompress=False,
            )
            span.status(response.status)
        location = response.headers.get("Location")
        if response.status not in _REDIRECTS or not location:
            return response
        response.release()
        url = _next_hop(url, location, transport)
    raise DownloadError(
        f"Downloading {url}: too many redirects (more than {MAX_REDIRECTS}); the link is broken.", url=str(url)
    )


def _next_hop(url: URL, location: str, transport: Transport) -> URL:
    """Where a redirect leads (a relative Location is resolved), refusing anything but http(s)."""
    try:
        target = url.join(URL(location))
    except (TypeError, ValueError):
        target = None
    if target is None or not is_http_url(target):
        shown = transport.redact(location)[:200]
        raise DownloadError(f"Downloading {url}: the server redirected to {shown!r}, not an http(s) URL.", url=str(url))
    return target


async def _error_text(response: aiohttp.ClientResponse) -> str:
    if response.status < 400:
        return ""
    return (await response.content.read(2048)).decode("utf-8", errors="replace")


def _check(transport: Transport, response: aiohttp.ClientResponse, max_bytes: int, error_text: str) -> None:
    """Refuse an error status, an answer that is not an image, or one announced as too large."""
    url = str(response.url)
    if response.status >= 400:
        raise status_error(
            "GET", url, response.status, response.reason or "", response.headers, error_text, transport.redact
        )
    content_type = response.headers.get("Content-Type", "").lower()
    if not content_type.startswith(_ACCEPTED_TYPES):
        raise DownloadError(
            f"Downloading {url}: expected an image, got {content_type or 'no content type'!r}.",
            url=url,
            status_code=response.status,
        )
    expected = response.content_length
    if expected is not None and expected > max_bytes and "Content-Encoding" not in response.headers:
        raise DownloadError(
            f"Downloading {url}: {expected} bytes is over the limit of {max_bytes} bytes (raise max_download_bytes).",
            url=url,
        )


async def _receive(response: aiohttp.ClientResponse, target: Path | None, max_bytes: int, url: str) -> bytes | Path:
    """The body, decoded and size-checked, as bytes or written to ``target``."""
    decoder = Decoder(response.headers.get("Content-Encoding", ""), max_bytes, url)
    expected = response.content_length
    if target is None and expected is not None and decoder.identity:
        # Size known and within the limit: one read, as aiohttp does it, instead of chunk by chunk.
        data = await response.read()
        _check_complete(len(data), expected, url)
        return data
    chunks = response.content.iter_chunked(DOWNLOAD_CHUNK_BYTES)
    if target is None:
        buffer = bytearray()
        async for chunk in chunks:
            buffer += decoder.feed(chunk)
        _check_complete(decoder.received, expected, url)
        return bytes(buffer + decoder.flush())
    with _atomic_file(target, url) as file:
        async for chunk in chunks:
            _write(file, decoder.feed(chunk), url)
        _check_complete(decoder.received, expected, url)
        _write(file, decoder.flush(), url)
        await asyncio.to_thread(_flush_to_disk, file, url)
    logger.debug("Saved %s (%d bytes) to %s", URL(url).path, decoder.decoded, target)
    return target


def _check_complete(size: int, expected: int | None, url: str) -> None:
    if expected is not None and size != expected:
        raise DownloadError(f"Downloading {url}: got {size} of {expected} bytes; the transfer was cut short.", url=url)


def _write(file: IO[bytes], chunk: bytes, url: str) -> None:
    try:
        file.write(chunk)
    except OSError as exc:
        raise _save_failed(url, exc) from exc


def _flush_to_disk(file: IO[bytes], url: str) -> None:
    try:
        file.flush()
        os.fsync(file.fileno())
    except OSError as exc:
        raise _save_failed(url, exc) from exc


def _save_failed(url: str, exc: OSError) -> DownloadError:
    """The error for a file the disk refused to take (full, over quota, failing) part-way."""
    return DownloadError(
        f"Saving {url} failed: {exc.strerror or exc}. Nothing was saved; make room on the disk or save elsewhere, "
        "then download it again.",
        url=url,
    )


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
    """A temporary file beside ``target``, renamed onto it on success and deleted on any failure.

    Created with mode 0666 less the umask, as any file the user's programs write.
    """
    tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}{_PART_SUFFIX}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise DownloadError(f"Cannot write to {target.parent}: {exc}", url=url) from exc
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise DownloadError(f"Saving {url} to {target} failed: {exc}", url=url) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

"""Undoes the Content-Encoding a file host used anyway, holding the download's size limit on the decoded bytes."""

from __future__ import annotations

import zlib

from ._exceptions import DownloadError

# zlib's window bits for "gzip or zlib, whichever the header says".
_GZIP_OR_ZLIB = 47


class Decoder:
    """Undoes a Content-Encoding the file host used anyway, never holding more than the limit allows."""

    def __init__(self, encoding: str, max_bytes: int, url: str) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise DownloadError(f"Downloading {url}: the file host sent an unsupported encoding {encoding!r}.", url=url)
        self.identity = encoding in ("", "identity")
        self._zlib = None if self.identity else zlib.decompressobj(_GZIP_OR_ZLIB if encoding != "deflate" else 15)
        self._max_bytes = max_bytes
        self._url = url
        self.received = 0
        self.decoded = 0

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes of ``chunk``; DownloadError once the decoded total passes the limit."""
        self.received += len(chunk)
        if self._zlib is None:
            return self._count(chunk)
        out = bytearray()
        try:
            while chunk:
                out += self._zlib.decompress(chunk, self._max_bytes - self.decoded - len(out) + 1)
                _check_size(self.decoded + len(out), self._max_bytes, self._url)
                chunk = self._zlib.unconsumed_tail
        except zlib.error:
            raise DownloadError(f"Downloading {self._url}: the compressed body is corrupt.", url=self._url) from None
        return self._count(bytes(out))

    def flush(self) -> bytes:
        """Whatever the decoder still holds at the end."""
        return b"" if self._zlib is None else self._count(self._zlib.flush())

    def _count(self, data: bytes) -> bytes:
        self.decoded += len(data)
        _check_size(self.decoded, self._max_bytes, self._url)
        return data


def _check_size(size: int, max_bytes: int, url: str) -> None:
    if size > max_bytes:
        raise DownloadError(
            f"Downloading {url}: over the limit of {max_bytes} bytes (raise max_download_bytes).", url=url
        )

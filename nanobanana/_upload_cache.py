"""The upload cache: the hosted URL of every image a client uploaded, by the sha256 of its bytes.

The same bytes are then uploaded once, however they are given (two paths to one file, bytes, a PIL image), and
concurrent uploads of the same bytes share one request. The cache is bounded: the least recently used entry
leaves first. How long the service keeps an uploaded file is unknown; a create rejected for a stale input URL
is handled by the client: `renew` replaces the entry with a new upload, and the create is retried once.

It is the client's `UploadMemory` for batches (`hosted`, `renew`); `watch` and `put` let other code record and
seed it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

logger = logging.getLogger("nanobanana")

DEFAULT_MAX_ENTRIES = 4096
# sha256 runs at about 1 GB/s: below this size it costs less than handing the bytes to a thread.
_THREAD_ABOVE_BYTES = 1024 * 1024

Listener = Callable[[str, str], None]
"""Called with ``(digest, url)`` after every new upload."""


def digest_of(data: bytes) -> str:
    """The cache key of an image: the hex sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


async def digest_off_loop(data: bytes) -> str:
    """`digest_of`, in a thread for large images so the event loop never stalls on hashing."""
    if len(data) > _THREAD_ABOVE_BYTES:
        return await asyncio.to_thread(digest_of, data)
    return digest_of(data)


class UploadCache:
    """Hosted URLs by image digest, least recently used first out, with one upload in flight per digest.

    Args:
        max_entries: How many URLs to remember.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._urls: OrderedDict[str, str] = OrderedDict()
        self._in_flight: dict[str, asyncio.Task[str]] = {}
        self._listeners: list[Listener] = []

    def __len__(self) -> int:
        return len(self._urls)

    def get(self, digest: str) -> str | None:
        """The URL uploaded for ``digest``, or None; a hit becomes the most recently used."""
        url = self._urls.get(digest)
        if url is not None:
            self._urls.move_to_end(digest)
        return url

    def put(self, digest: str, url: str) -> None:
        """Remember ``url`` for ``digest`` (seeding from a journal, or after an upload)."""
        self._urls[digest] = url
        self._urls.move_to_end(digest)
        while len(self._urls) > self.max_entries:
            self._urls.popitem(last=False)

    def forget(self, digest: str, url: str | None = None) -> None:
        """Drop the entry for ``digest``; with ``url``, only while it still maps to that URL."""
        if url is None or self._urls.get(digest) == url:
            self._urls.pop(digest, None)

    def watch(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(digest, url)`` after every new upload; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def hosted(self, data: bytes, upload: Callable[[], Awaitable[str]]) -> str:
        """The URL for the image ``data`` (the batch's `UploadMemory`): remembered, shared, or ``upload()``'s."""
        return await self.url_for(await digest_off_loop(data), upload)

    async def renew(self, data: bytes, stale: str, upload: Callable[[], Awaitable[str]]) -> str:
        """A URL for the image ``data`` other than ``stale`` (gone from the service): a newer one, or ``upload()``'s."""
        digest = await digest_off_loop(data)
        self.forget(digest, stale)
        return await self.url_for(digest, upload)

    async def url_for(self, digest: str, upload: Callable[[], Awaitable[str]]) -> str:
        """The URL for ``digest``: remembered, or shared with an upload in flight, or ``upload()``'s."""
        url = self.get(digest)
        if url is not None:
            return url
        task = self._in_flight.get(digest)
        if task is None:
            task = asyncio.ensure_future(self._uploaded(digest, upload))
            self._in_flight[digest] = task
            task.add_done_callback(lambda done: self._settled(digest, done))
        # Shielded: one caller cancelled does not cancel the upload the others wait for.
        return await asyncio.shield(task)

    async def _uploaded(self, digest: str, upload: Callable[[], Awaitable[str]]) -> str:
        url = await upload()
        self.put(digest, url)
        for listener in list(self._listeners):
            try:
                listener(digest, url)
            except Exception:
                # A record that failed costs one upload more later; the upload itself succeeded.
                logger.warning("An upload listener failed; the upload of %s is not recorded", url, exc_info=True)
        return url

    def _settled(self, digest: str, task: asyncio.Task[str]) -> None:
        if self._in_flight.get(digest) is task:
            del self._in_flight[digest]
        # Every waiter may have been cancelled: the outcome is read here so it is never reported as lost.
        if not task.cancelled():
            task.exception()

"""A batch's memory of uploaded images: each distinct image uploaded once per batch, and never again on resume."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

from ._batch_steps import UploadMemory
from ._journal import Journal


def content_digest(data: bytes) -> str:
    """The key of an image's bytes: ``sha256:<hex>``."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class BatchUploads:
    """An `UploadMemory` backed by the batch's journal: uploads it records there, and ones earlier runs recorded.

    Items sharing an image while its upload is in flight wait for that one upload. A failed upload is forgotten,
    so the next item that needs the image tries again. An upload the service no longer has is replaced
    (`renew`): the journal's later line for the same image wins when a resumed batch reads it.

    Args:
        journal: The batch's journal (None: remember for this run only).
        fallback: Where a miss goes instead of uploading directly (the client's own upload cache, if it has one).
    """

    def __init__(self, journal: Journal | None, *, fallback: UploadMemory | None = None) -> None:
        self._journal = journal
        self._fallback = fallback
        self._known: dict[str, str] = dict(journal.uploads) if journal is not None else {}
        self._pending: dict[str, asyncio.Future[str]] = {}

    async def hosted(self, data: bytes, upload: Callable[[], Awaitable[str]]) -> str:
        """The hosted URL of ``data``: remembered by the journal or this run, else uploaded now (once)."""
        digest = content_digest(data)
        known = self._known.get(digest)
        if known is not None:
            return known
        fallback = self._fallback
        if fallback is None:
            return await self._shared(digest, upload)
        return await self._shared(digest, lambda: fallback.hosted(data, upload))

    async def renew(self, data: bytes, stale: str, upload: Callable[[], Awaitable[str]]) -> str:
        """A URL for ``data`` other than ``stale`` (gone from the service), recorded in the journal in its place.

        An item whose create was refused for a URL another item has renewed already gets the new URL at once;
        items renewing it together share one upload. The client's memory (the fallback) forgets ``stale`` too.
        """
        digest = content_digest(data)
        known = self._known.get(digest)
        if known is not None and known != stale:
            return known
        self._known.pop(digest, None)
        fallback = self._fallback
        if fallback is None:
            return await self._shared(digest, upload)
        return await self._shared(digest, lambda: fallback.renew(data, stale, upload))

    def _shared(self, digest: str, start: Callable[[], Awaitable[str]]) -> asyncio.Future[str]:
        """The upload of ``digest`` in flight, or one begun now with ``start()``: one per image at a time."""
        pending = self._pending.get(digest)
        if pending is None:
            pending = self._pending[digest] = asyncio.ensure_future(self._remember(digest, start()))
        return pending

    async def _remember(self, digest: str, upload: Awaitable[str]) -> str:
        try:
            url = await upload
        finally:
            del self._pending[digest]
        self._known[digest] = url
        if self._journal is not None:
            self._journal.record_upload(digest, url)
        return url

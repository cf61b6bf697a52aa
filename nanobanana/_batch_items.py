"""Batch items: what one item of a batch is, reading them from a JSONL file, and checking a batch's items as a set."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError

from ._exceptions import InvalidInputError, invalid_input
from .types import GenerationRequest

_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class BatchItem(GenerationRequest):
    """One generation of a batch: a `GenerationRequest` plus local inputs and naming.

    Batch files (JSONL) hold one of these per line, e.g.
    ``{"id": "look-1", "prompt": "...", "images": ["me.png", "outfit.png"], "resolution": "2K"}``.

    Attributes:
        id: A stable name for the item: the journal key and the output file's stem. Defaults to the item's
            position and a hash of its content. Ids must be unique within a batch.
        images: Inputs to upload (local paths) or use as they are (URLs), after ``image_urls``.
        output: The output file name inside the batch's ``output_dir``; defaults to ``<id>.<format>``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    images: tuple[str, ...] = ()
    output: str | None = None

    def to_request(self) -> GenerationRequest:
        """The request without the batch-only fields."""
        return GenerationRequest.model_validate(self.model_dump(exclude={"id", "images", "output"}))

    def digest(self) -> str:
        """A hash of the item's content, to tell whether a journal's item is this one."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def key(self, index: int) -> str:
        """The item's journal key: its ``id``, else its position and a hash of its content."""
        if self.id:
            return self.id
        return f"{index}-{self.digest()[:12]}"


BatchInput = BatchItem | GenerationRequest | Mapping[str, Any] | str
"""A batch item: a `BatchItem`, a `GenerationRequest`, a dict of `BatchItem` fields, or just a prompt."""


def to_item(value: BatchInput) -> BatchItem:
    """Turn any accepted input into a `BatchItem`."""
    if isinstance(value, BatchItem):
        return value
    try:
        if isinstance(value, GenerationRequest):
            return BatchItem.model_validate(value.model_dump())
        if isinstance(value, str):
            return BatchItem(prompt=value)
        if not isinstance(value, Mapping):
            raise InvalidInputError(f"invalid batch item: expected a prompt, a dict or a BatchItem, got {value!r}")
        return BatchItem.model_validate(dict(value))
    except ValidationError as exc:
        raise invalid_input(exc, "batch item") from exc


@dataclass(frozen=True)
class PlannedItem:
    """One input of a batch, checked: its item, key and content hash, or the error that makes it fail on its own."""

    index: int
    key: str
    item: BatchItem | None
    error: InvalidInputError | None
    target: Path | None
    digest: str | None


def _target(index: int, item: BatchItem, output_dir: Path | None) -> Path | None:
    if output_dir is None:
        return None
    name = item.output or f"{item.id or f'{index:05d}'}.{_EXTENSIONS[item.output_format]}"
    return output_dir / name


def _planned(index: int, value: BatchInput, output_dir: Path | None) -> PlannedItem:
    try:
        item = to_item(value)
    except InvalidInputError as exc:
        return PlannedItem(index=index, key=f"#{index}", item=None, error=exc, target=None, digest=None)
    target = _target(index, item, output_dir)
    return PlannedItem(index=index, key=item.key(index), item=item, error=None, target=target, digest=item.digest())


def _refuse_repeats(names: list[str], what: str, hint: str) -> None:
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        shown = ", ".join(repr(name) for name in repeated[:5]) + (" ..." if len(repeated) > 5 else "")
        raise InvalidInputError(f"batch items must have unique {what}; repeated: {shown}. {hint}")


def plan_items(inputs: Sequence[BatchInput], output_dir: Path | None) -> list[PlannedItem]:
    """Check every input and the batch as a whole; an invalid input becomes an item that fails on its own.

    Raises:
        InvalidInputError: Two items share an id (they would share a journal entry and be paid for twice) or an
            output file (one result would overwrite the other).
    """
    planned = [_planned(index, value, output_dir) for index, value in enumerate(inputs)]
    _refuse_repeats([p.key for p in planned if p.item is not None], "ids", "Give each item its own id.")
    _refuse_repeats(
        [str(p.target) for p in planned if p.target is not None],
        "output files",
        "Give each item its own id or output name.",
    )
    return planned


def fingerprint(planned: Sequence[PlannedItem]) -> str:
    """A hash of a batch's items (their keys and contents), recorded in its journal's header."""
    digest = hashlib.sha256()
    for p in planned:
        digest.update(f"{p.key}\0{p.digest or ''}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def _read_lines(source: Path) -> list[str]:
    try:
        return source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInputError(f"cannot read batch file {str(source)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"batch file {str(source)!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSONL"
        ) from None


def read_batch_file(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Read a JSONL batch file: one `BatchItem` (a JSON object, or a JSON string as the prompt) per line.

    Blank lines and lines starting with ``#`` are skipped. Relative image paths are resolved against the
    file's folder.

    Raises:
        InvalidInputError: The file is missing, not UTF-8, or a line is not a valid item (the message names the
            line).
    """
    source = Path(path).expanduser()
    items: list[BatchItem] = []
    for number, line in enumerate(_read_lines(source), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = to_item(json.loads(line))
        except (ValueError, InvalidInputError) as exc:
            raise InvalidInputError(f"{source}:{number}: {exc}") from None
        images = tuple(
            image if "://" in image or Path(image).is_absolute() else str(source.parent / image)
            for image in item.images
        )
        items.append(item.model_copy(update={"images": images}))
    return items

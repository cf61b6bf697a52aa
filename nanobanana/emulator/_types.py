"""`Knobs`: the keyword arguments of `Emulator` and `Emulator.configure`, typed."""

from __future__ import annotations

from typing import TypedDict

from ._durations import Durations


class Knobs(TypedDict, total=False):
    """The `EmulatorConfig` fields, as keyword arguments; see `EmulatorConfig` for their meaning."""

    finish_after: float | tuple[float, float] | Durations
    states: tuple[str, ...]
    failure_rate: float
    failure_state: str
    failure_message: str
    require_auth: bool
    seed: int | None
    result_size: tuple[int, int] | None
    record_requests: bool
    credits: int | None
    rate_limit: float | None
    upload_lifetime: float | None

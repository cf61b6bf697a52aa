"""`EmulatorConfig`: the emulator's behaviour knobs, validated, changeable while it runs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._durations import Durations


class EmulatorConfig(BaseModel):
    """How the emulated API behaves. Set at start (``Emulator(**knobs)``) or later (``emu.configure(...)``).

    A change applies to tasks created after it; tasks already created keep the plan they were given.

    Attributes:
        finish_after: Seconds from create to the final state: a number, a ``(low, high)`` range to draw from
            (seeded), or a `Durations` distribution (normal, two modes, drifting over time, ...).
        states: The state words a running task reports, in order, spread evenly over ``finish_after``.
            The real service was seen answering ``waiting``.
        failure_rate: Share of tasks, 0 to 1, that end in failure instead of ``succeed``.
        failure_state: The state word of a failed task (``failed`` and ``error`` are seen in other clients).
        failure_message: The ``failMsg`` of a failed task.
        require_auth: Answer 401 to API calls without a valid session token (see `Emulator.issue_token`).
        seed: Seeds task ids, durations, failures and fault rates, for reproducible runs; None for random.
        result_size: The ``(width, height)`` of result images; None uses the request's width and height
            (capped at 2048).
        record_requests: Keep every request in `Emulator.requests` (counts are always kept).
        credits: Creates left before the emulator answers 402 Payment Required; None for no limit. Each
            create spends one.
        rate_limit: Requests per second the API accepts (create, status and upload, all sessions together,
            with a one-second burst); beyond it, 429 with ``Retry-After``, like a real rate limiter. None for
            no limit.
        upload_lifetime: Seconds the file host keeps an uploaded file; after that it is gone (404), and a create
            naming it is refused with 400 ("Input image URL has expired: <url>"), as a service that cleans up
            uploads would. ``0`` makes every upload gone at once; None (the default) keeps them for ever. See
            also `Emulator.expire_uploads`.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    finish_after: float | tuple[float, float] | Durations = Field(default=2.0)
    states: tuple[str, ...] = ("waiting",)
    failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    failure_state: str = "failed"
    failure_message: str = "The image could not be generated (emulated failure)."
    require_auth: bool = True
    seed: int | None = None
    result_size: tuple[int, int] | None = (512, 512)
    record_requests: bool = True
    credits: int | None = Field(default=None, ge=0)
    rate_limit: float | None = Field(default=None, gt=0)
    upload_lifetime: float | None = Field(default=None, ge=0)

    @field_validator("finish_after")
    @classmethod
    def _non_negative(cls, value: float | tuple[float, float] | Durations) -> float | tuple[float, float] | Durations:
        if isinstance(value, Durations):
            return value
        low, high = value if isinstance(value, tuple) else (value, value)
        if low < 0 or high < low:
            raise ValueError("finish_after must be >= 0, or a (low, high) range with 0 <= low <= high")
        return value

    @field_validator("states")
    @classmethod
    def _words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not word for word in value):
            raise ValueError("states must hold at least one non-empty state word")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> EmulatorConfig:
        if self.result_size is not None and not all(0 < side <= 8192 for side in self.result_size):
            raise ValueError("result_size sides must be between 1 and 8192 pixels")
        return self

"""`Durations`: how long emulated tasks run, drawn from a distribution that may drift over time."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Durations(BaseModel):
    """A distribution of task run times in seconds, for ``finish_after``; build one with its class methods.

    A draw is never negative. With ``drift``, every draw is multiplied by ``1 + drift * minutes`` (minutes since
    the emulator started, never below 0.1): a service that gets slower (``drift > 0``) or faster over time.

    Attributes:
        shape: ``fixed`` (always ``center``), ``uniform`` (``center ± spread``) or ``normal`` (``spread`` is the
            standard deviation).
        center: Seconds.
        spread: Seconds (see ``shape``).
        other: A second mode: a share ``other_share`` of the draws come from it instead.
        other_share: The share of draws from ``other``, 0 to 1.
        drift: Relative change of run times per minute.

    Example:
        ```python
        emu.configure(finish_after=Durations.two_modes(Durations.normal(10, 1), Durations.normal(40, 2)))
        ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    shape: Literal["fixed", "uniform", "normal"] = "fixed"
    center: float = Field(ge=0)
    spread: float = Field(default=0.0, ge=0)
    other: Durations | None = None
    other_share: float = Field(default=0.5, ge=0, le=1)
    drift: float = 0.0

    @model_validator(mode="after")
    def _uniform_stays_positive(self) -> Durations:
        if self.shape == "uniform" and self.spread > self.center:
            raise ValueError("a uniform range must not reach below 0 s: spread must be at most center")
        return self

    @classmethod
    def fixed(cls, seconds: float) -> Durations:
        """Every task runs ``seconds``."""
        return cls(center=seconds)

    @classmethod
    def uniform(cls, low: float, high: float) -> Durations:
        """Run times spread evenly between ``low`` and ``high``."""
        if high < low:
            raise ValueError("high must be at least low")
        return cls(shape="uniform", center=(low + high) / 2, spread=(high - low) / 2)

    @classmethod
    def normal(cls, mean: float, sd: float) -> Durations:
        """Run times around ``mean`` with standard deviation ``sd`` (a draw below 0 counts as 0)."""
        return cls(shape="normal", center=mean, spread=sd)

    @classmethod
    def two_modes(cls, first: Durations, second: Durations, *, second_share: float = 0.5) -> Durations:
        """A share ``1 - second_share`` of run times drawn from ``first``, the rest from ``second``."""
        return first.model_copy(update={"other": second, "other_share": second_share})

    def drifting(self, per_minute: float) -> Durations:
        """The same distribution, changing by ``per_minute`` of itself each minute (0.5: half as slow again)."""
        return self.model_copy(update={"drift": per_minute})

    def draw(self, rng: random.Random, minutes: float = 0.0) -> float:
        """One run time, ``minutes`` after the emulator started."""
        mode = self.other if self.other is not None and rng.random() < self.other_share else self
        if mode.shape == "uniform":
            seconds = rng.uniform(mode.center - mode.spread, mode.center + mode.spread)
        elif mode.shape == "normal":
            seconds = rng.gauss(mode.center, mode.spread)
        else:
            seconds = mode.center
        return max(0.0, seconds) * max(0.1, 1.0 + self.drift * minutes)

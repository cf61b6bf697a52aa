"""The emulator's task durations: drawn from a distribution, seeded, optionally drifting."""

from __future__ import annotations

import random
import statistics

import pytest
from pydantic import ValidationError

from nanobanana import NanoBanana
from nanobanana.emulator import Durations, Emulator, EmulatorConfig


def _draws(durations: Durations, n: int = 2000, minutes: float = 0.0) -> list[float]:
    rng = random.Random(5)
    return [durations.draw(rng, minutes) for _ in range(n)]


def test_a_fixed_duration_is_always_the_same() -> None:
    assert set(_draws(Durations.fixed(35.0), 10)) == {35.0}


def test_a_uniform_duration_stays_within_its_range() -> None:
    draws = _draws(Durations.uniform(25.0, 45.0))
    assert min(draws) >= 25.0
    assert max(draws) <= 45.0
    assert statistics.fmean(draws) == pytest.approx(35.0, abs=0.5)


def test_a_normal_duration_centres_on_its_mean() -> None:
    draws = _draws(Durations.normal(35.0, 1.5))
    assert statistics.fmean(draws) == pytest.approx(35.0, abs=0.2)
    assert statistics.stdev(draws) == pytest.approx(1.5, abs=0.2)


def test_a_normal_duration_is_never_negative() -> None:
    assert min(_draws(Durations.normal(0.5, 2.0))) >= 0.0


def test_two_modes_split_the_draws_by_share() -> None:
    draws = _draws(Durations.two_modes(Durations.normal(10, 1), Durations.normal(40, 2), second_share=0.25))
    assert sum(d > 25 for d in draws) / len(draws) == pytest.approx(0.25, abs=0.04)


def test_drift_scales_durations_with_the_minutes_elapsed() -> None:
    drifting = Durations.fixed(10.0).drifting(0.5)
    assert _draws(drifting, 1, minutes=0.0) == [10.0]
    assert _draws(drifting, 1, minutes=2.0) == [20.0]


def test_a_uniform_range_reaching_below_zero_is_refused() -> None:
    with pytest.raises(ValidationError):
        Durations(shape="uniform", center=1.0, spread=2.0)


def test_the_config_accepts_a_distribution_and_keeps_it_across_a_change() -> None:
    config = EmulatorConfig(finish_after=Durations.normal(35.0, 1.5))
    changed = config.model_validate({**config.model_dump(), "seed": 2})
    assert changed.finish_after == Durations.normal(35.0, 1.5)


async def test_tasks_finish_after_a_drawn_duration() -> None:
    async with Emulator(finish_after=Durations.uniform(100.0, 200.0), seed=1) as emu:
        async with NanoBanana(base_url=emu.url, session_token=emu.issue_token()) as client:
            tasks = [await client.create("a banana in space") for _ in range(5)]
        durations = {emu.tasks[task.task_id].finish_after for task in tasks}
    assert len(durations) == 5
    assert all(100.0 <= d <= 200.0 for d in durations)

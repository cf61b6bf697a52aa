"""The pacer's rate meter: what a 429 halves must be the rate the client was really sending at."""

from __future__ import annotations

import pytest

from nanobanana._pacing import _METER_SAMPLES, _RateMeter


def _ticked(times: list[float]) -> _RateMeter:
    meter = _RateMeter()
    for now in times:
        meter.tick(now)
    return meter


def test_a_first_burst_is_divided_by_the_time_it_took() -> None:
    meter = _ticked([10.0 + i * 0.005 for i in range(100)])  # 100 requests over half a second
    assert meter.rate(10.5) == pytest.approx(200, rel=0.02)


def test_starts_older_than_the_window_are_not_counted() -> None:
    meter = _ticked([1.0 + i * 0.01 for i in range(100)] + [5.0 + i * 0.01 for i in range(50)])
    assert meter.rate(5.5) == pytest.approx(100, rel=0.05)
    assert meter.rate(60.0) == 0.0


def test_a_rate_above_what_the_meter_keeps_is_still_measured() -> None:
    # 5,000 requests a second for two seconds: more than the meter keeps, so it measures over the last ones.
    meter = _ticked([i / 5_000 for i in range(10_000)])
    assert len(meter._starts) == _METER_SAMPLES
    assert meter.rate(2.0) == pytest.approx(5_000, rel=0.01)

"""The run-time model and the learned wait schedule, as pure functions: no clock, no network."""

from __future__ import annotations

import bisect
import itertools
import random
from datetime import datetime, timedelta, timezone

import pytest

from nanobanana import PollPolicy, TaskStatus
from nanobanana._learned_schedule import (
    MIN_GAP,
    TAIL_MAX_GAP,
    Planner,
    delay_after,
    observed_span,
    plan_looks,
)
from nanobanana._timing import ANY_KIND, WINDOW, Distribution, TaskTimings, kind_of, prior_distribution
from nanobanana._wait_schedule import Finished, FixedSchedule

KIND = kind_of("1K", 1)


def _learned(*run_times: float, kind: tuple[str, int] = KIND) -> TaskTimings:
    timings = TaskTimings()
    for seconds in run_times:
        timings.observe(kind, (seconds, seconds))
    return timings


def _calls(looks: tuple[float, ...], run_time: float) -> int:
    """Status calls a wait following ``looks`` (no jitter) makes for a task of ``run_time`` seconds."""
    elapsed, calls = 0.0, 0
    while elapsed < run_time:
        elapsed += delay_after(looks, elapsed)
        calls += 1
    return calls


def _status(run_time: float, word: str = "succeed") -> TaskStatus:
    created = datetime(2026, 1, 6, tzinfo=timezone.utc)
    generation = {
        "id": "t",
        "status": word,
        "createdDate": created.isoformat(),
        "updatedDate": (created + timedelta(seconds=run_time)).isoformat(),
    }
    return TaskStatus.model_validate({"taskId": "t", "generations": [generation]})


# --- the model ---------------------------------------------------------------------------------------------


def test_a_distribution_of_one_span_spreads_evenly_over_it() -> None:
    distribution = Distribution([(10.0, 20.0, 1.0)])
    assert distribution.cdf(5.0) == 0.0
    assert distribution.cdf(15.0) == pytest.approx(0.5)
    assert distribution.cdf(25.0) == 1.0
    assert distribution.quantile(0.25) == pytest.approx(12.5)


def test_weights_shift_the_distribution_towards_the_heavier_span() -> None:
    distribution = Distribution([(0.0, 10.0, 3.0), (10.0, 20.0, 1.0)])
    assert distribution.cdf(10.0) == pytest.approx(0.75)


def test_the_prior_centres_on_the_captured_task() -> None:
    median = prior_distribution().quantile(0.5)
    assert 25.0 <= median <= 45.0


def test_a_kind_keeps_only_its_newest_window_of_spans() -> None:
    timings = _learned(*[float(i) for i in range(WINDOW + 10)])
    assert timings.count(KIND) == WINDOW
    assert min(low for low, _ in timings.snapshot()[KIND]) == 10.0


def test_the_least_recently_observed_kind_is_forgotten_first() -> None:
    timings = TaskTimings(max_kinds=2)
    timings.observe(kind_of("1K", 0), (1.0, 1.0))
    timings.observe(kind_of("2K", 0), (1.0, 1.0))
    timings.observe(kind_of("1K", 0), (1.0, 1.0))
    timings.observe(kind_of("4K", 0), (1.0, 1.0))
    assert set(timings.snapshot()) == {kind_of("1K", 0), kind_of("4K", 0)}


def test_input_images_beyond_four_count_as_four() -> None:
    assert kind_of("2K", 9) == kind_of("2K", 4)


def test_a_single_outlier_barely_moves_the_median() -> None:
    timings = _learned(*([35.0] * 20), 600.0)
    assert timings.distribution(KIND).quantile(0.5) == pytest.approx(35.0, abs=1.5)


def test_recent_run_times_outweigh_old_ones_when_the_service_slows_down() -> None:
    timings = _learned(*([20.0] * 30), *([40.0] * 12))
    assert timings.distribution(KIND).quantile(0.5) > 30.0


def test_a_new_kind_borrows_from_the_kinds_already_seen() -> None:
    timings = _learned(*([6.0] * 10), kind=kind_of("1K", 0))
    assert timings.distribution(kind_of("4K", 2)).quantile(0.5) == pytest.approx(6.0, abs=1.0)


def test_negative_and_huge_spans_are_clipped() -> None:
    timings = TaskTimings()
    timings.observe(KIND, (-5.0, 1e9))
    ((low, high),) = timings.snapshot()[KIND]
    assert low == 0.0
    assert high <= 3600.0


def test_take_fresh_hands_over_what_was_learned_here_once() -> None:
    timings = TaskTimings()
    timings.load({KIND: [(30.0, 30.0)]})
    timings.observe(KIND, (31.0, 31.0))
    assert timings.take_fresh() == {KIND: [(31.0, 31.0)]}
    assert timings.take_fresh() == {}
    assert timings.count(KIND) == 2


# --- what a finished wait teaches --------------------------------------------------------------------------


def test_the_servers_run_time_is_believed_when_it_fits_what_the_client_saw() -> None:
    assert observed_span(Finished(33.0, 36.0, _status(35.4), 9)) == pytest.approx((35.4, 35.4))


def test_a_server_run_time_that_contradicts_the_client_falls_back_to_the_window() -> None:
    assert observed_span(Finished(33.0, 36.0, _status(80.0), 9)) == (33.0, 36.0)


def test_server_dates_with_and_without_a_time_zone_fall_back_to_the_window() -> None:
    generation = {"id": "t", "status": "succeed", "createdDate": "2026-01-06T00:00:00Z"}
    generation["updatedDate"] = "2026-01-06T00:00:35"
    status = TaskStatus.model_validate({"taskId": "t", "generations": [generation]})
    assert observed_span(Finished(33.0, 36.0, status, 9)) == (33.0, 36.0)


def test_without_server_dates_the_run_time_lies_between_the_last_two_looks() -> None:
    status = TaskStatus.model_validate({"taskId": "t", "generations": [{"id": "t", "status": "succeed"}]})
    assert observed_span(Finished(None, 4.0, status, 1)) == (0.0, 4.0)


def test_a_finished_schedule_teaches_its_kind() -> None:
    planner = Planner(TaskTimings())
    planner.schedule(KIND, random.Random(1)).finished(Finished(30.0, 36.0, _status(35.0), 8))
    assert planner.timings.snapshot() == {KIND: [(35.0, 35.0)]}


# --- the plan ----------------------------------------------------------------------------------------------


def test_a_warm_plan_looks_rarely_before_a_narrow_window_and_densely_inside_it() -> None:
    looks = plan_looks(_learned(*[35.0 + (i % 7 - 3) for i in range(30)]).distribution(KIND))
    before = [t for t in looks if t < 31.0]
    inside = [t for t in looks if 32.0 <= t <= 38.0]
    assert len(before) <= 3
    assert len(inside) >= 3
    assert max(b - a for a, b in itertools.pairwise(inside)) <= 2.0


def test_a_warm_plan_beats_fixed_3_5_s_polling_on_calls_for_a_35_s_task() -> None:
    looks = plan_looks(_learned(*[35.0 + (i % 7 - 3) for i in range(30)]).distribution(KIND))
    assert _calls(looks, 35.0) < 35.0 / 3.5 * 0.65


def test_a_cold_plan_makes_no_more_calls_than_fixed_3_5_s_polling_for_the_captured_task() -> None:
    looks = Planner(TaskTimings()).looks(ANY_KIND)
    assert _calls(looks, 35.4) <= 11  # fixed 3.5 s polling: 11 calls


def test_fast_tasks_get_no_more_calls_than_the_default_poll_policy_on_average_once_seen() -> None:
    looks = plan_looks(_learned(*[2.0 + (i % 7) for i in range(30)]).distribution(KIND))
    policy = PollPolicy(jitter=0.0)
    default_looks = tuple(sum(policy.interval(max(1, i)) for i in range(n)) for n in range(1, 12))
    run_times = [2.0 + i / 10 for i in range(61)]
    learned = sum(_calls(looks, t) for t in run_times)
    default = sum(bisect.bisect_left(default_looks, t) + 1 for t in run_times)
    assert learned <= default


def test_past_the_plan_gaps_grow_gently_up_to_a_ceiling() -> None:
    looks = (10.0, 20.0)
    gaps = [delay_after(looks, 20.0 + past) for past in (0.0, 5.0, 60.0, 600.0)]
    assert gaps == sorted(gaps)
    assert gaps[0] < 2.0
    assert gaps[-1] == TAIL_MAX_GAP


def test_a_look_made_a_little_early_by_jitter_is_not_made_again() -> None:
    looks = (10.0, 20.0, 22.0)
    assert delay_after(looks, 19.9) == pytest.approx(2.1)


def test_no_gap_is_shorter_than_the_minimum() -> None:
    looks = plan_looks(_learned(*([0.0] * 30)).distribution(KIND))
    assert min(b - a for a, b in zip((0.0, *looks), looks, strict=False)) >= MIN_GAP


def test_jitter_spreads_waits_started_together() -> None:
    planner = Planner(_learned(*([35.0] * 20)))
    rng = random.Random(7)
    delays = {round(planner.schedule(KIND, rng).next_delay(0.0, 0), 6) for _ in range(20)}
    assert len(delays) == 20


def test_the_plan_follows_new_observations() -> None:
    planner = Planner(_learned(*([35.0] * 20)))
    first = planner.looks(KIND)[0]
    for _ in range(20):
        planner.timings.observe(KIND, (8.0, 8.0))
    assert planner.looks(KIND)[0] < first


def test_a_fixed_schedule_follows_its_policy() -> None:
    schedule = FixedSchedule(PollPolicy(initial=1.0, multiplier=2.0, maximum=5.0, jitter=0.0), random.Random(1))
    assert [schedule.next_delay(0.0, calls) for calls in (0, 1, 2, 3, 4)] == [1.0, 1.0, 2.0, 4.0, 5.0]

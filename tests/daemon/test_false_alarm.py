"""The false-alarm budget: the crossing-rate formula against simulated white noise."""

from __future__ import annotations

import random

import pytest

from hullwatch.daemon.false_alarm import (
    SECONDS_PER_DAY,
    crossing_rate_per_s,
    student_threshold,
    threshold_sigma,
    window_thresholds,
)
from hullwatch.daemon.window_bank import LineFitBank


def test_threshold_solves_the_rate() -> None:
    z = threshold_sigma(60.0, 1e-8)
    assert crossing_rate_per_s(z, 60.0) == pytest.approx(1e-8, rel=1e-6)
    # A longer window decorrelates more slowly: fewer chances, lower threshold.
    assert threshold_sigma(600.0, 1e-8) < z < threshold_sigma(4.0, 1e-8)


def test_budget_is_split_between_windows() -> None:
    one = window_thresholds([60.0], 365.0)[0]
    shared = window_thresholds([60.0] * 10, 365.0)
    assert all(z > one for z in shared)
    rate = sum(crossing_rate_per_s(z, 60.0) for z in shared)
    assert rate == pytest.approx(1.0 / (365.0 * SECONDS_PER_DAY), rel=1e-6)


@pytest.mark.parametrize("level", [3.5])
def test_crossings_of_white_noise_stay_within_the_predicted_rate(level: float) -> None:
    """A 4 s window at 25 Hz over 20000 s of sealed-chamber noise: slope/SE rises
    above Student's quantile for `level` no more often than (3/W)·z·φ(z) per
    second (the continuous-time rate; sampling only removes crossings), and not
    absurdly less often, or the budget would be wasted. (Against the Gaussian
    level itself it crosses ~1.4 times too often: the SE is estimated.)"""
    rng = random.Random(7)
    window_s, rate_hz, duration_s = 4.0, 25.0, 20000.0
    bank = LineFitBank((window_s,))
    crossings = 0
    above = False
    for k in range(int(duration_s * rate_hz)):
        t = k / rate_hz
        bank.add(t, rng.gauss(0.0, 1.6))
        if t < window_s:
            continue
        fit = bank.fit(0)
        assert fit is not None
        now_above = -fit.slope / fit.slope_stderr > student_threshold(level, fit.sample_count - 2)
        crossings += now_above and not above
        above = now_above
    predicted = crossing_rate_per_s(level, window_s) * (duration_s - window_s)
    assert 0.5 * predicted < crossings < 1.0 * predicted


def test_student_threshold_is_above_the_gaussian_and_meets_it_at_many_samples() -> None:
    assert student_threshold(6.4, 98) == pytest.approx(7.15, abs=0.05)
    assert student_threshold(6.4, 1e6) == pytest.approx(6.4, abs=1e-4)

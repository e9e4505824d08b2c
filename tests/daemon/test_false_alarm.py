"""The false-alarm budget: the crossing-rate formula against simulated white noise."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from hullwatch.daemon.detection.false_alarm import (
    SECONDS_PER_DAY,
    crossing_rate_per_s,
    student_threshold,
    threshold_sigma,
    window_thresholds,
)
from hullwatch.daemon.detection.window_bank import LineFitBank


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


WINDOW_S, RATE_HZ, DURATION_S = 4.0, 25.0, 20000.0


def _crossings(bank: LineFitBank, seed: int, above_level: Callable[[LineFitBank], bool]) -> int:
    """Up-crossings over DURATION_S of white noise (1.6 Pa at RATE_HZ), counted once
    every window of `bank` is full; `above_level` judges the refreshed bank."""
    rng = random.Random(seed)
    crossings = 0
    above = False
    for k in range(int(DURATION_S * RATE_HZ)):
        t = k / RATE_HZ
        bank.add(t, rng.gauss(0.0, 1.6))
        if t < bank.windows_s[-1]:
            continue
        bank.refresh()
        now_above = above_level(bank)
        crossings += now_above and not above
        above = now_above
    return crossings


@pytest.mark.parametrize("level", [3.5])
def test_crossings_of_white_noise_stay_within_the_predicted_rate(level: float) -> None:
    """A 4 s window at 25 Hz over 20000 s of sealed-chamber noise: slope/SE rises
    above Student's quantile for `level` no more often than (3/W)·z·φ(z) per
    second (the continuous-time rate; sampling only removes crossings), and not
    absurdly less often, or the budget would be wasted. (Against the Gaussian
    level itself it crosses ~1.4 times too often: the SE is estimated.)"""

    def above_level(bank: LineFitBank) -> bool:
        required = student_threshold(level, bank.counts[0] - 2)
        return -bank.slopes[0] / bank.slope_stderrs[0] > required

    crossings = _crossings(LineFitBank((WINDOW_S,)), 7, above_level)
    predicted = crossing_rate_per_s(level, WINDOW_S) * (DURATION_S - WINDOW_S)
    assert 0.5 * predicted < crossings < 1.0 * predicted


def test_student_threshold_is_above_the_gaussian_and_meets_it_at_many_samples() -> None:
    assert student_threshold(6.4, 98) == pytest.approx(7.15, abs=0.05)
    assert student_threshold(6.4, 1e6) == pytest.approx(6.4, abs=1e-4)


def test_crossings_with_the_pooled_noise_stay_within_the_predicted_rate() -> None:
    """The pooled test: a 4 s window's slope over its standard error with the noise
    of a 64 s window (~1600 samples). Its tail is nearly Gaussian, so Student's
    quantile at the pooled degrees of freedom keeps it within (3/W)·z·φ(z)."""
    level, longest_s = 3.5, 64.0

    def above_level(bank: LineFitBank) -> bool:
        pooled_stderr = (bank.residual_variances[1] / bank.sxxs[0]) ** 0.5
        required = student_threshold(level, bank.counts[1] - 2)
        return -bank.slopes[0] / pooled_stderr > required

    crossings = _crossings(LineFitBank((WINDOW_S, longest_s)), 8, above_level)
    predicted = crossing_rate_per_s(level, WINDOW_S) * (DURATION_S - longest_s)
    assert 0.5 * predicted < crossings < 1.0 * predicted

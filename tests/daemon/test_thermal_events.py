"""The die's response to a gas step or ramp, found and fitted (`thermal_events`)."""

from __future__ import annotations

import math
import random

import pytest

from hullwatch.daemon.detection.thermal_events import EVENT_SIGMA, MIN_GAP_LAGS, ThermalEvents

LAG_S = 50.0
WINDOW_S = 600.0
STEP_AT_S = 900.0
STEP_K = -0.25
BLOCK_NOISE_K = 0.0004  # a 1 s mean of 25 samples of 2 mK


def _die_k(t_s: float) -> float:
    """A slow cycle plus a gas step at STEP_AT_S, seen through LAG_S."""
    cycle = 0.3 * math.sin(2.0 * math.pi * t_s / 5520.0)
    z = t_s - STEP_AT_S
    return 295.0 + cycle + (STEP_K * (1.0 - math.exp(-z / LAG_S)) if z > 0 else 0.0)


def _blocks(until_s: float, seed: int = 1) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    times = [t + 0.5 for t in range(int(until_s - WINDOW_S - 10), int(until_s))]
    return times, [_die_k(t) + rng.gauss(0.0, BLOCK_NOISE_K) for t in times]


def _found_at(detect_s: float) -> ThermalEvents:
    events = ThermalEvents(lag_s=LAG_S, window_s=WINDOW_S)
    times, means = _blocks(detect_s)
    events.update(detect_s, times, means, closed=1, misfit_sigma=EVENT_SIGMA + 1.0)
    return events


def test_the_step_is_found_within_seconds_of_when_it_came() -> None:
    events = _found_at(STEP_AT_S + 20.0)
    assert len(events.events_s) == 1
    assert events.events_s[0] == pytest.approx(STEP_AT_S, abs=3.0)


def test_a_misfit_within_its_noise_finds_nothing() -> None:
    events = ThermalEvents(lag_s=LAG_S, window_s=WINDOW_S)
    times, means = _blocks(STEP_AT_S + 20.0)
    events.update(STEP_AT_S + 20.0, times, means, closed=1, misfit_sigma=EVENT_SIGMA - 1.0)
    assert events.events_s == ()
    assert events.fit(STEP_AT_S + 20.0, times, means, closed=1) is None


@pytest.mark.parametrize("window_s", [16.0, 32.0, 64.0, 128.0])
def test_the_fitted_correction_is_the_curve_s_own(window_s: float) -> None:
    """slope_LS(T_s') over the window from the fit, against the noiseless curve's
    (6/W²)(T(t−W) + T(t) − 2·mean T), two lags after the step: the cubic alone
    is off by far more than this there."""
    now_s = STEP_AT_S + 2.0 * LAG_S
    events = _found_at(STEP_AT_S + 20.0)
    times, means = _blocks(now_s)
    fit = events.fit(now_s, times, means, closed=2)
    assert fit is not None
    value, stderr = fit.window_correction(now_s, window_s)
    steps = 4000
    mean = sum(_die_k(now_s - window_s + (k + 0.5) * window_s / steps) for k in range(steps))
    mean /= steps
    exact = 6.0 / window_s**2 * (_die_k(now_s - window_s) + _die_k(now_s) - 2.0 * mean)
    assert abs(value - exact) < max(4.0 * stderr, 0.05 * abs(exact))
    # Against the lag-free pressure gain (~17 000 Pa/K in 1 atm, τ 50 s), the
    # uncertainty is far below a 2 mm hole's 0.1 Pa/s in 400 m³.
    assert 17_000.0 * stderr < 0.01


def test_no_second_event_while_the_first_one_s_response_lasts() -> None:
    events = _found_at(STEP_AT_S + 20.0)
    later_s = STEP_AT_S + 0.5 * MIN_GAP_LAGS * LAG_S
    times, means = _blocks(later_s)
    events.update(later_s, times, means, closed=2, misfit_sigma=EVENT_SIGMA + 5.0)
    assert len(events.events_s) == 1


def test_the_transient_lasts_five_lags() -> None:
    events = _found_at(STEP_AT_S + 20.0)
    assert events.transient(STEP_AT_S + 4.0 * LAG_S)
    assert not events.transient(STEP_AT_S + 6.0 * LAG_S)


def test_the_fitted_curve_follows_the_die_through_the_step() -> None:
    now_s = STEP_AT_S + 2.0 * LAG_S
    events = _found_at(STEP_AT_S + 20.0)
    times, means = _blocks(now_s)
    fit = events.fit(now_s, times, means, closed=2)
    assert fit is not None
    for t_s in (now_s - 500.0, STEP_AT_S - 5.0, STEP_AT_S + 10.0, STEP_AT_S + 40.0, now_s):
        assert fit.value_at(t_s) == pytest.approx(_die_k(t_s), abs=4.0 * BLOCK_NOISE_K)

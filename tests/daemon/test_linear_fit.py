"""The sliding least-squares fit: right slope, honest standard error, no drift over long runs."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hullwatch.daemon.detection.linear_fit import SlidingLineFit

RATE_HZ = 25.0
WINDOW_S = 30.0


def _batch_slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxy = sum((t - mean_t) * (y - mean_y) for t, y in points)
    sxx = sum((t - mean_t) ** 2 for t, _ in points)
    return sxy / sxx


def test_needs_three_samples() -> None:
    fit = SlidingLineFit(10.0)
    fit.add(0.0, 1.0)
    fit.add(1.0, 2.0)
    assert fit.fit() is None
    fit.add(2.0, 3.0)
    result = fit.fit()
    assert result is not None
    assert result.slope == pytest.approx(1.0)


def test_rejects_time_going_backwards() -> None:
    fit = SlidingLineFit(10.0)
    fit.add(5.0, 1.0)
    with pytest.raises(ValueError, match="must increase"):
        fit.add(5.0, 1.0)


def test_window_keeps_only_recent_samples() -> None:
    fit = SlidingLineFit(WINDOW_S)
    for k in range(int(100 * RATE_HZ)):
        fit.add(k / RATE_HZ, 0.0)
    result = fit.fit()
    assert result is not None
    assert result.span_s == pytest.approx(WINDOW_S)
    assert result.sample_count == int(WINDOW_S * RATE_HZ) + 1


def test_slope_error_is_calibrated() -> None:
    """Across many noisy windows, |estimate − truth| < 1 SE about 68 % of the time,
    and the SE matches σ·√(12/(N·T²)) (docs/datasheets.md, "Least-squares slope")."""
    true_slope = -0.045
    sigma_pa = 2.3
    within_one_se = 0
    trials = 300
    rng = random.Random(7)
    n = int(WINDOW_S * RATE_HZ)
    expected_se = sigma_pa * math.sqrt(12.0 / (n * WINDOW_S**2))
    for _ in range(trials):
        fit = SlidingLineFit(WINDOW_S)
        for k in range(n):
            t = k / RATE_HZ
            fit.add(t, 101_325.0 + true_slope * t + rng.gauss(0.0, sigma_pa))
        result = fit.fit()
        assert result is not None
        assert result.slope_stderr == pytest.approx(expected_se, rel=0.1)
        if abs(result.slope - true_slope) < result.slope_stderr:
            within_one_se += 1
    assert 0.60 < within_one_se / trials < 0.76


def test_running_sums_match_a_batch_fit_after_a_long_run() -> None:
    """A day at 25 Hz: rebuilding the sums keeps them exact enough."""
    rng = random.Random(3)
    fit = SlidingLineFit(WINDOW_S)
    recent: list[tuple[float, float]] = []
    for k in range(int(24 * 3600 * RATE_HZ / 10)):  # 2.4 h keeps the test fast
        t = 1_000_000.0 + k / RATE_HZ
        y = 101_325.0 - 0.01 * (t - 1_000_000.0) + rng.gauss(0.0, 2.0)
        fit.add(t, y)
        recent.append((t, y))
    window = [(t, y) for t, y in recent if t >= recent[-1][0] - WINDOW_S]
    result = fit.fit()
    assert result is not None
    assert result.slope == pytest.approx(_batch_slope(window), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    slope=st.floats(-50.0, 50.0),
    offset=st.floats(30_000.0, 125_000.0),
    rate_hz=st.sampled_from([1.0, 5.0, 25.0, 100.0]),
)
def test_exact_line_gives_exact_slope(slope: float, offset: float, rate_hz: float) -> None:
    fit = SlidingLineFit(10.0)
    for k in range(int(40 * rate_hz)):
        t = k / rate_hz
        fit.add(t, offset + slope * t)
    result = fit.fit()
    assert result is not None
    assert result.slope == pytest.approx(slope, abs=1e-6)
    newest_t = (int(40 * rate_hz) - 1) / rate_hz
    assert result.intercept_at_last == pytest.approx(offset + slope * newest_t)

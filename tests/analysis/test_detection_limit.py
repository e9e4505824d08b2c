"""The least-squares detection limit for power-law noise (`analysis.detection_limit`)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from hullwatch.analysis.detection_limit import (
    interpolated_thresholds,
    least_squares_limit_s,
    white_limit_s,
)
from hullwatch.daemon.detection.false_alarm import window_thresholds
from hullwatch.daemon.detection.noise_model import NoiseModel

# A bank of windows 4 s to 512 s, √2 apart, with one false alarm a year.
BANK_S = tuple(4.0 * 2 ** (k / 2) for k in range(15))
BANK_Z = window_thresholds(BANK_S, 365.0, extra_tests=len(BANK_S) - 1)


def constant(z: float) -> Callable[[float], float]:
    return lambda _window_s: z


@pytest.mark.parametrize(
    ("rate_pa_per_s", "noise_pa", "rate_hz"),
    [(0.045, 1.6, 25.0), (0.0047, 1.6, 25.0), (196.0, 1.6, 25.0), (0.02, 1.3, 80.0)],
)
def test_white_noise_alone_gives_the_closed_form(
    rate_pa_per_s: float, noise_pa: float, rate_hz: float
) -> None:
    model = NoiseModel(
        white_pa2_s=noise_pa**2 / rate_hz, flicker_pa2=0.0, random_walk_pa2_per_s=0.0
    )
    z_at = interpolated_thresholds(BANK_S, BANK_Z)
    solved = least_squares_limit_s(rate_pa_per_s, model, z_at)
    assert solved == pytest.approx(white_limit_s(rate_pa_per_s, noise_pa, rate_hz, z_at), rel=1e-6)
    # And with a fixed z, T = (12·z²·σ²/(f·r²))^(1/3) itself.
    closed = (12.0 * 6.0**2 * noise_pa**2 / (rate_hz * rate_pa_per_s**2)) ** (1.0 / 3.0)
    assert least_squares_limit_s(rate_pa_per_s, model, constant(6.0)) == pytest.approx(
        closed, rel=1e-9
    )


def test_a_random_walk_alone_gives_nine_c_z_squared_over_r_squared() -> None:
    c = 0.00316  # Pa²/s: the simulator's BMP388 default, 2/15 · 0.154²
    model = NoiseModel(white_pa2_s=0.0, flicker_pa2=0.0, random_walk_pa2_per_s=c)
    for rate in (0.045, 0.0047):
        expected = 9.0 * c * 5.7**2 / rate**2
        assert least_squares_limit_s(rate, model, constant(5.7)) == pytest.approx(
            expected, rel=1e-9
        )


def test_flicker_alone_gives_its_inverse_square_root_law() -> None:
    b = 0.01
    model = NoiseModel(white_pa2_s=0.0, flicker_pa2=b, random_walk_pa2_per_s=0.0)
    expected = 6.0 * math.sqrt(8.690 * b) / 0.05
    assert least_squares_limit_s(0.05, model, constant(6.0)) == pytest.approx(expected, rel=1e-9)


def test_the_limit_of_a_mixed_model_is_where_the_fall_first_reaches_z_standard_errors() -> None:
    # The ISS reference case with the simulator's realistic BMP388 noise.
    model = NoiseModel(
        white_pa2_s=1.6**2 / 25.0, flicker_pa2=0.00316, random_walk_pa2_per_s=0.00316
    )
    z_at = interpolated_thresholds(BANK_S, BANK_Z)
    rate = 0.045
    limit = least_squares_limit_s(rate, model, z_at)
    assert rate == pytest.approx(z_at(limit) * math.sqrt(model.slope_variance(limit)), rel=1e-9)
    # No shorter window reaches it (a grid 1 % apart below the limit).
    shorter = [limit * 0.99**k for k in range(1, 1000)]
    assert all(rate < z_at(t) * math.sqrt(model.slope_variance(t)) for t in shorter)
    # Each term alone is faster: the random walk alone is close, white alone far faster.
    white_only = NoiseModel(model.white_pa2_s, 0.0, 0.0)
    walk_only = NoiseModel(0.0, 0.0, model.random_walk_pa2_per_s)
    assert least_squares_limit_s(rate, white_only, z_at) < 40.0 < limit
    assert 0.8 * limit < least_squares_limit_s(rate, walk_only, z_at) < limit


def test_a_fall_no_window_can_reach_has_no_limit() -> None:
    model = NoiseModel(white_pa2_s=0.1, flicker_pa2=1.0, random_walk_pa2_per_s=0.0)
    # Flicker alone: √V falls as 1/T, so any fall is reached eventually; a zero one never.
    assert least_squares_limit_s(0.0, model, constant(6.0)) == math.inf
    # A z that grows faster than the noise falls (not a real bank) never passes.
    assert least_squares_limit_s(1e-3, model, lambda t: 6.0 * t) == math.inf


def test_thresholds_are_interpolated_in_log_window_and_held_beyond_the_bank() -> None:
    z_at = interpolated_thresholds((4.0, 16.0), (7.0, 6.0))
    assert z_at(1.0) == 7.0
    assert z_at(8.0) == pytest.approx(6.5)
    assert z_at(1e6) == 6.0
    with pytest.raises(ValueError, match="one threshold per window"):
        interpolated_thresholds((4.0,), (7.0, 6.0))

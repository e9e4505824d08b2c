"""The Allan fit and the slope-spread formulas on noise of known kind and size.

Each case is checked against the truth it was generated with, so a wrong
conversion (W = σ²/f, F = 2·ln2·h−1, R = D/3) or a wrong slope-variance
formula (12W/T³, 9h−1/T², 6D/(5T)) fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hullwatch.analysis.allan import allan_deviation
from hullwatch.analysis.noise_model import PowerLawNoise, fit_power_law
from hullwatch.analysis.slope_spread import SlopeSpread, slope_spread

from . import noise

RATE_HZ = 25.0
SAMPLES = 2**16  # 43.7 minutes at 25 Hz
TIMES_S = np.arange(SAMPLES) / RATE_HZ


def _fit(values: noise.FloatArray) -> PowerLawNoise:
    return fit_power_law(allan_deviation(values, RATE_HZ))


def _spread(values: noise.FloatArray, window_s: float) -> SlopeSpread:
    spread = slope_spread(TIMES_S, values, window_s)
    assert spread is not None
    return spread


def _sampling_error(spread: SlopeSpread) -> float:
    """The relative standard error of a standard deviation from n windows."""
    return 1.0 / math.sqrt(2.0 * (spread.windows - 1))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_white_noise_fits_w_within_ten_percent_and_nothing_else(seed: int) -> None:
    sd_pa = 2.0
    values = noise.white(np.random.default_rng(seed), SAMPLES, sd_pa)
    model = _fit(values)
    true_white = sd_pa**2 / RATE_HZ
    assert model.white_pa2_s == pytest.approx(true_white, rel=0.10)
    # F and R ≈ 0: together under a quarter of the white term even at τ = 100 s,
    # where the white term has fallen to W/100.
    tau_s = 100.0
    assert model.flicker_pa2 + model.random_walk_pa2_per_s * tau_s < 0.25 * true_white / tau_s


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_white_noise_slope_spread_is_what_the_white_formula_claims(seed: int) -> None:
    values = noise.white(np.random.default_rng(seed), SAMPLES, 2.0)
    for window_s in (1.0, 4.0, 16.0, 60.0):
        spread = _spread(values, window_s)
        assert spread.ratio == pytest.approx(1.0, abs=3.0 * _sampling_error(spread)), window_s


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_walk_is_identified(seed: int) -> None:
    diffusion_pa2_per_s = 0.3
    values = noise.random_walk(np.random.default_rng(seed), SAMPLES, RATE_HZ, diffusion_pa2_per_s)
    model = _fit(values)
    assert model.random_walk_pa2_per_s == pytest.approx(diffusion_pa2_per_s / 3.0, rel=0.10)
    # The random-walk term dominates from 1 s on.
    assert model.white_pa2_s / 1.0 < 0.1 * model.random_walk_pa2_per_s * 1.0
    assert model.flicker_pa2 < 0.1 * model.random_walk_pa2_per_s * 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_walk_slope_spread_matches_six_d_over_five_t(seed: int) -> None:
    diffusion_pa2_per_s = 0.3
    values = noise.random_walk(np.random.default_rng(seed), SAMPLES, RATE_HZ, diffusion_pa2_per_s)
    for window_s in (1.0, 4.0, 16.0, 60.0):
        spread = _spread(values, window_s)
        predicted = math.sqrt(6.0 * diffusion_pa2_per_s / (5.0 * window_s))
        assert spread.measured_sd_pa_per_s / predicted == pytest.approx(
            1.0, abs=3.0 * _sampling_error(spread)
        ), window_s
        # and it is far from what the white formula claims
        assert spread.ratio > 3.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flicker_is_identified(seed: int) -> None:
    h_minus1_pa2 = 0.5
    values = noise.flicker(np.random.default_rng(seed), SAMPLES, RATE_HZ, h_minus1_pa2)
    model = _fit(values)
    assert model.flicker_pa2 == pytest.approx(2.0 * math.log(2.0) * h_minus1_pa2, rel=0.15)
    assert model.h_minus1_pa2 == pytest.approx(h_minus1_pa2, rel=0.15)
    # at τ = 1 s the flat term is nearly all of the Allan variance
    assert model.flicker_pa2 > 0.9 * model.allan_variance(1.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flicker_slope_spread_matches_nine_h_over_t_squared(seed: int) -> None:
    h_minus1_pa2 = 0.5
    values = noise.flicker(np.random.default_rng(seed), SAMPLES, RATE_HZ, h_minus1_pa2)
    for window_s in (1.0, 4.0, 16.0):
        spread = _spread(values, window_s)
        predicted = math.sqrt(9.0 * h_minus1_pa2) / window_s
        assert spread.measured_sd_pa_per_s / predicted == pytest.approx(
            1.0, abs=3.0 * _sampling_error(spread)
        ), window_s


def test_model_slope_sd_adds_the_three_terms() -> None:
    model = PowerLawNoise(white_pa2_s=0.16, flicker_pa2=0.7, random_walk_pa2_per_s=0.1)
    white, flicker, walk = model.slope_variances(10.0, RATE_HZ)
    samples = 250
    assert white == pytest.approx(0.16 * RATE_HZ * 12.0 * RATE_HZ**2 / (samples * (samples**2 - 1)))
    assert flicker == pytest.approx(9.0 * 0.7 / (2.0 * math.log(2.0)) / 100.0)
    assert walk == pytest.approx(18.0 * 0.1 / 50.0)
    assert model.slope_sd(10.0, RATE_HZ) == pytest.approx(math.sqrt(white + flicker + walk))

"""The simulator's noise parameters as the detector's third-difference model
(`hil.noise_coefficients`), checked against the simulator's own noise process
measured by the detector's own estimator."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hullwatch.daemon.detection.noise_estimate import NoiseEstimate
from hullwatch.hil.noise_coefficients import configured_noise_model, third_difference_model
from hullwatch.hil.scenario import load_scenario
from hullwatch.hil.sensor_noise import SlowNoise, SlowNoiseParameters

RATE_HZ = 5.0
DURATION_S = 20_000.0
# Octaves judged: from the flicker's flat band (1 s) to where a few hundred third
# differences remain (20 000 s / 64 s).
TAUS_S = (1.0, 80.0)
SCENARIOS = Path(__file__).parents[2] / "hil" / "scenarios"


def measured_over_predicted(slow: SlowNoiseParameters, white_pa: float, seed: int) -> float:
    """The simulator's process (its slow offset plus white noise per conversion) through
    NoiseEstimate: Σ dof·V₃ measured / Σ dof·V₃ predicted over the octaves in TAUS_S."""
    rng = random.Random(seed)
    noise = SlowNoise(slow, rng)
    estimate = NoiseEstimate(prior=None, max_scale_s=DURATION_S)
    for k in range(int(DURATION_S * RATE_HZ)):
        t_s = k / RATE_HZ
        estimate.add(t_s, noise.offset_pa(t_s, 25.0) + rng.gauss(0.0, white_pa))
    model = third_difference_model(white_pa=white_pa, rate_hz=RATE_HZ, slow=slow)
    scales = [row for row in estimate.scales() if TAUS_S[0] <= row[0] <= TAUS_S[1]]
    assert len(scales) >= 6
    measured = sum(dof * v for _, v, dof in scales)
    predicted = sum(dof * model.third_difference_variance(tau) for tau, _, dof in scales)
    return measured / predicted


@pytest.mark.parametrize("seed", [1, 2])
def test_flicker_converts_to_its_third_difference_level(seed: int) -> None:
    # b = 0.747·F² (not F², the Allan level: that would read 0.75 here).
    ratio = measured_over_predicted(SlowNoiseParameters(flicker_pa=0.5), 0.0, seed)
    assert 0.9 < ratio < 1.1


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_walk_converts_to_two_fifteenths_of_k_squared(seed: int) -> None:
    # c = 2K²/15 (K²/3, the Allan slope, would read 0.4 here).
    ratio = measured_over_predicted(SlowNoiseParameters(random_walk_pa_per_sqrt_s=0.3), 0.0, seed)
    assert 0.9 < ratio < 1.1


def test_the_bmp388_defaults_with_white_noise_convert_as_a_whole() -> None:
    slow = SlowNoiseParameters(flicker_pa=0.065, random_walk_pa_per_sqrt_s=0.154)
    assert 0.9 < measured_over_predicted(slow, 1.6, seed=3) < 1.1


def test_white_noise_is_its_variance_per_conversion_over_the_rate() -> None:
    model = third_difference_model(white_pa=1.6, rate_hz=25.0, slow=SlowNoiseParameters())
    assert model.white_pa2_s == pytest.approx(1.6**2 / 25.0)
    assert model.flicker_pa2 == 0.0
    assert model.random_walk_pa2_per_s == 0.0
    assert 0.95 < measured_over_predicted(SlowNoiseParameters(), 1.6, seed=4) < 1.05


def test_a_reference_scenario_resolves_its_chips_datasheet_noise() -> None:
    # BMP388 at ×16, IIR off: 1.6 Pa per conversion at 25 Hz (datasheet noise table).
    white = load_scenario(SCENARIOS / "reference" / "iss-2018.toml")
    realistic = load_scenario(SCENARIOS / "reference-realistic" / "iss-2018.toml")
    assert configured_noise_model(white, white.sensors[0]) == third_difference_model(
        white_pa=1.6, rate_hz=25.0, slow=SlowNoiseParameters()
    )
    model = configured_noise_model(realistic, realistic.sensors[0])
    assert model.white_pa2_s == pytest.approx(1.6**2 / 25.0)
    assert model.flicker_pa2 == pytest.approx(0.7471 * 0.065**2, rel=1e-3)
    assert model.random_walk_pa2_per_s == pytest.approx(2.0 / 15.0 * 0.154**2)

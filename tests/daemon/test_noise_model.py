"""The power-law noise model: its constants against simulated noise, and its fit."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from hullwatch.daemon.detection.noise_model import (
    SLOPE_PER_FLICKER,
    SLOPE_PER_RANDOM_WALK,
    THIRD_DIFFERENCE_PER_DIFFUSION,
    NoiseModel,
    fit_power_laws,
)


def _ls_slopes(t: np.ndarray, y: np.ndarray, window_samples: int) -> np.ndarray:
    """Least-squares slopes over consecutive non-overlapping windows."""
    count = len(y) // window_samples
    tt = t[: count * window_samples].reshape(count, window_samples)
    yy = y[: count * window_samples].reshape(count, window_samples)
    tc = tt - tt.mean(axis=1, keepdims=True)
    return (tc * (yy - yy.mean(axis=1, keepdims=True))).sum(axis=1) / (tc * tc).sum(axis=1)


def _third_difference_variance(y: np.ndarray, block_samples: int) -> float:
    count = len(y) // block_samples
    means = y[: count * block_samples].reshape(count, block_samples).mean(axis=1)
    d = means[:-3] - 3 * means[1:-2] + 3 * means[2:-1] - means[3:]
    return float((d * d).mean() / 20.0)


def test_a_random_walks_slope_and_third_difference_follow_the_stated_constants() -> None:
    rate_hz, diffusion = 20.0, 0.05
    rng = np.random.default_rng(1)
    steps = rng.normal(0.0, math.sqrt(diffusion / rate_hz), size=4_000_000)
    y = np.cumsum(steps)
    t = np.arange(len(y)) / rate_hz
    tau_s, window_s = 5.0, 20.0
    v3 = _third_difference_variance(y, int(tau_s * rate_hz))
    assert v3 == pytest.approx(THIRD_DIFFERENCE_PER_DIFFUSION * diffusion * tau_s, rel=0.05)
    slopes = _ls_slopes(t, y, int(window_s * rate_hz))  # 10 000 windows: ±1.4 % in variance
    expected = SLOPE_PER_RANDOM_WALK * THIRD_DIFFERENCE_PER_DIFFUSION * diffusion / window_s
    assert float(slopes.var()) == pytest.approx(expected, rel=0.06)


def test_flicker_noise_has_a_flat_third_difference_and_the_stated_slope_constant() -> None:
    """Flicker made by shaping white noise to 1/f in the frequency domain."""
    rng = np.random.default_rng(2)
    size = 2**22
    spectrum = rng.normal(size=size // 2 + 1) + 1j * rng.normal(size=size // 2 + 1)
    frequencies = np.fft.rfftfreq(size)
    frequencies[0] = frequencies[1]
    y = np.fft.irfft(spectrum / np.sqrt(frequencies), n=size)
    t = np.arange(size, dtype=float)
    levels = [_third_difference_variance(y, block) for block in (16, 64, 256)]
    assert max(levels) / min(levels) < 1.15  # flat in τ
    level = levels[1]
    window = 512
    slopes = _ls_slopes(t, y, window)  # 8192 windows
    measured = float(slopes.var()) * window**2 / level
    assert measured == pytest.approx(SLOPE_PER_FLICKER, rel=0.1)


def test_white_noise_gives_the_textbook_slope_variance() -> None:
    model = NoiseModel.from_physical(
        white_pa=1.6, rate_hz=25.0, flicker_pa2=0.0, diffusion_pa2_per_s=0.0
    )
    # σ·√(12/(f·W³)) for a window of W seconds at f Hz.
    assert math.sqrt(model.slope_variance(30.0)) == pytest.approx(
        1.6 * math.sqrt(12 / (25.0 * 30.0**3))
    )
    assert model.correlated_slope_variance(30.0) == 0.0


def test_the_fit_recovers_each_coefficient_from_exact_values() -> None:
    truth = NoiseModel(white_pa2_s=0.02, flicker_pa2=0.001, random_walk_pa2_per_s=0.004)
    taus = [0.1 * 2**k for k in range(12)]
    fitted = fit_power_laws(taus, [truth.third_difference_variance(t) for t in taus], [1e6] * 12)
    assert fitted is not None
    assert fitted.white_pa2_s == pytest.approx(truth.white_pa2_s, rel=1e-6)
    assert fitted.flicker_pa2 == pytest.approx(truth.flicker_pa2, rel=1e-6)
    assert fitted.random_walk_pa2_per_s == pytest.approx(truth.random_walk_pa2_per_s, rel=1e-6)


def test_the_fit_keeps_every_coefficient_non_negative() -> None:
    taus = [0.5 * 2**k for k in range(8)]
    # White, with the longest scales falling below it: an unconstrained fit would
    # give a negative random walk.
    values = [0.1 / t * (0.5 if t > 20 else 1.0) for t in taus]
    fitted = fit_power_laws(taus, values, [40.0] * 8)
    assert fitted is not None
    assert min(fitted.white_pa2_s, fitted.flicker_pa2, fitted.random_walk_pa2_per_s) >= 0.0


def test_noise_at_the_long_scales_does_not_invent_a_random_walk() -> None:
    """Each measured V₃ of white noise off by its own sampling error: the random
    walk stays out unless the data ask for it."""
    rng = random.Random(3)
    taus = [0.16 * 2**k for k in range(10)]
    dofs = [max(2000.0 / 2**k, 1.5) for k in range(10)]
    kept_out = 0
    for _ in range(50):
        values = [
            0.1 / tau * rng.gammavariate(dof / 2, 2 / dof)
            for tau, dof in zip(taus, dofs, strict=True)
        ]
        fitted = fit_power_laws(taus, values, dofs)
        assert fitted is not None
        kept_out += fitted.correlated_slope_variance(600.0) < fitted.white_slope_variance(600.0)
    assert kept_out >= 45


def test_the_fit_needs_a_usable_scale() -> None:
    assert fit_power_laws([], [], []) is None
    assert fit_power_laws([1.0], [math.nan], [3.0]) is None

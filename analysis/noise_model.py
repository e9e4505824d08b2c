"""The power-law noise model of a pressure sensor, fitted to its Allan variance.

    σ_A²(τ) = W/τ + F + R·τ        W in Pa²·s, F in Pa², R in Pa²/s

the white, flicker and random-walk terms. With the one-sided PSD of the
pressure S_p(f) = h0 + h−1/f + h−2/f² (IEEE Std 1139 power-law model, the
pressure playing the part of y), the standard conversions (NIST SP 1065,
Table of power-law noise; Barnes et al. 1971) are

    W = h0/2,   F = 2·ln2·h−1,   R = (2π²/3)·h−2.

For white samples of standard deviation σ at rate f, W = σ²/f; for a random
walk whose increments have variance D·Δt, R = D/3.

What this module adds is the variance of a least-squares slope over a
window of length T (derived in docs/noise.md):

    white:        Var = σ²/Sxx ≈ 12·W/T³   (σ² = W·f, Sxx of the window's times)
    flicker:      Var = 9·h−1/T² = 9·F/(2·ln2·T²)
    random walk:  Var = 6·D/(5·T) = 18·R/(5·T)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls  # type: ignore[import-untyped]

from .allan import AllanPoint

LN2 = math.log(2.0)
FIT_ITERATIONS = 5


@dataclass(frozen=True)
class PowerLawNoise:
    white_pa2_s: float  # W
    flicker_pa2: float  # F
    random_walk_pa2_per_s: float  # R

    @property
    def h0_pa2_per_hz(self) -> float:
        return 2.0 * self.white_pa2_s

    @property
    def h_minus1_pa2(self) -> float:
        return self.flicker_pa2 / (2.0 * LN2)

    @property
    def h_minus2_pa2_hz(self) -> float:
        return 3.0 * self.random_walk_pa2_per_s / (2.0 * math.pi**2)

    def white_sd_pa(self, rate_hz: float) -> float:
        """The standard deviation of one white sample at `rate_hz`."""
        return math.sqrt(self.white_pa2_s * rate_hz)

    def allan_variance(self, tau_s: float) -> float:
        return self.white_pa2_s / tau_s + self.flicker_pa2 + self.random_walk_pa2_per_s * tau_s

    def slope_variances(self, window_s: float, rate_hz: float) -> tuple[float, float, float]:
        """(white, flicker, random walk) variance of the OLS slope over `window_s`,
        in (Pa/s)²; the white term for the window's `rate_hz` samples exactly."""
        samples = max(round(window_s * rate_hz), 2)
        sxx_s2 = samples * (samples * samples - 1) / (12.0 * rate_hz * rate_hz)
        white = self.white_pa2_s * rate_hz / sxx_s2
        flicker = 9.0 * self.h_minus1_pa2 / window_s**2
        random_walk = 18.0 * self.random_walk_pa2_per_s / (5.0 * window_s)
        return white, flicker, random_walk

    def slope_sd(self, window_s: float, rate_hz: float) -> float:
        return math.sqrt(sum(self.slope_variances(window_s, rate_hz)))


def fit_power_law(points: Sequence[AllanPoint]) -> PowerLawNoise:
    """Non-negative W, F, R by weighted least squares on σ_A²(τ).

    Each point's weight is 1/(its variance's standard error). That error is
    relative (χ² with the point's degrees of freedom) times the true σ_A²;
    the measured σ_A² would weight points that happen to fall low too much,
    so the fit is iterated with the model's σ_A² in its place.
    """
    if not points:
        raise ValueError("no Allan points to fit")
    taus_s = np.array([point.tau_s for point in points])
    variances = np.array([point.deviation**2 for point in points])
    relative_errors = np.array([point.variance_relative_error for point in points])
    design = np.column_stack((1.0 / taus_s, np.ones_like(taus_s), taus_s))
    scale = variances.copy()
    coefficients = np.zeros(3)
    for _ in range(FIT_ITERATIONS):
        sigma = relative_errors * np.maximum(scale, 1e-300)
        coefficients, _ = nnls(design / sigma[:, None], variances / sigma)
        scale = design @ coefficients
    return PowerLawNoise(
        white_pa2_s=float(coefficients[0]),
        flicker_pa2=float(coefficients[1]),
        random_walk_pa2_per_s=float(coefficients[2]),
    )

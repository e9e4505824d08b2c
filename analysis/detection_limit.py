"""The least-squares detection limit: how long a steady fall must run before a
window holding only the fall can call it, for any power-law noise.

A least-squares slope over T seconds scatters with the variance V(T) of the
noise model (`daemon.noise_model`: 12a/T³ + 8.690·b/T² + 9c/T). A fall of rate
r reaches the significance z(T) the detector demands of a window of that
length once r ≥ z(T)·√V(T); the limit is the smallest such T. For white
noise alone (a = σ²/f) that is the closed form T = (12·z²·σ²/(f·r²))^(1/3);
for a random walk alone T = 9c·z²/r²; with both, and flicker between, no
closed form, so it is solved numerically: a scan up a logarithmic grid to the
first T that passes, then bisection between it and the grid point before.
The scan, not bisection alone, because z(T) is a table interpolated in log T:
the condition need not switch only once, and the limit is the first switch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from hullwatch.daemon.detection.noise_model import NoiseModel

# The scan: from 1 ms to 10⁸ s (three years), 50 points per decade.
SCAN_FROM_S = 1e-3
SCAN_TO_S = 1e8
SCAN_PER_DECADE = 50
BISECTIONS = 60


def least_squares_limit_s(
    rate_pa_per_s: float, model: NoiseModel, threshold_sigma: Callable[[float], float]
) -> float:
    """The smallest T (s) with |rate| ≥ threshold_sigma(T)·√V(T); inf when no T up to
    SCAN_TO_S passes (a fall slower than the noise's long-run drift at that z)."""
    rate = abs(rate_pa_per_s)
    if rate == 0.0:
        return math.inf

    def passes(window_s: float) -> bool:
        return rate >= threshold_sigma(window_s) * math.sqrt(model.slope_variance(window_s))

    steps = round(math.log10(SCAN_TO_S / SCAN_FROM_S) * SCAN_PER_DECADE)
    low = SCAN_FROM_S
    if passes(low):
        return low
    for k in range(1, steps + 1):
        high = SCAN_FROM_S * math.pow(10.0, k / SCAN_PER_DECADE)
        if passes(high):
            for _ in range(BISECTIONS):
                middle = math.sqrt(low * high)
                if passes(middle):
                    high = middle
                else:
                    low = middle
            return high
        low = high
    return math.inf


def white_limit_s(
    rate_pa_per_s: float,
    noise_pa: float,
    rate_hz: float,
    threshold_sigma: Callable[[float], float],
    *,
    iterations: int = 50,
) -> float:
    """The white-noise closed form T = (12·z²·σ²/(f·r²))^(1/3), with z = z(T) found by
    fixed-point iteration (what bench/detection.py computed before the noise model)."""
    z = threshold_sigma(math.inf)
    limit = math.nan
    for _ in range(iterations):
        limit = (12.0 * z * z * noise_pa**2 / (rate_hz * rate_pa_per_s**2)) ** (1.0 / 3.0)
        z = threshold_sigma(limit)
    return limit


def interpolated_thresholds(
    windows_s: Sequence[float], sigmas: Sequence[float]
) -> Callable[[float], float]:
    """z(T) from a bank's per-window thresholds: linear in log T between windows,
    the first below the shortest and the last beyond the longest."""
    if len(windows_s) != len(sigmas) or not windows_s:
        raise ValueError("one threshold per window, at least one window")
    windows = tuple(windows_s)
    values = tuple(sigmas)

    def threshold_sigma(window_s: float) -> float:
        if window_s <= windows[0]:
            return values[0]
        for k in range(1, len(windows)):
            w0, w1, v0, v1 = windows[k - 1], windows[k], values[k - 1], values[k]
            if window_s <= w1:
                x = math.log(window_s / w0) / math.log(w1 / w0)
                return v0 + x * (v1 - v0)
        return values[-1]

    return threshold_sigma

"""From a false-alarm budget to the significance each window's slope must reach.

The statistic a window judges is z(t) = −slope/SE of the least-squares slope
over the trailing `window_s`. On a sealed chamber with white noise it is a
stationary Gaussian process of unit variance, and because the fit's weights
w(s) ∝ s − W/2 jump at both ends of the window its correlation falls off
linearly at small lags:

    ρ(δ) = ∫w(s)·w(s+δ) ds / ∫w² ≈ 1 − C·|δ|,  C = (W/2)² / (W³/12) = 3/W.

For such a process (Pickands; Leadbetter, Lindgren & Rootzén, *Extremes and
related properties of random sequences and processes*, §12) the rate at which
it rises above a high level z is

    λ(z) ≈ C·z·φ(z) = (3/W)·z·e^(−z²/2)/√(2π)   per second.

This is the continuous-time rate; sampled at f Hz the process is looked at
less often and crosses less, so the sampled detector's rate is below it (the
budget is kept with a margin). A bank of K windows shares the budget: each
window gets 1/K of the allowed rate, so the zone's mean time between false
alarms is at least the configured interval (a union bound: crossings of the
windows are positively correlated, which only helps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SECONDS_PER_DAY = 86_400.0


def crossing_rate_per_s(z: float, window_s: float) -> float:
    """Mean rate of up-crossings of level `z` by a sliding-window slope's z-score."""
    density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return 3.0 / window_s * z * density


def threshold_sigma(window_s: float, rate_per_s: float) -> float:
    """The level z whose crossing rate for `window_s` is `rate_per_s` (bisection)."""
    if window_s <= 0 or rate_per_s <= 0:
        raise ValueError("window_s and rate_per_s must be positive")
    low, high = 1.0, 40.0
    if crossing_rate_per_s(low, window_s) <= rate_per_s:
        return low
    for _ in range(100):
        middle = 0.5 * (low + high)
        if crossing_rate_per_s(middle, window_s) > rate_per_s:
            low = middle
        else:
            high = middle
    return high


def window_thresholds(
    windows_s: Sequence[float], false_alarm_interval_days: float, *, extra_tests: int = 0
) -> tuple[float, ...]:
    """Per window, the z a fall must reach so the zone's mean time between false
    alarms is at least `false_alarm_interval_days`.

    The budget is split evenly over one test per window plus `extra_tests` more
    (the pooled-noise tests of the shorter windows), each of which gets the z of
    its window's length: a test of the same slope with a better-known noise is a
    process with the same correlation, so the same crossing rate at the same z.
    """
    if false_alarm_interval_days <= 0:
        raise ValueError("false_alarm_interval_days must be positive")
    if extra_tests < 0:
        raise ValueError("extra_tests must not be negative")
    tests = len(windows_s) + extra_tests
    rate_per_s = 1.0 / (false_alarm_interval_days * SECONDS_PER_DAY * tests)
    return tuple(threshold_sigma(window_s, rate_per_s) for window_s in windows_s)


def student_threshold(z: float, degrees_of_freedom: float) -> float:
    """The Student-t quantile with the Gaussian tail probability of `z`.

    The slope's standard error is estimated from the window's own residuals, so
    slope/SE follows Student's t with n − 2 degrees of freedom, whose tail is
    heavier: at 98 degrees (a 4 s window at 25 Hz) t > 6.4 is some 50 times more
    likely than z > 6.4. Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5),
    good to ~0.01 for ν ≥ 10 at these levels.
    """
    nu = degrees_of_freedom
    if nu <= 0:
        return math.inf
    z2 = z * z
    return (
        z
        + (z2 * z + z) / (4.0 * nu)
        + (5.0 * z2 * z2 * z + 16.0 * z2 * z + 3.0 * z) / (96.0 * nu * nu)
        + (3.0 * z2**3 * z + 19.0 * z2 * z2 * z + 17.0 * z2 * z - 15.0 * z) / (384.0 * nu**3)
    )

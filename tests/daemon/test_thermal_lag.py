"""The sensor's thermal lag: without the correction a sealed chamber under the ISS
thermal cycle shows a slope the size of the Zvezda leak; with it, a small fraction."""

from __future__ import annotations

import math
import random

import pytest

from hullwatch.daemon.detection.detector import ZoneDetector
from hullwatch.daemon.detection.lag_estimate import lag_disagrees
from hullwatch.daemon.detection.thermal_lag import SlidingCubicFit
from hullwatch.hil.heater_step import module_detector

P0_PA = 101_300.0
T0_K = 295.0
PERIOD_S = 5520.0
AMPLITUDE_K = 0.3
LAG_S = 60.0
RATE_HZ = 5.0


def _zone(lag_s: float) -> ZoneDetector:
    """The ISS-class bank on a 916 m³ station."""
    return module_detector(lag_s, volume_m3=916.0)


def _sealed_cycle(detector: ZoneDetector, seconds: float, seed: int) -> list[float]:
    """A sealed chamber: P ∝ T_gas; the sensor reports T_s, a first-order lag of T_gas
    (settled: it starts at its steady-state lag). The 600 s window's dP/dt each minute."""
    rng = random.Random(seed)
    omega = 2 * math.pi / PERIOD_S
    # Steady state of dT_s/dt = (T_g − T_s)/τ for T_g = T0 + A·sin(ωt).
    gain = 1 / math.sqrt(1 + (omega * LAG_S) ** 2)
    phase = math.atan(omega * LAG_S)
    rates = []
    for k in range(int(seconds * RATE_HZ)):
        t = k / RATE_HZ
        gas_k = T0_K + AMPLITUDE_K * math.sin(omega * t)
        sensor_k = T0_K + AMPLITUDE_K * gain * math.sin(omega * t - phase)
        pressure = P0_PA * gas_k / T0_K + rng.gauss(0.0, 1.6)
        detector.add_sample("s", t, pressure, sensor_k - 273.15 + rng.gauss(0.0, 0.002))
        if k % int(60 * RATE_HZ) == 0 and t > 700:
            assessment = detector.assess()
            assert assessment is not None
            # The longest window's estimate, whatever window is being reported.
            lines = detector._tracks["s"]
            longest = len(detector.windows_s) - 1
            assert lines.counts[longest] > 0
            rates.append(lines.slopes[longest])
    return rates


def test_lag_left_alone_looks_like_a_zvezda_leak() -> None:
    rates = _sealed_cycle(_zone(0.0), 3000.0, seed=1)
    # (q·τ/T)·T'' at its peak: 343 Pa/K · 60 s · 3.9e-7 K/s² ≈ 0.008 Pa/s.
    assert max(abs(r) for r in rates) > 0.005


def test_lag_corrected_leaves_a_small_fraction_of_it() -> None:
    rates = _sealed_cycle(_zone(LAG_S), 3000.0, seed=1)
    assert max(abs(r) for r in rates) < 0.001


def test_a_sealed_chamber_under_the_cycle_raises_nothing_when_corrected() -> None:
    detector = _zone(LAG_S)
    _sealed_cycle(detector, 3000.0, seed=2)
    assert detector.level.value == "ok"


def test_cubic_fit_recovers_the_curvature_and_a_fair_error() -> None:
    fit = SlidingCubicFit(600.0)
    rng = random.Random(4)
    misses = 0
    checks = 0
    for k in range(int(3000 * RATE_HZ)):
        t = k / RATE_HZ
        fit.add(t, 2e-7 * t * t - 1e-10 * t**3 + rng.gauss(0.0, 0.002))
        if k % 500 == 0 and t > 700:
            centre = t - 100.0
            curvature = fit.curvature(centre)
            assert curvature is not None
            truth = 4e-7 - 6e-10 * centre
            checks += 1
            error = abs(curvature.second_derivative_k_per_s2 - truth)
            misses += error > 3 * curvature.stderr_k_per_s2
    assert checks >= 10
    assert misses <= 1


def test_cubic_fit_needs_samples() -> None:
    fit = SlidingCubicFit(10.0)
    fit.add(0.0, 1.0)
    assert fit.curvature(0.0) is None
    with pytest.raises(ValueError, match="positive"):
        SlidingCubicFit(0.0)


def test_the_detector_measures_each_sensors_lag_and_it_flags_a_wrong_one() -> None:
    """τ = 60 s configured as 0: after 50 minutes of the cycle the detector's own
    estimate says ~60 s, and that the configuration is wrong."""
    detector = _zone(0.0)
    _sealed_cycle(detector, 3000.0, seed=3)
    configured_s, estimate = detector.lag_estimates()["s"]
    assert configured_s == 0.0
    assert estimate is not None
    assert estimate.lag_s == pytest.approx(LAG_S, rel=0.1)
    assert lag_disagrees(configured_s, estimate)
    assert not lag_disagrees(LAG_S, estimate)

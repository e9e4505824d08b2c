"""Zones for replaying a sensor at rest through the detector (calibration, quiet and
sensitivity on real recordings: bench/real_noise.py, tests/daemon/test_real_noise.py).

An open sensor has no gas law, so these zones are fed a constant temperature;
thresholds default to "never" so that a single-window zone only reports.
"""

from __future__ import annotations

from hullwatch.daemon.detection.detector import ZoneDetector
from hullwatch.daemon.detection.levels import LevelPolicy
from hullwatch.daemon.detection.zone_parameters import ZoneParameters

NEVER_PA_PER_S = 1e9


def at_rest_zone(
    *,
    noise: str = "learned",
    window_s: float = 30.0,
    warning_pa_per_s: float = NEVER_PA_PER_S,
    critical_pa_per_s: float = 2.0 * NEVER_PA_PER_S,
    **overrides: object,
) -> ZoneDetector:
    """A 50 L zone with one window of `window_s` (full windows only), or whatever
    `overrides` (ZoneParameters fields) make of it."""
    parameters: dict[str, object] = {
        "zone_id": "bench",
        "volume_m3": 0.05,
        "floor_pa": 70_000.0,
        "window_s": window_s,
        "min_window_fill": 1.0,
        "discharge_coefficient": 0.62,
        "ambient_pressure_pa": 0.0,
        "reference_temperature_k": 293.15,
        "noise": noise,
        "policy": LevelPolicy(
            warning_pa_per_s=warning_pa_per_s,
            critical_pa_per_s=critical_pa_per_s,
            significance_sigma=5.0,
            release_fraction=0.5,
        ),
    }
    parameters.update(overrides)
    return ZoneDetector(ZoneParameters(**parameters))  # type: ignore[arg-type]


def at_rest_bank(
    *,
    noise: str = "learned",
    longest_window_s: float = 120.0,
    warning_pa_per_s: float,
    critical_pa_per_s: float,
    **overrides: object,
) -> ZoneDetector:
    """The bank of windows from 1 s to `longest_window_s`, one false alarm in 365 days
    (`overrides`: other ZoneParameters fields, e.g. a thermal lag)."""
    return at_rest_zone(
        noise=noise,
        window_s=longest_window_s,
        min_window_s=1.0,
        min_window_fill=0.5,
        false_alarm_interval_days=365.0,
        warning_pa_per_s=warning_pa_per_s,
        critical_pa_per_s=critical_pa_per_s,
        **overrides,
    )

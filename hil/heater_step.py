"""A heater step seen by a lagging sensor, without the chip simulators: the wall
steps, the gas follows it through its own time constant, the die follows the gas
through the sensor's lag (Euler steps at the sample rate), and the pressure
follows the gas law, with white noise on both readings. The detector tests of
issue 12 §3 and `bench/thermal_event_cost.py` feed these samples straight to a
`ZoneDetector` of the ISS-class module."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from hullwatch.daemon.detection.detector import ZoneDetector, ZoneParameters
from hullwatch.daemon.detection.levels import LevelPolicy

P0_PA = 101_300.0
T0_K = 295.0
LAG_S = 50.0
GAS_TIME_CONSTANT_S = 10.0
PRESSURE_NOISE_PA = 1.6  # a BMP388 at ×16 oversampling
TEMPERATURE_NOISE_K = 0.002


def module_detector(lag_s: float = LAG_S, *, volume_m3: float = 400.0) -> ZoneDetector:
    """A sealed module (400 m³ unless said) with the ISS-class bank (4–600 s,
    365 days) and thresholds (0.002 / 0.03 Pa/s)."""
    return ZoneDetector(
        ZoneParameters(
            zone_id="module",
            volume_m3=volume_m3,
            floor_pa=70_000.0,
            window_s=600.0,
            min_window_fill=0.5,
            discharge_coefficient=0.65,
            ambient_pressure_pa=0.0,
            reference_temperature_k=293.15,
            policy=LevelPolicy(0.002, 0.03, 5.0, 0.5),
            min_window_s=4.0,
            false_alarm_interval_days=365.0,
            temperature_lag_s=lag_s,
            temperature_window_s=600.0,
        )
    )


def heater_step_samples(
    *,
    step_k: float,
    step_at_s: float,
    duration_s: float,
    rate_hz: float,
    seed: int,
    gas_time_constant_s: float = GAS_TIME_CONSTANT_S,
    lag_s: float = LAG_S,
    leak_pa_per_s: float = 0.0,
    leak_at_s: float = math.inf,
) -> Iterator[tuple[float, float, float]]:
    """(t s, pressure Pa, sensor temperature °C) per sample: quiet gas until
    `step_at_s`, then the wall steps by `step_k`; from `leak_at_s` the gas is
    lost at `leak_pa_per_s` (as pressure at T0_K)."""
    rng = random.Random(seed)
    dt = 1.0 / rate_hz
    gas_k = sensor_k = T0_K
    lost_pa = 0.0
    for k in range(int(duration_s * rate_hz)):
        t = k * dt
        wall_k = T0_K + (step_k if t >= step_at_s else 0.0)
        gas_k += (wall_k - gas_k) * dt / gas_time_constant_s
        sensor_k += (gas_k - sensor_k) * dt / lag_s
        if t >= leak_at_s:
            lost_pa += leak_pa_per_s * dt
        pressure = (P0_PA - lost_pa) * gas_k / T0_K + rng.gauss(0.0, PRESSURE_NOISE_PA)
        temperature_c = sensor_k - 273.15 + rng.gauss(0.0, TEMPERATURE_NOISE_K)
        yield t, pressure, temperature_c

"""BMP3 compensation and timing: pure functions, no I/O.

Formulas from the BMP388/BMP390 datasheet, appendix section 9 "Compensation
formula in floating point" (9.2 temperature, 9.3 pressure) and section 3.9.2
"Measurement rate in forced mode and normal mode". Unlike Bosch's API these
functions do not clamp to the specified range: the driver reports values
outside it as errors instead of passing on a clamped number.
"""

from __future__ import annotations

import math
from typing import Final

from hullwatch.drivers.rate_limit import RateLimit

from .calibration import Bmp3Calibration
from .registers import ODR_CODE_MAX, OSR_CODES, odr_period_s

# Datasheet 3.9.2, in microseconds.
_MEASUREMENT_BASE_US: Final = 234
_PRESSURE_SETTLE_US: Final = 392
_TEMPERATURE_SETTLE_US: Final = 163
_CONVERSION_US: Final = 2020  # one ADC conversion; times the oversampling factor


def compensate_temperature_c(raw_temperature: int, calibration: Bmp3Calibration) -> float:
    """Temperature in °C from the 24-bit raw temperature (datasheet 9.2).

    d = raw − t1;  T = d·t2 + d²·t3.
    """
    d = raw_temperature - calibration.t1
    return d * calibration.t2 + d * d * calibration.t3


def compensate_pressure_pa(
    raw_pressure: int | float, temperature_c: float, calibration: Bmp3Calibration
) -> float:
    """Pressure in Pa from the 24-bit raw pressure and compensated temperature (datasheet 9.3).

    P = (p5 + p6·T + p7·T² + p8·T³) + x·(p1 + p2·T + p3·T² + p4·T³) + x²·(p9 + p10·T) + x³·p11,
    x the raw pressure. Accepts a float raw value so inverse solvers can use it.
    """
    c = calibration
    t = temperature_c
    offset = c.p5 + c.p6 * t + c.p7 * t * t + c.p8 * t**3
    sensitivity = c.p1 + c.p2 * t + c.p3 * t * t + c.p4 * t**3
    x = float(raw_pressure)
    return offset + x * sensitivity + x * x * (c.p9 + c.p10 * t) + x**3 * c.p11


def measurement_time_s(
    pressure_oversampling: int,
    temperature_oversampling: int,
    *,
    pressure_enabled: bool = True,
    temperature_enabled: bool = True,
) -> float:
    """Duration of one measurement (datasheet 3.9.2), oversampling given as factor 1..32.

    T = 234 µs + press_en·(392 µs + osr_p·2020 µs) + temp_en·(163 µs + osr_t·2020 µs).
    """
    for name, factor in (
        ("pressure", pressure_oversampling),
        ("temperature", temperature_oversampling),
    ):
        if factor not in OSR_CODES:
            raise ValueError(f"{name} oversampling x{factor} is not one of {sorted(OSR_CODES)}")
    total_us = _MEASUREMENT_BASE_US
    if pressure_enabled:
        total_us += _PRESSURE_SETTLE_US + pressure_oversampling * _CONVERSION_US
    if temperature_enabled:
        total_us += _TEMPERATURE_SETTLE_US + temperature_oversampling * _CONVERSION_US
    return total_us / 1_000_000


def fastest_odr_code(measurement_time_s: float) -> int:
    """The smallest odr_sel whose period (datasheet 4.3.19) is longer than one measurement.

    The chip accepts a normal-mode configuration only when the measurement
    time is shorter than the ODR period (Bosch `validate_osr_and_odr_settings`;
    otherwise ERR_REG conf_err).
    """
    for code in range(ODR_CODE_MAX + 1):
        if measurement_time_s < odr_period_s(code):
            return code
    raise ValueError(
        f"a measurement of {measurement_time_s * 1e3:.3f} ms fits no ODR period "
        f"(longest {odr_period_s(ODR_CODE_MAX):g} s)"
    )


def normal_mode_rate_limit(measurement_time_s: float) -> RateLimit:
    """The fastest normal-mode rate: the ODR of `fastest_odr_code` (datasheet 3.9.2, 4.3.19)."""
    code = fastest_odr_code(measurement_time_s)
    fastest_hz = 1.0 / odr_period_s(code)
    return RateLimit(
        fastest_hz,
        f"one measurement takes {measurement_time_s * 1e3:.3f} ms (datasheet 3.9.2), so the "
        f"fastest normal-mode ODR is {fastest_hz:g} Hz (odr_sel {code}, datasheet 4.3.19); "
        "lower the oversampling or the rate",
    )


def odr_code_for_rate(rate_hz: float, measurement_time_s: float) -> int:
    """odr_sel for normal mode: the fastest ODR whose period still fits one measurement.

    The resulting rate must be at least `rate_hz`, so that every poll at
    `rate_hz` finds a new sample.
    """
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"sampling rate must be a positive number of Hz, got {rate_hz!r}")
    limit = normal_mode_rate_limit(measurement_time_s)
    if rate_hz > limit.fastest_hz:
        raise ValueError(f"cannot sample at {rate_hz:g} Hz: {limit.reason}")
    return fastest_odr_code(measurement_time_s)

"""One sensor's noise, end to end: Allan deviation, power-law fit, slope spreads.

Pure computation on arrays already read and checked; the command
(`characterize_cli`) does the files, the configuration and the output.
"""

from __future__ import annotations

from dataclasses import dataclass

from hullwatch.daemon.detection.false_alarm import window_thresholds
from hullwatch.daemon.detection.physics import KELVIN_AT_0_C

from .allan import AllanPoint, allan_deviation
from .noise_model import PowerLawNoise, fit_power_law
from .recording_csv import FloatArray, SensorSeries
from .sampling import Sampling
from .slope_spread import SlopeSpread, slope_spread, windows_that_fit

PRESSURE = "pressure"
COMPENSATED = "compensated"


@dataclass(frozen=True)
class WindowRow:
    spread: SlopeSpread
    model_sd_pa_per_s: float  # what the fitted power-law model predicts
    z: float  # the single-window significance for the false-alarm budget
    detectable_fall_pa_per_s: float  # z · measured spread

    @property
    def model_ratio(self) -> float:
        return self.spread.measured_sd_pa_per_s / self.model_sd_pa_per_s


@dataclass(frozen=True)
class QuantityReport:
    quantity: str  # PRESSURE, or COMPENSATED (q = P·T_ref/T)
    allan: list[AllanPoint]
    model: PowerLawNoise
    windows: list[WindowRow]


@dataclass(frozen=True)
class SensorReport:
    label: str
    sensor_id: str
    samples: int
    duration_s: float
    sampling: Sampling
    reference_temperature_k: float | None  # None: no temperature in the recording
    false_alarm_interval_days: float
    quantities: list[QuantityReport]


def compensated_pa(
    pressure_pa: FloatArray, temperature_c: FloatArray, reference_temperature_k: float
) -> FloatArray:
    """q = P·T_ref/T, the quantity the detector fits (docs/detection.md)."""
    result: FloatArray = pressure_pa * reference_temperature_k / (temperature_c + KELVIN_AT_0_C)
    return result


def characterize(
    series: SensorSeries,
    sampling: Sampling,
    *,
    reference_temperature_k: float,
    false_alarm_interval_days: float,
) -> SensorReport:
    rate_hz = 1.0 / sampling.period_s
    quantities = [
        _quantity(PRESSURE, series.times_s, series.pressure_pa, rate_hz, false_alarm_interval_days)
    ]
    if series.temperature_c is not None:
        q_pa = compensated_pa(series.pressure_pa, series.temperature_c, reference_temperature_k)
        quantities.append(
            _quantity(COMPENSATED, series.times_s, q_pa, rate_hz, false_alarm_interval_days)
        )
    return SensorReport(
        label=series.label,
        sensor_id=series.sensor_id,
        samples=int(series.times_s.size),
        duration_s=float(series.times_s[-1] - series.times_s[0]),
        sampling=sampling,
        reference_temperature_k=(
            reference_temperature_k if series.temperature_c is not None else None
        ),
        false_alarm_interval_days=false_alarm_interval_days,
        quantities=quantities,
    )


def _quantity(
    quantity: str,
    times_s: FloatArray,
    values: FloatArray,
    rate_hz: float,
    false_alarm_interval_days: float,
) -> QuantityReport:
    allan = allan_deviation(values, rate_hz)
    model = fit_power_law(allan)
    rows = []
    for window_s in windows_that_fit(float(times_s[-1] - times_s[0])):
        spread = slope_spread(times_s, values, window_s)
        if spread is None:
            continue
        # One window alone: the z its own test would get from the budget. The
        # measured spread is a true standard deviation, not an estimate from
        # one window's residuals, so the Gaussian z applies (no Student step).
        (z,) = window_thresholds([window_s], false_alarm_interval_days)
        rows.append(
            WindowRow(
                spread=spread,
                model_sd_pa_per_s=model.slope_sd(window_s, rate_hz),
                z=z,
                detectable_fall_pa_per_s=z * spread.measured_sd_pa_per_s,
            )
        )
    return QuantityReport(quantity=quantity, allan=allan, model=model, windows=rows)

"""The detector on real recordings of sensors at rest (issue 12 §2): calibration,
quiet and sensitivity, measured the way the issue states them.

    .venv/bin/python bench/real_noise.py [RECORDING.csv ...]

Each recording (`t_s,pressure_pa[,temperature_c]`, `hullwatch replay`'s plain
CSV) is replayed through `ZoneDetector` with the temperature held constant (an
open sensor has no gas law), the learned noise model on:

- calibration: per single window W of 4, 8, 16, 30, 60 s, the spread of
  least-squares slopes over non-overlapping windows ÷ the median standard
  error the detector reported (target 0.67–1.5), beside the same with the
  white-noise error;
- quiet: the bank (1–120 s, one false alarm in 365 days), warning above twice
  the recording's long-run drift and at least 0.005 Pa/s: what it raises;
- sensitivity: a ramp added from 40 % of the recording at the rate the
  recording's own slope spread lets a W-second window call at the bank's z
  (W = 8, 16, 30 s where the recording is long enough): the time to the first
  raise against W, the empirical limit (target ≤ 1.5×), and anything raised
  before the ramp.

Without arguments it measures the shipped excerpt (tests/data); the tables in
docs/detection.md name the recordings they were measured on.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hullwatch.analysis.at_rest import at_rest_bank, at_rest_zone
from hullwatch.analysis.detection_limit import interpolated_thresholds
from hullwatch.analysis.recording_csv import RecordingError, SensorSeries, read_recording
from hullwatch.analysis.slope_spread import slope_spread
from hullwatch.daemon.detection.detector import ZoneDetector
from hullwatch.daemon.detection.levels import Level

DEFAULT = Path(__file__).parents[1] / "tests" / "data" / "ms5611_gy63_bench_excerpt_char.csv"
CALIBRATION_WINDOWS_S = (4.0, 8.0, 16.0, 30.0, 60.0)
SENSITIVITY_WINDOWS_S = (8.0, 16.0, 30.0)
MIN_WINDOWS = 4  # non-overlapping windows for a spread
HELD_TEMPERATURE_C = 20.0
RAMP_ONSET_FRACTION = 0.4
MIN_WARNING_PA_PER_S = 0.005


def _bank(warning_pa_per_s: float) -> ZoneDetector:
    return at_rest_bank(
        warning_pa_per_s=warning_pa_per_s, critical_pa_per_s=100.0 * warning_pa_per_s
    )


def _median_stderr(series: SensorSeries, window_s: float, noise: str) -> float:
    detector = at_rest_zone(noise=noise, window_s=window_s)
    stderrs = []
    for t, p in zip(series.times_s, series.pressure_pa, strict=True):
        detector.add_sample(series.sensor_id, float(t), float(p), HELD_TEMPERATURE_C)
        assessment = detector.assess()
        if assessment is not None and assessment.window_fill >= 0.95:
            stderrs.append(assessment.dpdt_stderr_pa_per_s)
    return float(np.median(stderrs)) if stderrs else math.nan


def _raises(
    series: SensorSeries, detector: ZoneDetector, ramp_pa_per_s: float, onset_s: float
) -> list[float]:
    """Times (from the start) at which the zone went up a level."""
    t0 = float(series.times_s[0])
    raised = []
    for t, p in zip(series.times_s, series.pressure_pa, strict=True):
        since = float(t) - t0
        pressure = float(p) + ramp_pa_per_s * max(0.0, since - onset_s)
        detector.add_sample(series.sensor_id, float(t), pressure, HELD_TEMPERATURE_C)
        assessment = detector.assess()
        if (
            assessment is not None
            and assessment.level_changed
            and assessment.level is not Level.OK
            and (assessment.previous_level is Level.OK or assessment.level is Level.CRITICAL)
        ):
            raised.append(since)
    return raised


def measure(series: SensorSeries) -> list[str]:
    times = series.times_s
    duration_s = float(times[-1] - times[0])
    rate_hz = (len(times) - 1) / duration_s
    lines = [f"## {series.label}: {len(times)} samples, {duration_s:.0f} s, {rate_hz:.1f} Hz"]

    lines.append("calibration (spread / median SE; target 0.67-1.5):")
    lines.append("  window_s  windows  spread_pa_s  learned_se  ratio   white_se  white_ratio")
    spreads = {}
    for window_s in CALIBRATION_WINDOWS_S:
        spread = slope_spread(times, series.pressure_pa, window_s)
        if spread is None or spread.windows < MIN_WINDOWS:
            continue
        spreads[window_s] = spread.measured_sd_pa_per_s
        learned = _median_stderr(series, window_s, "learned")
        white = _median_stderr(series, window_s, "white")
        sd = spread.measured_sd_pa_per_s
        lines.append(
            f"  {window_s:8g}  {spread.windows:7d}  {sd:11.4g}  {learned:10.4g}  "
            f"{sd / learned:5.2f}  {white:9.4g}  {sd / white:11.2f}"
        )

    drift = abs(float(np.polyfit(times - times[0], series.pressure_pa, 1)[0]))
    warning = max(MIN_WARNING_PA_PER_S, 2.0 * drift)
    quiet = _raises(series, _bank(warning), 0.0, math.inf)
    lines.append(
        f"quiet: bank 1-120 s, 365 days, warning {warning:.4g} Pa/s (drift {drift:.3g} Pa/s): "
        f"{len(quiet)} raised" + (f" at {', '.join(f'{t:.1f}' for t in quiet)} s" if quiet else "")
    )

    bank = _bank(warning)
    z_of = interpolated_thresholds(bank.windows_s, bank.parameters.thresholds_sigma())
    onset_s = RAMP_ONSET_FRACTION * duration_s
    lines.append(f"sensitivity (ramp from {onset_s:.0f} s; target raise <= 1.5 x limit):")
    lines.append("  limit_window_s  z     ramp_pa_s  raised_after_s  ratio  before_onset")
    for window_s in SENSITIVITY_WINDOWS_S:
        if window_s not in spreads or onset_s + 3 * window_s > duration_s:
            continue
        rate = z_of(window_s) * spreads[window_s]
        # The empirical limit: the shortest window whose spread lets this rate pass.
        limit_s = min((w for w, sd in spreads.items() if rate >= z_of(w) * sd), default=window_s)
        raised = _raises(series, _bank(warning), -rate, onset_s)
        before = [t for t in raised if t < onset_s]
        after = [t - onset_s for t in raised if t >= onset_s]
        never = f"{'never':>14}  {'-':>5}"
        caught = f"{after[0]:14.1f}  {after[0] / limit_s:5.2f}" if after else never
        lines.append(
            f"  {limit_s:14g}  {z_of(window_s):4.2f}  {rate:9.4g}  {caught}  {len(before)}"
        )
    return lines


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recordings", nargs="*", type=Path, default=[DEFAULT])
    args = parser.parse_args(list(argv) if argv is not None else None)
    for path in args.recordings:
        try:
            every_series = read_recording(path, "sensor")
        except (RecordingError, OSError) as error:
            print(f"real_noise: {error}", file=sys.stderr)
            return 65
        for series in every_series:
            print("\n".join(measure(series)), flush=True)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

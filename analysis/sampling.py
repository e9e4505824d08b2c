"""The sampling of a recording: its median period, and its gaps.

Real logs jitter (a microcontroller's timer, USB, a busy host). The Allan
deviation and the slope windows are computed on the sample sequence as it
is, with τ = m · (median period): no resampling, which would smooth the
white noise and bias the short-τ points low. That is exact for jitter that
averages out; a gap, where samples are missing, is not jitter, and a
recording with one is refused (or, with `allow_gaps`, cut to its longest
gap-free stretch: the one the statistics are valid on).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .recording_csv import RecordingError, SensorSeries

MAX_GAP_PERIODS = 10.0  # a step longer than this many median periods is a gap
MIN_SAMPLES = 64


@dataclass(frozen=True)
class Sampling:
    period_s: float  # the median step between samples
    jitter: float  # the steps' interquartile range over the median step
    gaps_cut: int  # gaps the series was cut at (allow_gaps only)


def check_sampling(series: SensorSeries, *, allow_gaps: bool) -> tuple[SensorSeries, Sampling]:
    """The series to analyse (the whole, or its longest gap-free stretch) and its sampling."""
    if series.times_s.size < MIN_SAMPLES:
        raise RecordingError(
            series.source,
            int(series.lines[-1]),
            f"sensor {series.sensor_id!r}: {series.times_s.size} samples; "
            f"at least {MIN_SAMPLES} are needed",
        )
    steps_s = np.diff(series.times_s)
    period_s = float(np.median(steps_s))
    gap_at = np.flatnonzero(steps_s > MAX_GAP_PERIODS * period_s)
    gaps_cut = 0
    if gap_at.size:
        if not allow_gaps:
            first = int(gap_at[0])
            raise RecordingError(
                series.source,
                int(series.lines[first + 1]),
                f"sensor {series.sensor_id!r}: a gap of {steps_s[first]:.3g} s "
                f"({steps_s[first] / period_s:.0f} median periods of {period_s:.3g} s) "
                f"after t_s {series.times_s[first]:g}; split the recording there, "
                "or pass --allow-gaps to analyse its longest gap-free stretch",
            )
        series = _longest_stretch(series, gap_at)
        gaps_cut = int(gap_at.size)
        steps_s = np.diff(series.times_s)
        period_s = float(np.median(steps_s))
    quartiles = np.percentile(steps_s, [25.0, 75.0])
    jitter = float((quartiles[1] - quartiles[0]) / period_s)
    return series, Sampling(period_s=period_s, jitter=jitter, gaps_cut=gaps_cut)


def _longest_stretch(series: SensorSeries, gap_at: npt.NDArray[np.intp]) -> SensorSeries:
    starts = np.concatenate(([0], gap_at + 1))
    ends = np.concatenate((gap_at + 1, [series.times_s.size]))
    longest = int(np.argmax(ends - starts))
    chosen = slice(int(starts[longest]), int(ends[longest]))
    return replace(
        series,
        times_s=series.times_s[chosen],
        pressure_pa=series.pressure_pa[chosen],
        temperature_c=None if series.temperature_c is None else series.temperature_c[chosen],
        lines=series.lines[chosen],
    )

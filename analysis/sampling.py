"""The sampling of a recording: its median period, its jitter and its gaps.

Real logs jitter (a microcontroller's timer, USB, a busy host). The Allan
deviation is computed on the sample sequence as it is, with
τ = m · (median period): no resampling, which would smooth the white noise
and bias the short-τ points low. That is exact for jitter that averages out.
The slope windows are cut by time, so they hold exactly the samples that
fall in them, jitter or not.

A gap (a step longer than `MAX_GAP_PERIODS` median periods) is not jitter:
there the sequence skips time, and an Allan point whose averages straddle
it stands for a slightly longer τ than it says. A recording with gaps is
refused unless the caller allows them (`--allow-gaps`); then every sample
is kept, the Allan deviation treats the gaps as jitter (its τ is off by at
most the fraction of time lost, reported as `gap_fraction`), and the slope
windows are unaffected. Logs with periodic flush stalls (a flight computer
writing its SD card every few seconds) are the case this is for: cutting
them at each stall would leave stretches too short for any long τ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .recording_csv import RecordingError, SensorSeries

MAX_GAP_PERIODS = 10.0  # a step longer than this many median periods is a gap
MIN_SAMPLES = 64


@dataclass(frozen=True)
class Sampling:
    period_s: float  # the median step between samples
    jitter: float  # the steps' interquartile range over the median step
    gaps: int  # steps longer than MAX_GAP_PERIODS median periods (allowed ones)
    gap_fraction: float  # the time those steps span beyond one period, over the duration


def check_sampling(series: SensorSeries, *, allow_gaps: bool) -> Sampling:
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
    if gap_at.size and not allow_gaps:
        first = int(gap_at[0])
        raise RecordingError(
            series.source,
            int(series.lines[first + 1]),
            f"sensor {series.sensor_id!r}: a gap of {steps_s[first]:.3g} s "
            f"({steps_s[first] / period_s:.0f} median periods of {period_s:.3g} s) "
            f"after t_s {series.times_s[first]:g}, one of {gap_at.size}; split the "
            "recording there, or pass --allow-gaps to keep every sample",
        )
    duration_s = float(series.times_s[-1] - series.times_s[0])
    lost_s = float(np.sum(steps_s[gap_at] - period_s))
    quartiles = np.percentile(steps_s, [25.0, 75.0])
    return Sampling(
        period_s=period_s,
        jitter=float((quartiles[1] - quartiles[0]) / period_s),
        gaps=int(gap_at.size),
        gap_fraction=lost_s / duration_s,
    )

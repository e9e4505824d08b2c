"""Least-squares slope over a sliding time window, O(1) per sample.

The window is a ring buffer of (time, value) pairs; running sums of t, y, t²,
t·y and y² give slope and standard error without revisiting the window. Sums
are kept about a local origin (t0, y0) so that a pressure of 10⁵ Pa with
noise of 1 Pa does not lose its digits, and they are rebuilt from the buffer
once per window's worth of evictions, which keeps rounding from accumulating
while the cost stays constant per sample on average.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineFit:
    slope: float  # value units per second
    slope_stderr: float  # standard error of the slope (white-noise assumption)
    intercept_at_last: float  # the fitted value at the newest sample's time
    sample_count: int
    span_s: float  # time between the oldest and the newest sample
    residual_rms: float


class RunningSums:
    """n and the sums of t, y, t², t·y, y² of some samples, about a local origin
    (t0, y0) so that 10⁵ Pa with 1 Pa of noise keeps its digits; `evictions` counts
    the samples subtracted since the origin was set (the owner rebuilds the sums
    from its samples once that reaches a window's worth, so rounding does not
    accumulate)."""

    __slots__ = ("evictions", "n", "st", "stt", "sty", "sy", "syy", "t0", "y0")

    def __init__(self, t0: float = 0.0, y0: float = 0.0) -> None:
        self.reset(t0, y0)

    def reset(self, t0: float, y0: float) -> None:
        self.t0 = t0
        self.y0 = y0
        self.n = 0
        self.st = self.sy = self.stt = self.sty = self.syy = 0.0
        self.evictions = 0

    def add(self, t_s: float, value: float, sign: float) -> None:
        """Add a sample (`sign` +1.0) or take one out (−1.0)."""
        t = t_s - self.t0
        y = value - self.y0
        self.n += 1 if sign > 0 else -1
        self.st += sign * t
        self.sy += sign * y
        self.stt += sign * t * t
        self.sty += sign * t * y
        self.syy += sign * y * y

    def line(self, *, newest_t_s: float, span_s: float) -> LineFit | None:
        """The least-squares line through these samples, the newest at `newest_t_s`."""
        return line_from_sums(
            n=self.n,
            st=self.st,
            sy=self.sy,
            stt=self.stt,
            sty=self.sty,
            syy=self.syy,
            y0=self.y0,
            newest_t=newest_t_s - self.t0,
            span_s=span_s,
        )


class SlidingLineFit:
    """Samples older than `window_s` before the newest one leave the fit."""

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()
        self._sums = RunningSums()

    def __len__(self) -> int:
        return len(self._samples)

    def clear(self) -> None:
        self._samples.clear()
        self._sums.reset(0.0, 0.0)

    def add(self, t_s: float, value: float) -> None:
        if self._samples and t_s <= self._samples[-1][0]:
            raise ValueError(f"sample times must increase: {t_s} after {self._samples[-1][0]}")
        sums = self._sums
        if not self._samples:
            sums.reset(t_s, value)
        self._samples.append((t_s, value))
        sums.add(t_s, value, +1.0)
        horizon = t_s - self.window_s
        while self._samples[0][0] < horizon:
            old_t, old_value = self._samples.popleft()
            sums.add(old_t, old_value, -1.0)
            sums.evictions += 1
        if sums.evictions >= max(len(self._samples), 64):
            first_t, first_value = self._samples[0]
            sums.reset(first_t, first_value)
            for t, value_k in self._samples:
                sums.add(t, value_k, +1.0)

    def fit(self) -> LineFit | None:
        """The line through the window; None with fewer than three samples."""
        if not self._samples:
            return None
        newest_t_s = self._samples[-1][0]
        return self._sums.line(newest_t_s=newest_t_s, span_s=newest_t_s - self._samples[0][0])


def centred_line(
    n: float, st: float, sy: float, stt: float, sty: float, syy: float
) -> tuple[float, float, float, float, float] | None:
    """(slope, residual variance, Σ(t − t̄)², t̄, ȳ) from the running sums of n samples
    (t and y about any origin); None with fewer than three samples or no spread in time.
    The one place this arithmetic is written: a window's line and its screen agree."""
    if n < 3:
        return None
    mean_t = st / n
    mean_y = sy / n
    sxx = stt - n * mean_t * mean_t
    if sxx <= 0.0:
        return None
    sxy = sty - n * mean_t * mean_y
    syy_centred = syy - n * mean_y * mean_y
    slope = sxy / sxx
    residual_variance = max(syy_centred - slope * sxy, 0.0) / (n - 2)
    return slope, residual_variance, sxx, mean_t, mean_y


def line_from_sums(
    *,
    n: float,
    st: float,
    sy: float,
    stt: float,
    sty: float,
    syy: float,
    y0: float,
    newest_t: float,
    span_s: float,
) -> LineFit | None:
    """The least-squares line from the running sums of n samples about a local origin.

    `st` … `syy` are the sums of t, y, t², t·y and y² with t and y measured from the
    origin (t0, y0); `newest_t` is the newest sample's time from t0. None with fewer
    than three samples or no spread in time.
    """
    line = centred_line(n, st, sy, stt, sty, syy)
    if line is None:
        return None
    slope, residual_variance, sxx, mean_t, mean_y = line
    return LineFit(
        slope=slope,
        slope_stderr=math.sqrt(residual_variance / sxx),
        intercept_at_last=y0 + mean_y + slope * (newest_t - mean_t),
        sample_count=int(n),
        span_s=span_s,
        residual_rms=math.sqrt(residual_variance),
    )

"""Least-squares slopes over several sliding windows at once, O(1) per sample per window.

One buffer holds the longest window's samples; each window keeps the index of
its oldest sample and its own running sums of t, y, t², t·y, y² (about a local
origin, as `linear_fit.SlidingLineFit` does, and rebuilt from the buffer once
per window's worth of evictions so rounding does not accumulate). A sample
enters every window at once and leaves each window when it is older than that
window's length, so a bank of K windows costs K constant-time updates per
sample and one buffer, not K buffers. `refresh` computes every window's line
into parallel lists without an object per window: the detector's per-sample
path; `fit` gives one window's line as a `LineFit`, bit for bit the same.

Beside the lines, each window's white-noise variance from second differences,
d_j = y_j − (y_{j−1} + y_{j+1})/2 (Var d = 1.5·σ² for white noise): a straight
line and a slow curve do not move them, and a kink moves one. A running total
of d² over the buffer gives any window's sum as a difference of two entries.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

from .linear_fit import LineFit, RunningSums


class LineFitBank:
    """Sliding least-squares lines over each of `windows_s` (seconds, ascending)."""

    def __init__(self, windows_s: Sequence[float]) -> None:
        if not windows_s or any(w <= 0 for w in windows_s):
            raise ValueError("windows_s must be positive and not empty")
        if list(windows_s) != sorted(windows_s):
            raise ValueError("windows_s must be in ascending order")
        self.windows_s = tuple(windows_s)
        self._times: list[float] = []
        self._values: list[float] = []
        self._head = 0  # index of the oldest sample any window still holds
        self._starts = [0] * len(windows_s)  # per window: index of its oldest sample
        self._sums = [RunningSums() for _ in windows_s]
        # Filled by `refresh`, one entry per window (count 0: no line yet).
        self.slopes = [0.0] * len(windows_s)
        self.slope_stderrs = [0.0] * len(windows_s)
        self.intercepts_at_last = [0.0] * len(windows_s)
        self.counts = [0] * len(windows_s)
        self.spans_s = [0.0] * len(windows_s)
        # Σ(t − t̄)² (s²) and the residual variance (value²): a slope's standard
        # error under another window's noise estimate is √(variance/sxx).
        self.sxxs = [0.0] * len(windows_s)
        self.residual_variances = [0.0] * len(windows_s)
        # From second differences; 0 with fewer than three samples.
        self.noise_variances = [0.0] * len(windows_s)
        # _dd_totals[i]: Σ d_j² for 1 ≤ j ≤ i (d_0 = 0), one entry per sample but
        # the newest, whose d needs its successor.
        self._dd_totals = array("d")  # 8 bytes a sample, not a float object's 32

    def __len__(self) -> int:
        return len(self._times) - self._head

    def clear(self) -> None:
        self._times.clear()
        self._values.clear()
        del self._dd_totals[:]
        self._head = 0
        self._starts = [0] * len(self.windows_s)
        for sums in self._sums:
            sums.reset(0.0, 0.0)

    def add(self, t_s: float, value: float) -> None:
        times, values = self._times, self._values
        if len(times) > self._head and t_s <= times[-1]:
            raise ValueError(f"sample times must increase: {t_s} after {times[-1]}")
        if len(times) == self._head:
            for sums in self._sums:
                sums.reset(t_s, value)
        times.append(t_s)
        values.append(value)
        newest = len(times) - 1
        totals = self._dd_totals
        if newest >= 2:
            d = values[newest - 1] - 0.5 * (values[newest - 2] + value)
            totals.append(totals[-1] + d * d)
        elif newest == 1:
            totals.append(0.0)
        starts = self._starts
        windows_s = self.windows_s
        # The hot path: `RunningSums.add` written out per window (the same operations in
        # the same order, so the sums are bit for bit those of the plain loop).
        for k, sums in enumerate(self._sums):
            t0 = sums.t0
            y0 = sums.y0
            t = t_s - t0
            y = value - y0
            sums.n += 1
            sums.st += t
            sums.sy += y
            sums.stt += t * t
            sums.sty += t * y
            sums.syy += y * y
            horizon = t_s - windows_s[k]
            start = starts[k]
            if times[start] < horizon:
                evicted = 0
                while times[start] < horizon:
                    t = times[start] - t0
                    y = values[start] - y0
                    sums.n -= 1
                    sums.st -= t
                    sums.sy -= y
                    sums.stt -= t * t
                    sums.sty -= t * y
                    sums.syy -= y * y
                    evicted += 1
                    start += 1
                starts[k] = start
                sums.evictions += evicted
                held = newest - start + 1
                if sums.evictions >= (held if held > 64 else 64):
                    self._rebuild(k)
        self._head = starts[-1]
        if self._head > 4096 and self._head * 2 > len(times):
            self._compact()

    def fit(self, index: int) -> LineFit | None:
        """The line through window `index`; None with fewer than three samples."""
        sums = self._sums[index]
        if sums.n < 3:
            return None
        newest_t = self._times[-1]
        return sums.line(newest_t_s=newest_t, span_s=newest_t - self._times[self._starts[index]])

    def line_of(self, index: int) -> tuple[float, float, float, int] | None:
        """Window `index`'s (slope, residual variance, Σ(t − t̄)², sample count) now, by
        `refresh`'s arithmetic but for one window; None where it has no line."""
        sums = self._sums[index]
        n = sums.n
        if n < 3:
            return None
        mean_t = sums.st / n
        mean_y = sums.sy / n
        sxx = sums.stt - n * mean_t * mean_t
        if sxx <= 0.0:
            return None
        sxy = sums.sty - n * mean_t * mean_y
        slope = sxy / sxx
        residual_ss = sums.syy - n * mean_y * mean_y - slope * sxy
        return slope, (residual_ss if residual_ss > 0.0 else 0.0) / (n - 2), sxx, n

    def refresh(self) -> None:
        """Every window's line into `slopes`, `slope_stderrs`, `intercepts_at_last`,
        `counts`, `spans_s`, `sxxs` and `residual_variances`, with no object per
        window (the detector's hot path).

        The same arithmetic as `fit`, so the figures are bit for bit its own; a
        window with no line (fewer than three samples, no spread in time) gets
        count 0.
        """
        times = self._times
        if not times:
            self.counts = [0] * len(self.windows_s)
            return
        newest_t = times[-1]
        slopes, stderrs = self.slopes, self.slope_stderrs
        intercepts, counts, spans = self.intercepts_at_last, self.counts, self.spans_s
        sxxs, variances = self.sxxs, self.residual_variances
        noise, totals = self.noise_variances, self._dd_totals
        newest = len(times) - 1
        starts = self._starts
        sqrt = math.sqrt
        for k, sums in enumerate(self._sums):
            n = sums.n
            if n < 3:
                counts[k] = 0
                continue
            mean_t = sums.st / n
            mean_y = sums.sy / n
            sxx = sums.stt - n * mean_t * mean_t
            if sxx <= 0.0:
                counts[k] = 0
                continue
            sxy = sums.sty - n * mean_t * mean_y
            syy = sums.syy - n * mean_y * mean_y
            slope = sxy / sxx
            residual_ss = syy - slope * sxy
            if residual_ss < 0.0:
                residual_ss = 0.0
            residual_variance = residual_ss / (n - 2)
            slopes[k] = slope
            stderrs[k] = sqrt(residual_variance / sxx)
            sxxs[k] = sxx
            variances[k] = residual_variance
            # Interior samples start + 1 … newest − 1 (n ≥ 3, so at least one).
            start = starts[k]
            noise[k] = (totals[newest - 1] - totals[start]) / (1.5 * (newest - 1 - start))
            intercepts[k] = sums.y0 + mean_y + slope * (newest_t - sums.t0 - mean_t)
            counts[k] = n
            spans[k] = newest_t - times[starts[k]]

    def _rebuild(self, index: int) -> None:
        # `reset` then `RunningSums.add` per sample, with the sums in locals (same
        # operations in the same order, so the same result, a few times faster).
        sums = self._sums[index]
        start = self._starts[index]
        times, values = self._times, self._values
        t0, y0 = times[start], values[start]
        sums.reset(t0, y0)
        st = sy = stt = sty = syy = 0.0
        for i in range(start, len(times)):
            t = times[i] - t0
            y = values[i] - y0
            st += t
            sy += y
            stt += t * t
            sty += t * y
            syy += y * y
        sums.n = len(times) - start
        sums.st, sums.sy, sums.stt, sums.sty, sums.syy = st, sy, stt, sty, syy

    def _compact(self) -> None:
        """Drop the samples no window holds (amortised O(1): at most once per half buffer)."""
        head = self._head
        del self._times[:head]
        del self._values[:head]
        # Differences of the totals are all that is read: rebase them on the new
        # first sample so they do not grow without bound.
        # (A gap longer than the longest window leaves only the newest sample, which
        # has no entry yet.)
        totals = self._dd_totals
        base = totals[head] if head < len(totals) else 0.0
        self._dd_totals = array("d", [total - base for total in totals[head:]])
        self._starts = [start - head for start in self._starts]
        self._head = 0


def geometric_windows(shortest_s: float, longest_s: float, ratio: float) -> tuple[float, ...]:
    """`shortest_s`, shortest·ratio, ... up to and always ending at `longest_s`."""
    if not 0 < shortest_s <= longest_s or ratio <= 1.0:
        raise ValueError("need 0 < shortest_s <= longest_s and ratio > 1")
    windows = []
    window_s = shortest_s
    while window_s < longest_s / math.sqrt(ratio):
        windows.append(window_s)
        window_s *= ratio
    windows.append(longest_s)
    return tuple(windows)

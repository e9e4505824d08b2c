"""Least-squares slopes over several sliding windows at once, O(1) per sample per window.

One buffer holds the longest window's samples; each window keeps the index of
its oldest sample and its own running sums of t, y, t², t·y, y² (about a local
origin, as `linear_fit.SlidingLineFit` does, and rebuilt from the buffer once
per window's worth of evictions so rounding does not accumulate). A sample
enters every window at once and leaves each window when it is older than that
window's length, so a bank of K windows costs K constant-time updates per
sample and one buffer, not K buffers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hullwatch.daemon.linear_fit import LineFit


class _Sums:
    __slots__ = ("evictions", "n", "st", "stt", "sty", "sy", "syy", "t0", "y0")

    def __init__(self, t0: float, y0: float) -> None:
        self.reset(t0, y0)

    def reset(self, t0: float, y0: float) -> None:
        self.t0 = t0
        self.y0 = y0
        self.n = 0
        self.st = self.sy = self.stt = self.sty = self.syy = 0.0
        self.evictions = 0

    def add(self, t_s: float, value: float, sign: float) -> None:
        t = t_s - self.t0
        y = value - self.y0
        self.n += 1 if sign > 0 else -1
        self.st += sign * t
        self.sy += sign * y
        self.stt += sign * t * t
        self.sty += sign * t * y
        self.syy += sign * y * y


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
        self._sums = [_Sums(0.0, 0.0) for _ in windows_s]

    def __len__(self) -> int:
        return len(self._times) - self._head

    def clear(self) -> None:
        self._times.clear()
        self._values.clear()
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
        for k, window_s in enumerate(self.windows_s):
            sums = self._sums[k]
            sums.add(t_s, value, +1.0)
            horizon = t_s - window_s
            start = self._starts[k]
            while times[start] < horizon:
                sums.add(times[start], values[start], -1.0)
                sums.evictions += 1
                start += 1
            self._starts[k] = start
            if sums.evictions >= max(newest - start + 1, 64):
                self._rebuild(k)
        self._head = self._starts[-1]
        if self._head > 4096 and self._head * 2 > len(times):
            self._compact()

    def fit(self, index: int) -> LineFit | None:
        """The line through window `index`; None with fewer than three samples."""
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
        syy = sums.syy - n * mean_y * mean_y
        slope = sxy / sxx
        residual_variance = max(syy - slope * sxy, 0.0) / (n - 2)
        newest_t = self._times[-1]
        return LineFit(
            slope=slope,
            slope_stderr=math.sqrt(residual_variance / sxx),
            intercept_at_last=sums.y0 + mean_y + slope * (newest_t - sums.t0 - mean_t),
            sample_count=n,
            span_s=newest_t - self._times[self._starts[index]],
            residual_rms=math.sqrt(residual_variance),
        )

    def _rebuild(self, index: int) -> None:
        sums = self._sums[index]
        start = self._starts[index]
        sums.reset(self._times[start], self._values[start])
        for t_s, value in zip(self._times[start:], self._values[start:], strict=True):
            sums.add(t_s, value, +1.0)

    def _compact(self) -> None:
        """Drop the samples no window holds (amortised O(1): at most once per half buffer)."""
        head = self._head
        del self._times[:head]
        del self._values[:head]
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

"""Least-squares slopes over several sliding windows at once, O(1) per sample.

One buffer holds the longest window's samples, and beside it running (prefix)
totals of t, y, t², t·y and y² over the buffer, about one origin (T0, Y0) for
the whole bank: entry i holds the sums over the samples before i, so a
window's sums are the newest entry minus the entry at its oldest sample. A
sample costs five additions and one eviction check (the longest window's,
which bounds the buffer), whatever the number of windows; the other windows
move their oldest sample only when their line is asked for (`refresh`,
`line_of`, `fit`), the same samples an eager eviction would have dropped.
`refresh` computes every window's line into parallel lists without an object
per window: the detector's per-sample path; `fit` gives one window's line as
a `LineFit`, bit for bit the same.

Rounding. The totals grow with the buffer while a short window's sums are
small, and a difference of two large totals would keep only the digits the
totals leave it: each total is therefore a pair (hi, lo) kept by an exact
two-sum (Knuth), so a difference is exact to about 2⁻¹⁰⁶ of the totals, and
what remains is the rounding of each term (t·t, t·y, y·y) and of the
centring (Σt² − n·t̄²) about the common origin rather than the window's own.
The origin is the oldest held sample, and it is moved (the buffer compacted,
its totals rebuilt from the samples, O(held)) once the newest sample is more
than REBASE_WINDOWS longest windows away from it: at most once per
(REBASE_WINDOWS − 1) longest windows of sample time, so amortised O(1),
and no held sample is ever more than REBASE_WINDOWS·(longest window) from
the origin. For a window of W seconds
the centring then costs a relative ≈ 12·ε·(D/W)² of Σ(t − t̄)², with D ≤
REBASE_WINDOWS·(longest window) (ε = 1.1·10⁻¹⁶), and Σ(t − t̄)(y − ȳ) loses in
proportion to how far the window's values sit from Y0.

Measured against exact arithmetic (bench/bank_cost.py; 50 Hz, 10⁵ Pa with
0.01 Pa of noise, times a day into the run; largest error over all windows),
these totals against the per-window sums they replaced: slopes 2·10⁻¹⁰ against
9·10⁻¹⁰ relative (1-120 s, quiet), 6·10⁻¹⁰ against 5·10⁻¹³ (falling 30 Pa/s),
9·10⁻⁶ against 8·10⁻¹³ for the 1 s window of a 3600 s bank (≤ 10⁻⁶ of the
slope's standard error for both); residual variances 1·10⁻¹² against 3·10⁻¹⁴
(quiet), 7·10⁻⁴ against 2·10⁻³ (falling 30 Pa/s: the residual is 10⁻⁹ of
Σ(y − ȳ)² in any sums-based fit), 7·10⁻⁸ against 3·10⁻⁶ (3600 s); the
second-difference noise alike (4·10⁻¹⁰). tests/daemon/test_window_bank.py
holds these bounds.

Beside the lines, each window's white-noise variance from second differences,
d_j = y_j − (y_{j−1} + y_{j+1})/2 (Var d = 1.5·σ² for white noise): a straight
line and a slow curve do not move them, and a kink moves one. A running total
of d² over the buffer gives any window's sum as a difference of two entries.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Sequence

from .linear_fit import LineFit, centred_line, line_from_sums

# The common origin moves once the newest sample is this many longest windows
# from it (see the module's note on rounding): a rebuild of the held samples'
# totals at most once per (REBASE_WINDOWS − 1) longest windows of sample time.
REBASE_WINDOWS = 3.0
# Per sample, the running totals (hi, lo) of t, y, t², t·y, y²: ten doubles.
_STRIDE = 10


class LineFitBank:
    """Sliding least-squares lines over each of `windows_s` (seconds, ascending)."""

    def __init__(self, windows_s: Sequence[float]) -> None:
        if not windows_s or any(w <= 0 for w in windows_s):
            raise ValueError("windows_s must be positive and not empty")
        if list(windows_s) != sorted(windows_s):
            raise ValueError("windows_s must be in ascending order")
        self.windows_s = tuple(windows_s)
        self._longest_s = self.windows_s[-1]
        self._rebase_after_s = REBASE_WINDOWS * self._longest_s
        self._times: list[float] = []
        self._values: list[float] = []
        self._head = 0  # index of the oldest sample the longest window holds
        # Per window: index of its oldest sample, brought up to date when it is read.
        self._starts = [0] * len(windows_s)
        self._t0 = 0.0  # the common origin (s, value units)
        self._y0 = 0.0
        # _prefix[_STRIDE·i …]: the totals over the samples before i, as (hi, lo)
        # pairs for t, y, t², t·y, y² about the origin (one entry more than samples);
        # _running: the newest entry.
        self._running = (0.0,) * _STRIDE
        self._prefix = array("d", self._running)
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
        self._running = (0.0,) * _STRIDE
        self._prefix = array("d", self._running)

    def add(self, t_s: float, value: float) -> None:
        times, values = self._times, self._values
        if times and t_s <= times[-1]:
            raise ValueError(f"sample times must increase: {t_s} after {times[-1]}")
        if not times:
            self._t0, self._y0 = t_s, value
        t = t_s - self._t0
        y = value - self._y0
        running = _with_sample(self._running, t, y)
        self._running = running
        self._prefix.extend(running)
        times.append(t_s)
        values.append(value)
        newest = len(times) - 1
        totals = self._dd_totals
        if newest >= 2:
            d = values[newest - 1] - 0.5 * (values[newest - 2] + value)
            totals.append(totals[-1] + d * d)
        elif newest == 1:
            totals.append(0.0)
        # Only the longest window evicts here (it bounds the buffer); the others
        # catch up when read.
        horizon = t_s - self._longest_s
        head = self._head
        if times[head] < horizon:
            head += 1
            while times[head] < horizon:
                head += 1
            self._head = head
        if t > self._rebase_after_s:
            self._rebase()
        elif head > 4096 and head * 2 > len(times):
            self._compact()

    def _start(self, index: int) -> int:
        """Window `index`'s oldest sample now (the samples an eviction at every add
        would have left it)."""
        times = self._times
        start = self._starts[index]
        horizon = times[-1] - self.windows_s[index]
        if times[start] < horizon:
            start = bisect_left(times, horizon, start + 1)
            self._starts[index] = start
        return start

    def _sums(self, index: int) -> tuple[int, float, float, float, float, float]:
        """n and the sums of t, y, t², t·y, y² about the origin over window `index`."""
        start = self._start(index)
        s = _STRIDE * start
        ht, lt, hy, ly, htt, ltt, hty, lty, hyy, lyy = self._running
        at, bt, ay, by, att, btt, aty, bty, ayy, byy = self._prefix[s : s + _STRIDE]
        return (
            len(self._times) - start,
            (ht - at) + (lt - bt),
            (hy - ay) + (ly - by),
            (htt - att) + (ltt - btt),
            (hty - aty) + (lty - bty),
            (hyy - ayy) + (lyy - byy),
        )

    def fit(self, index: int) -> LineFit | None:
        """The line through window `index`; None with fewer than three samples."""
        if not self._times:
            return None
        n, st, sy, stt, sty, syy = self._sums(index)
        newest_t = self._times[-1]
        return line_from_sums(
            n=n,
            st=st,
            sy=sy,
            stt=stt,
            sty=sty,
            syy=syy,
            y0=self._y0,
            newest_t=newest_t - self._t0,
            span_s=newest_t - self._times[self._starts[index]],
        )

    def line_of(self, index: int) -> tuple[float, float, float, int] | None:
        """Window `index`'s (slope, residual variance, Σ(t − t̄)², sample count) now, by
        `refresh`'s arithmetic but for one window; None where it has no line."""
        if not self._times:
            return None
        n, st, sy, stt, sty, syy = self._sums(index)
        line = centred_line(n, st, sy, stt, sty, syy)
        if line is None:
            return None
        slope, residual_variance, sxx, _, _ = line
        return slope, residual_variance, sxx, n

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
        held = len(times)
        newest = held - 1
        starts = self._starts
        prefix = self._prefix
        ht, lt, hy, ly, htt, ltt, hty, lty, hyy, lyy = self._running
        newest_from_t0 = newest_t - self._t0
        y0 = self._y0
        sqrt = math.sqrt
        for k, window_s in enumerate(self.windows_s):
            start = starts[k]
            horizon = newest_t - window_s
            if times[start] < horizon:
                start = bisect_left(times, horizon, start + 1)
                starts[k] = start
            n = held - start
            if n < 3:
                counts[k] = 0
                continue
            s = _STRIDE * start
            # `_sums`'s arithmetic, written out.
            at, bt, ay, by, att, btt, aty, bty, ayy, byy = prefix[s : s + _STRIDE]
            st = (ht - at) + (lt - bt)
            sy = (hy - ay) + (ly - by)
            stt = (htt - att) + (ltt - btt)
            mean_t = st / n
            mean_y = sy / n
            sxx = stt - n * mean_t * mean_t
            if sxx <= 0.0:
                counts[k] = 0
                continue
            sty = (hty - aty) + (lty - bty)
            syy = (hyy - ayy) + (lyy - byy)
            sxy = sty - n * mean_t * mean_y
            syy_centred = syy - n * mean_y * mean_y
            slope = sxy / sxx
            residual_ss = syy_centred - slope * sxy
            if residual_ss < 0.0:
                residual_ss = 0.0
            residual_variance = residual_ss / (n - 2)
            slopes[k] = slope
            stderrs[k] = sqrt(residual_variance / sxx)
            sxxs[k] = sxx
            variances[k] = residual_variance
            # Interior samples start + 1 … newest − 1 (n ≥ 3, so at least one).
            noise[k] = (totals[newest - 1] - totals[start]) / (1.5 * (newest - 1 - start))
            intercepts[k] = y0 + mean_y + slope * (newest_from_t0 - mean_t)
            counts[k] = n
            spans[k] = newest_t - times[start]

    def _compact(self) -> None:
        """Drop the samples no window holds (amortised O(1): at most once per half buffer)."""
        head = self._head
        for index in range(len(self.windows_s)):
            self._start(index)  # every window's start at or after the head
        del self._times[:head]
        del self._values[:head]
        del self._prefix[: _STRIDE * head]
        # Differences of the totals are all that is read: rebase them on the new
        # first sample so they do not grow without bound.
        # (A gap longer than the longest window leaves only the newest sample, which
        # has no entry yet.)
        totals = self._dd_totals
        base = totals[head] if head < len(totals) else 0.0
        self._dd_totals = array("d", [total - base for total in totals[head:]])
        self._starts = [start - head for start in self._starts]
        self._head = 0

    def _rebase(self) -> None:
        """Compact, move the origin to the oldest held sample and rebuild the totals
        about it (O(held), at most once per (REBASE_WINDOWS − 1) longest windows)."""
        self._compact()
        times, values = self._times, self._values
        t0, y0 = times[0], values[0]
        self._t0, self._y0 = t0, y0
        running = (0.0,) * _STRIDE
        prefix = array("d", running)
        for t_s, value in zip(times, values, strict=True):
            running = _with_sample(running, t_s - t0, value - y0)
            prefix.extend(running)
        self._prefix = prefix
        self._running = running


def _with_sample(running: tuple[float, ...], t: float, y: float) -> tuple[float, ...]:
    """The totals (hi, lo pairs of t, y, t², t·y, y²) with one more sample: Knuth's
    two-sum per total, s = hi + x rounded and what the rounding lost, exactly, into lo."""
    ht, lt, hy, ly, htt, ltt, hty, lty, hyy, lyy = running
    s = ht + t
    b = s - ht
    lt += (ht - (s - b)) + (t - b)
    s2 = hy + y
    b = s2 - hy
    ly += (hy - (s2 - b)) + (y - b)
    x = t * t
    s3 = htt + x
    b = s3 - htt
    ltt += (htt - (s3 - b)) + (x - b)
    x = t * y
    s4 = hty + x
    b = s4 - hty
    lty += (hty - (s4 - b)) + (x - b)
    x = y * y
    s5 = hyy + x
    b = s5 - hyy
    lyy += (hyy - (s5 - b)) + (x - b)
    return (s, lt, s2, ly, s3, ltt, s4, lty, s5, lyy)


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

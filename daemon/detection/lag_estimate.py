"""Estimating a pressure sensor's thermal lag τ online, from its own data.

**The physics.** The sensor's die follows the gas through a first-order lag,
dT_s/dt = (T_gas − T_s)/τ, so T_gas = T_s + τ·T_s' exactly. The detector fits
q_s = P·T_ref/T_s; in a sealed chamber the gas-law quantity q = P·T_ref/T_gas
is constant, and

    q_s = q·T_gas/T_s = q·(1 + τ·x),   x = T_s'/T_s   (no approximation),

so q_s is a straight line in x with slope q·τ. Under the ISS cycle (±0.3 K,
92 min) with τ = 60 s, T_s' reaches 0.3 K·2π/5520 s = 3.4·10⁻⁴ K/s, x reaches
1.2·10⁻⁶ /s and q·τ·x ≈ 10⁵ Pa · 60 s · 1.2·10⁻⁶ /s ≈ 7 Pa: the signal, against
1.6 Pa of noise per sample at 25 Hz (0.32 Pa per 1 s block).

**Blocks.** Samples are averaged into `block_s` blocks (mean time, mean
temperature, mean P/T_s); everything else runs once per block, so a sample
costs four additions. A gap leaves no blocks: nothing is interpolated.

**T_s'.** From the temperature itself: the least-squares slope of the block
means within ±`derivative_s`/2 of a block (running sums, O(1) per block). For a
window symmetric about the block the line's slope is the derivative at the
block for any quadratic, and for the ISS cycle it is ω·cos scaled by
1 − (ω·60 s)²/10 = 0.9995 (testbed, 30 min: 0.996). The BMP388's temperature
(~0.005 K steps, 0.002 K RMS noise) averaged over 120 blocks of 25 samples
gives T_s' to ~10⁻⁶ K/s, 0.3 % of the cycle's peak. A block whose window is
lopsided (a gap on one side: its mean time more than a tenth of the window
from the block, or under half its blocks present) forms no row, nor does one
whose temperature strays from the line by more than 4 times the usual
residual variance: an abrupt change of the gas temperature (a decompression's
cooling, a heater) and the die's relaxation after it, where the line misses
T_s' and the row's x, tens of times the cycle's, would pull β about. (A
−0.5 K step otherwise bends its segment, which is then set aside; but in the
testbed-1mm HIL case the rows just before the hole opened, the last of the
segment before, held the cooling in their windows and pulled τ = 30 s to
2 ± 7 s.) The row for a block can only be formed `derivative_s`/2 after it;
harmless, since τ is a property of the sensor's mounting that changes over
days, and the estimate rests on hours.

**The regression.** y = mean P/T_s of the block is regressed on x with a
straight line of its own per segment of `segment_s` (1800 s, a fixed grid in
time from the first row): y = a_k + b_k·t + β·x in segment k, τ = β/ȳ. A leak
is a straight line in q within a segment (a constant rate, or an exponential
decay much longer than a segment), so that segment's line absorbs it. A
leak's *onset* is a kink, which one line over hours cannot follow: with one
line over 2 h, a 0.005 Pa/s leak starting mid-way moved τ = 60 s to 37-48 s
and a 0.05 Pa/s one to anywhere in −170…+160 s (a quadratic or cubic trend
was no better). The price of a line per segment: it also takes out the part
of x that is linear within the segment, leaving its curvature, so 2 h at
25 Hz give a standard error of ~0.35 s on 60 s where one line over the
window gives 0.06 s (600 s segments: ~4 s in a 3 h HIL run).

**A bent segment is set aside.** Each segment keeps its sums in quarters.
Lack of fit: the segment's one line against a line per quarter (β common to
both); the residual sum of squares falls by χ²/s² ≈ 2·(quarters − 1) by chance
(measured over 48 sealed segments: +1 σ on average, at most +4.4 σ, the
derivative's error being slightly correlated), and by far more where q bends
inside the segment: a leak's onset (0.005 Pa/s: +345 σ, 0.05 Pa/s: +15 700 σ)
or a start-up transient. A segment more than `BEND_SIGMA` (8) σ above chance
is left out. A kink too small to be seen (≤ 0.002 Pa/s) moved τ by less than
its standard error. A segment takes part once two of its quarters hold rows.

The sums are kept per segment about the segment's own origin (time, y), so
10⁵ Pa/295 K with 1 Pa of noise keep their digits. Segments leave the window
whole, once they end more than `window_s` before the newest row: no sum is
ever subtracted from, so no rounding accumulates, and the window spans
between `window_s` and `window_s` + `segment_s`.

**Standard error.** From the residuals: s² = RSS/(N − 2K − 1) over N rows in
K segments, SE(β) = √(s²/Σ Sxx_k) with Sxx_k the segment's x variation about
its own line. That assumes independent, equal-variance residuals: the
pressure noise is white, so the block means are. What it does not see
(anything that makes the segments disagree: a lag that changed, a transient
the lack-of-fit test missed) shows as disagreement between the segments' own
β_k = Sxy_k/Sxx_k, so the SE is multiplied by the Birge ratio √(χ²/(K − 1))
when that exceeds 1, χ² = Σ (β_k − β)²·Sxx_k/s². Over 20 seeds of 2 h of the
ISS cycle (tests/daemon/test_lag_estimate.py's chamber) the error was
−0.2 s on average and error/SE had a spread of 0.8. Not covered: the error of
T_s' biases β towards zero (errors in the regressor) by its variance over
that of x about the segment lines, ~(1.2·10⁻⁶/3.3·10⁻⁵)² ≈ 0.1 % for the ISS
cycle; and the centred slope's own −(ω·h)²/10 (0.05 % ISS, 0.4 % for the
testbed's 30-minute cycle at 120 s, so use 60 s there).

**When `estimate` says None.** Until two segments take part (two quarters of
the second: ~40 minutes at the defaults), or when the x variation about the
segment lines is zero. One segment alone cannot show that its residuals hide
a kink or a transient, nor can a second that holds only minutes: in the
zvezda-2020 HIL case a version that answered once the second segment held 4
minutes said 80 ± 0.8 s for τ = 60 s, the first segment (start-up and onset)
outweighing it. Otherwise it answers, with its standard error however
large: with no thermal cycle at all the SE is still 11 s after 2 h (and the
estimate near 0: T_s' = 0 carries nothing of τ). The caller decides what
precision it needs, e.g. SE below 10 % of the configured τ before comparing
with it: a rule on SE/τ̂ inside the estimator could never accept a true τ of
0, and an absolute one depends on the use.

**Cost.** 0.25-0.5 µs of CPU per sample for `add` in CPython 3.11 (a loop
that only feeds it, bench/lag_estimate.py, on a shared 2-core machine); the
derivative, the roughness check and the row run once per block. `estimate`
is recomputed once per row and costs O(segments), the finished segments'
own fits being kept: asking after every sample adds 0.3-0.7 µs per sample at
25 Hz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .linear_fit import RunningSums

# Each segment keeps its rows' sums in QUARTERS parts; a part with fewer rows
# than MIN_PART_ROWS is left out, and a segment takes part once two parts are in.
QUARTERS = 4
MIN_PART_ROWS = 10
# A segment whose line leaves more than chance between its parts (the lack-of-fit
# χ² more than this many of its standard deviations above its mean) is set aside.
BEND_SIGMA = 8.0
# No answer before this many segments take part (see the module docstring).
MIN_SEGMENTS = 2
# A derivative window that is lopsided (by a gap) forms no row.
MAX_CENTRE_OFFSET = 0.1  # of derivative_s
MIN_DERIVATIVE_FILL = 0.5  # of the blocks the window would hold without gaps
# Nor does one where the temperature strays from the line by more than this
# times its usual residual variance (the mean of the first ROUGH_SEED_ROWS rows,
# then an exponential mean of the accepted ones with weight ROUGH_WEIGHT): an
# abrupt change of the gas temperature (a decompression's cooling, a heater)
# and the die's relaxation after it, where the line misses T_s'. The blocks'
# noise varies by ±13 % (118 degrees of freedom) and the ISS cycle's curvature
# adds ~20 %: no row was left out of the sealed ISS or testbed cycles (the
# latter at 120 s as well) in tests/daemon/test_lag_estimate.py's chamber.
ROUGH_RATIO = 4.0
ROUGH_SEED_ROWS = 32
ROUGH_WEIGHT = 1.0 / 256.0


@dataclass(frozen=True, slots=True)
class LagEstimate:
    lag_s: float
    stderr_s: float  # residual SE, times the segments' Birge ratio when above 1
    span_s: float  # from the oldest row used to the newest
    # RMS of T_s' about each segment's own straight line (K/s): the part of
    # the temperature's movement that informs τ. 3.3·10⁻⁵ K/s for the ISS
    # cycle over 1800 s segments; ~1.2·10⁻⁶ K/s with no cycle (the noise of
    # the derivative itself).
    excitation: float
    rows: int  # blocks that formed the regression
    segments_used: int
    segments_set_aside: int


class _Sums:
    """Running sums of rows about their segment's origin (u = t − t0, y − y0)."""

    __slots__ = ("n", "su", "suu", "sux", "suy", "sx", "sxx", "sxy", "sy", "syy")

    def __init__(self) -> None:
        self.n = 0
        self.su = self.suu = self.sx = self.sux = self.sxx = 0.0
        self.sy = self.suy = self.sxy = self.syy = 0.0

    def add(self, u: float, dy: float, x: float) -> None:
        self.n += 1
        self.su += u
        self.suu += u * u
        self.sx += x
        self.sux += u * x
        self.sxx += x * x
        self.sy += dy
        self.suy += u * dy
        self.sxy += x * dy
        self.syy += dy * dy

    @classmethod
    def merged(cls, parts: list[_Sums]) -> _Sums:
        total = cls()
        for part in parts:
            total.n += part.n
            total.su += part.su
            total.suu += part.suu
            total.sx += part.sx
            total.sux += part.sux
            total.sxx += part.sxx
            total.sy += part.sy
            total.suy += part.suy
            total.sxy += part.sxy
            total.syy += part.syy
        return total

    def partialled(self) -> tuple[float, float, float] | None:
        """(Sxx, Sxy, Syy) about these rows' own line in t; None with under three rows."""
        n = self.n
        if n < 3:
            return None
        du = self.suu - self.su * self.su / n
        if du <= 0.0:
            return None
        dx = self.sxx - self.sx * self.sx / n
        dxy = self.sxy - self.sx * self.sy / n
        dy = self.syy - self.sy * self.sy / n
        cux = self.sux - self.su * self.sx / n
        cuy = self.suy - self.su * self.sy / n
        return dx - cux * cux / du, dxy - cux * cuy / du, dy - cuy * cuy / du


class _Segment:
    """One segment's rows: sums per quarter, about the segment's origin."""

    __slots__ = ("fitted", "length_s", "parts", "t0", "t_first", "t_last", "y0")

    def __init__(self, t0: float, y0: float, length_s: float) -> None:
        self.t0 = t0
        self.y0 = y0
        self.length_s = length_s
        self.t_first = math.inf
        self.t_last = -math.inf
        self.parts = [_Sums() for _ in range(QUARTERS)]
        # `_segment_fit`'s answer, kept until the next row: a finished segment's
        # is computed once.
        self.fitted: tuple[_Fit | None, bool] | None = None

    def add(self, t_s: float, y: float, x: float) -> None:
        u = t_s - self.t0
        part = min(int(u * QUARTERS / self.length_s), QUARTERS - 1)
        self.parts[part].add(u, y - self.y0, x)
        if t_s < self.t_first:
            self.t_first = t_s
        self.t_last = t_s
        self.fitted = None


@dataclass(frozen=True, slots=True)
class _Fit:
    """A segment's share of the regression: its rows, x and y about its own line."""

    rows: int
    sxx: float
    sxy: float
    syy: float
    y_sum: float  # Σ y over its rows (for the mean q_s)
    t_first: float
    t_last: float


def _segment_fit(segment: _Segment) -> tuple[_Fit | None, bool]:
    """(its share, or None; whether it was set aside as bent).

    Lack of fit: the segment's one line against a line per part (with a common
    β in both). A leak's onset or a start-up transient bends q inside the
    segment; lines per quarter follow the bend, and the residual sum of squares
    falls by far more than the 2·(parts − 1) extra parameters explain.
    """
    parts = [part for part in segment.parts if part.n >= MIN_PART_ROWS]
    if len(parts) < 2:
        return None, False
    total = _Sums.merged(parts)
    whole = total.partialled()
    pieces = [part.partialled() for part in parts]
    if whole is None or whole[0] <= 0.0 or any(piece is None for piece in pieces):
        return None, False
    sxx, sxy, syy = whole
    piece_xx = sum(piece[0] for piece in pieces if piece is not None)
    piece_xy = sum(piece[1] for piece in pieces if piece is not None)
    piece_yy = sum(piece[2] for piece in pieces if piece is not None)
    rss_whole = max(syy - sxy * sxy / sxx, 0.0)
    rss_pieces = max(piece_yy - piece_xy * piece_xy / piece_xx, 0.0) if piece_xx > 0 else 0.0
    dof = total.n - 2 * len(parts) - 1
    if dof <= 0:
        return None, False
    extra = 2 * (len(parts) - 1)
    if rss_pieces > 0.0:
        chi2 = (rss_whole - rss_pieces) / (rss_pieces / dof)
        if chi2 > extra + BEND_SIGMA * math.sqrt(2.0 * extra):
            return None, True
    fit = _Fit(
        rows=total.n,
        sxx=sxx,
        sxy=sxy,
        syy=syy,
        y_sum=segment.y0 * total.n + total.sy,
        t_first=segment.t_first,
        t_last=segment.t_last,
    )
    return fit, False


class LagEstimator:
    """τ from one sensor's (t, P, T_s) samples; pure: no clock, no I/O.

    `add` per sample (times must not decrease; the detector's are monotonic),
    `estimate` whenever wanted (cached until the next row is formed).
    """

    def __init__(
        self,
        *,
        window_s: float = 7200.0,
        block_s: float = 1.0,
        derivative_s: float = 120.0,
        segment_s: float = 1800.0,
    ) -> None:
        if min(window_s, block_s, derivative_s, segment_s) <= 0:
            raise ValueError("window_s, block_s, derivative_s and segment_s must be positive")
        if derivative_s < 4 * block_s:
            raise ValueError("derivative_s must hold at least four blocks")
        self.window_s = window_s
        self.block_s = block_s
        self.derivative_s = derivative_s
        self.segment_s = segment_s
        # The block being filled.
        self._block_end = -math.inf
        self._n = 0
        self._st = self._stemp = self._sq = 0.0
        # Closed blocks, waiting for their derivative window: (t, T, P/T).
        self._times: list[float] = []
        self._temps: list[float] = []
        self._ys: list[float] = []
        self._centre = 0  # next block to form a row for
        self._left = 0  # oldest block in the derivative sums
        self._right = 0  # one past the newest block in them
        # The temperature's block means in the derivative window, about a local origin.
        self._derivative = RunningSums()
        # The temperature's usual residual variance about the derivative lines.
        self._smooth_level = 0.0
        self._smooth_rows = 0
        # Regression segments, oldest first; the last one is being filled.
        self._segments: list[_Segment] = []
        self._origin_t: float | None = None
        self._rows = 0
        self._cached: tuple[int, LagEstimate | None] | None = None

    def add(self, t_s: float, pressure_pa: float, sensor_temperature_k: float) -> None:
        if t_s >= self._block_end:
            self._close_block(t_s)
        self._n += 1
        self._st += t_s
        self._stemp += sensor_temperature_k
        self._sq += pressure_pa / sensor_temperature_k

    def estimate(self) -> LagEstimate | None:
        """τ and its standard error over the window; None until it can be formed
        (see the module docstring)."""
        if self._cached is not None and self._cached[0] == self._rows:
            return self._cached[1]
        result = self._estimate()
        self._cached = (self._rows, result)
        return result

    # -- blocks and the temperature's derivative ---------------------------

    def _close_block(self, t_s: float) -> None:
        n = self._n
        if n:
            self._times.append(self._st / n)
            self._temps.append(self._stemp / n)
            self._ys.append(self._sq / n)
            self._n = 0
            self._st = self._stemp = self._sq = 0.0
            self._advance_rows()
        self._block_end = t_s + self.block_s

    def _advance_rows(self) -> None:
        """Form the rows of every block whose ±derivative_s/2 window is complete."""
        times, temps = self._times, self._temps
        derivative = self._derivative
        half = 0.5 * self.derivative_s
        newest = times[-1]
        while self._centre < len(times) and newest >= times[self._centre] + half:
            c = self._centre
            t_c = times[c]
            while self._right < len(times) and times[self._right] <= t_c + half:
                if self._right == self._left:  # empty: a fresh origin (after a gap, at first)
                    derivative.reset(times[self._right], temps[self._right])
                derivative.add(times[self._right], temps[self._right], +1.0)
                self._right += 1
            while times[self._left] < t_c - half:
                derivative.add(times[self._left], temps[self._left], -1.0)
                self._left += 1
                derivative.evictions += 1
            if derivative.evictions >= max(self._right - self._left, 64):
                self._rebuild()
            slope = self._slope_at(t_c)
            if slope is not None:
                self._add_row(t_c, self._ys[c], slope / temps[c])
            self._centre += 1
        if self._left > 4096:
            self._compact()

    def _slope_at(self, t_c: float) -> float | None:
        d = self._derivative
        n = d.n
        if n < max(3.0, MIN_DERIVATIVE_FILL * self.derivative_s / self.block_s):
            return None
        mean_t = d.st / n
        if abs(d.t0 + mean_t - t_c) > MAX_CENTRE_OFFSET * self.derivative_s:
            return None
        sxx = d.stt - mean_t * d.st
        if sxx <= 0.0:
            return None
        sxy = d.sty - mean_t * d.sy
        slope = sxy / sxx
        # How far the temperature strays from the line: the blocks' noise and a
        # little of the cycle's curvature, unless something abrupt happened.
        syy = d.syy - d.sy * d.sy / n
        roughness = max(syy - slope * sxy, 0.0) / (n - 2.0)
        self._smooth_rows += 1
        if self._smooth_rows <= ROUGH_SEED_ROWS:
            self._smooth_level += (roughness - self._smooth_level) / self._smooth_rows
        elif roughness > ROUGH_RATIO * self._smooth_level:
            self._smooth_rows -= 1
            return None
        else:
            self._smooth_level += (roughness - self._smooth_level) * ROUGH_WEIGHT
        return slope

    def _rebuild(self) -> None:
        left, right = self._left, self._right
        derivative = self._derivative
        if left < right:
            derivative.reset(self._times[left], self._temps[left])
        else:
            derivative.reset(0.0, 0.0)
        for k in range(left, right):
            derivative.add(self._times[k], self._temps[k], +1.0)

    def _compact(self) -> None:
        """Drop the blocks no derivative window needs (at most once per 4096 blocks)."""
        drop = min(self._left, self._centre)
        del self._times[:drop]
        del self._temps[:drop]
        del self._ys[:drop]
        self._left -= drop
        self._right -= drop
        self._centre -= drop

    # -- the regression -------------------------------------------------------

    def _add_row(self, t_s: float, y: float, x: float) -> None:
        if self._origin_t is None:
            self._origin_t = t_s
        index = math.floor((t_s - self._origin_t) / self.segment_s)
        segments = self._segments
        start_t = self._origin_t + index * self.segment_s
        if not segments or segments[-1].t0 != start_t:
            segments.append(_Segment(start_t, y, self.segment_s))
        segments[-1].add(t_s, y, x)
        self._rows += 1
        # Whole segments leave once they end more than window_s before this row.
        horizon = t_s - self.window_s
        while len(segments) > 1 and segments[0].t0 + self.segment_s <= horizon:
            segments.pop(0)

    def _estimate(self) -> LagEstimate | None:
        fits: list[_Fit] = []
        bent = 0
        for segment in self._segments:
            if segment.fitted is None:
                segment.fitted = _segment_fit(segment)
            fit, is_bent = segment.fitted
            bent += is_bent
            if fit is not None:
                fits.append(fit)
        if len(fits) < MIN_SEGMENTS:
            return None
        total_xx = sum(f.sxx for f in fits)
        total_xy = sum(f.sxy for f in fits)
        total_yy = sum(f.syy for f in fits)
        rows = sum(f.rows for f in fits)
        dof = rows - 2 * len(fits) - 1
        if total_xx <= 0.0 or dof <= 0:
            return None
        beta = total_xy / total_xx
        variance = max(total_yy - beta * total_xy, 0.0) / dof
        stderr = math.sqrt(variance / total_xx)
        if len(fits) >= 2 and variance > 0.0:
            chi2 = sum((f.sxy / f.sxx - beta) ** 2 * f.sxx for f in fits) / variance
            stderr *= math.sqrt(max(1.0, chi2 / (len(fits) - 1)))
        mean_y = sum(f.y_sum for f in fits) / rows
        return LagEstimate(
            lag_s=beta / mean_y,
            stderr_s=stderr / mean_y,
            span_s=max(f.t_last for f in fits) - min(f.t_first for f in fits),
            excitation=math.sqrt(total_xx / rows) * self._temps[-1],
            rows=rows,
            segments_used=len(fits),
            segments_set_aside=bent,
        )


# A configured lag disagrees with the measured one when they differ by more than
# this many standard errors of the estimate and by more than this share of the
# larger of the two (a τ of 0 configured for a die that lags 60 s: flagged; 58 s
# configured against 60.4 ± 0.4 s measured: not worth a warning) ...
DISAGREEMENT_SIGMA = 4.0
DISAGREEMENT_FRACTION = 0.1
# ... and only when the estimate is at least this precise, as a share of the
# larger of the two: without a thermal cycle the estimate is pulled towards 0 by
# the error of T_s' (errors in the regressor), which its standard error does not
# show, but it is then also imprecise (60 s true, no cycle: 2.6 ± 10.6 s).
PRECISION_FRACTION = 0.1
# A flagged lag is cleared only once they agree within these (hysteresis: an
# estimate near the boundary must not warn and clear at every telemetry tick).
AGREEMENT_SIGMA = 2.0
AGREEMENT_FRACTION = 0.05


def lag_disagrees(configured_s: float, estimate: LagEstimate) -> bool:
    """Whether the measured lag says, precisely enough, that the configured one is wrong."""
    difference = abs(estimate.lag_s - configured_s)
    scale = max(abs(estimate.lag_s), configured_s)
    return (
        estimate.stderr_s <= PRECISION_FRACTION * scale
        and difference > DISAGREEMENT_SIGMA * estimate.stderr_s
        and difference > DISAGREEMENT_FRACTION * scale
    )


def lag_agrees(configured_s: float, estimate: LagEstimate) -> bool:
    """Whether the measured lag is close enough to the configured one to clear a warning."""
    difference = abs(estimate.lag_s - configured_s)
    scale = max(abs(estimate.lag_s), configured_s)
    return (
        difference <= AGREEMENT_SIGMA * estimate.stderr_s
        or difference <= AGREEMENT_FRACTION * scale
    )

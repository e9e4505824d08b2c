"""How far a sensor's temperature has left the curve the lag correction assumes.

The lag correction of a window's slope is (q·τ/T) times the least-squares slope
of T_s' over the window (`thermal_lag`), and that slope needs no derivative:
integrating by parts, for any T_s,

    slope_LS(T_s') over [t−W, t] = (6/W²)·(T_s(t−W) + T_s(t) − 2·mean_W T_s).

The correction uses the sliding cubic's T_s'' instead, which is that same
formula applied to the cubic. So the correction's error is the formula applied
to the residuals r = T_s − cubic: a heater step, a door, a lamp, anything the
cubic over `temperature_window_s` cannot follow, shows as residual structure
at the window's ends. (Once such an event is found, the curve is the cubic
plus the event's responses, `thermal_events`, and the misfit is what that
leaves.) Estimated from 1 s block means of the residuals, the ends averaged
over an eighth of the window (their noise from the blocks' second
differences). Where it stands out of its noise (MISFIT_SIGMA), the
window's correction takes it in and its uncertainty grows by its noise and by
what τ's own uncertainty makes of it: at any time, not only after start-up.
Below that the cubic is trusted: the temperature then says nothing the
pressure's own noise would not drown.

Pure: time comes in with the sample.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from typing import Protocol


class TemperatureCurve(Protocol):
    """What the residuals are taken against: the cubic, or the cubic with the
    events' responses (`thermal_events`)."""

    def value_at(self, at_t_s: float) -> float | None: ...


BLOCK_S = 1.0
# A window shorter than this is judged by the misfit of the last
# MIN_MISFIT_WINDOW_S: one second blocks cannot resolve the curvature within a
# few seconds, and a thermal event that began just before a short window is
# what would bend it.
MIN_MISFIT_WINDOW_S = 8.0
# The ends are averaged over this fraction of the window (at least one block),
# and over no more than END_MAX_S: an end averaged over 45 s (a 362 s window)
# lags a heater step seen 20 s ago by most of its size, and the long window's
# slope, which takes the step's pressure at once, raised a false critical.
# Short ends cost little there: the noise scales as 1/W².
END_FRACTION = 1.0 / 8.0
END_MAX_S = 8.0
# Below this many standard errors of its own noise, a misfit is taken for noise.
MISFIT_SIGMA = 2.0
# Once a misfit stood out, it is applied for this fraction of the window's span
# more (a misfit hovering at its noise must not switch the correction on and off).
HOLD_FRACTION = 0.5
_NOISE_MEMORY = 0.01  # of the blocks' second-difference variance, per block


class ThermalMisfit:
    """1 s block means of one sensor's temperature over the cubic's window, and
    per window the part of the lag correction the cubic gets wrong (K/s²)."""

    def __init__(self, *, window_s: float) -> None:
        self.window_s = window_s + MIN_MISFIT_WINDOW_S
        self._times: deque[float] = deque()
        self._means: deque[float] = deque()
        self._sum_t = self._sum_temperature = 0.0
        self._count = 0
        self._block_end_s = -math.inf
        self._noise_variance = 0.0  # of one block mean, K²
        self._noise_blocks = 0
        self._closed = 0  # blocks closed so far
        self._cached_key: tuple[int, float, int, int] | None = None
        self._cached: list[tuple[float, float]] = []
        # The largest |misfit|/noise over the windows at the last computation,
        # before any hold: how far the temperature has left the curve.
        self.peak_sigma = 0.0
        # Per window: until when (sample time) its misfit is applied.
        self._held: dict[int, float] = {}

    def add(self, t_s: float, temperature_k: float) -> None:
        if t_s >= self._block_end_s:
            self._close_block()
            self._block_end_s = t_s + BLOCK_S
        self._sum_t += t_s
        self._sum_temperature += temperature_k
        self._count += 1

    def _close_block(self) -> None:
        if self._count == 0:
            return
        means = self._means
        mean = self._sum_temperature / self._count
        if len(means) >= 2:
            d = means[-1] - 0.5 * (means[-2] + mean)
            # Var d = 1.5·σ² for white block means; the thermal cycle's curvature
            # over two seconds is far below the noise.
            sample = d * d / 1.5
            if self._noise_blocks < 100:
                self._noise_blocks += 1
                self._noise_variance += (sample - self._noise_variance) / self._noise_blocks
            else:
                self._noise_variance += _NOISE_MEMORY * (sample - self._noise_variance)
        self._closed += 1
        self._times.append(self._sum_t / self._count)
        means.append(mean)
        self._sum_t = self._sum_temperature = 0.0
        self._count = 0
        horizon = self._times[-1] - self.window_s
        while self._times[0] < horizon:
            self._times.popleft()
            means.popleft()

    @property
    def closed(self) -> int:
        """How many blocks have closed so far (the blocks change only then)."""
        return self._closed

    @property
    def times_s(self) -> deque[float]:
        """The blocks' mean sample times, oldest first."""
        return self._times

    @property
    def means_k(self) -> deque[float]:
        """The blocks' mean temperatures, oldest first."""
        return self._means

    def excess(
        self,
        curve: TemperatureCurve,
        newest_t_s: float,
        windows_s: Sequence[float],
        *,
        solved_at_s: float,
        curve_serial: int = 0,
    ) -> list[tuple[float, float]]:
        """Per window ending at `newest_t_s`: the error of the cubic's T_s'' (K/s²,
        signed: the residuals' own slope_LS(T_s')) and its noise, where it stands
        out of MISFIT_SIGMA times that noise or did so within the last
        HOLD_FRACTION of the window; (0, 0) elsewhere."""
        # The residuals move only when a block closes or the curve is solved
        # anew (`solved_at_s`, once a second; `curve_serial`, a new event fit):
        # between, the answer stands.
        key = (self._closed, solved_at_s, curve_serial, len(windows_s))
        if key == self._cached_key:
            return self._cached
        self._cached_key = key
        self._cached = out = self._compute(curve, newest_t_s, windows_s)
        return out

    def _compute(
        self, curve: TemperatureCurve, newest_t_s: float, windows_s: Sequence[float]
    ) -> list[tuple[float, float]]:
        times, means = self._times, self._means
        out = [(0.0, 0.0)] * len(windows_s)
        self.peak_sigma = 0.0
        if len(times) < 3 or self._noise_blocks < 3:
            return out
        residuals = []
        for t, mean in zip(times, means, strict=True):
            fitted = curve.value_at(t)
            if fitted is None:
                return out
            residuals.append(mean - fitted)
        totals = [0.0]
        for r in residuals:
            totals.append(totals[-1] + r)
        block_noise = math.sqrt(self._noise_variance)
        time_list = list(times)
        last = len(residuals)
        for k, window_s in enumerate(windows_s):
            span_s = max(window_s, MIN_MISFIT_WINDOW_S)
            first = bisect_left(time_list, newest_t_s - span_s)
            blocks = last - first
            if blocks < 3:
                continue
            ends = max(1, min(int(blocks * END_FRACTION), int(END_MAX_S / BLOCK_S)))
            start_mean = (totals[first + ends] - totals[first]) / ends
            end_mean = (totals[last] - totals[last - ends]) / ends
            window_mean = (totals[last] - totals[first]) / blocks
            scale = 6.0 / (span_s * span_s)
            misfit = scale * (start_mean + end_mean - 2.0 * window_mean)
            noise = scale * block_noise * math.sqrt(2.0 / ends)
            if noise > 0.0 and abs(misfit) > self.peak_sigma * noise:
                self.peak_sigma = abs(misfit) / noise
            if abs(misfit) > MISFIT_SIGMA * noise:
                self._held[k] = newest_t_s + HOLD_FRACTION * span_s
            if newest_t_s <= self._held.get(k, -math.inf):
                out[k] = (misfit, noise)
        return out

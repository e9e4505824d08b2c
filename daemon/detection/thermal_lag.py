"""Undoing a sensor's thermal lag in the slope of P·T_ref/T.

A pressure sensor measures its die's temperature T_s, and the die follows the
gas through a first-order lag: dT_s/dt = (T_gas − T_s)/τ, so
T_gas = T_s + τ·dT_s/dt. The detector fits q_s = P·T_ref/T_s, and since
P ∝ m·T_gas,

    q_s = q·T_gas/T_s ≈ q·(1 + τ·T_s'/T),   slope(q_s) = slope(q) + (q·τ/T)·T_s''.

Over a ±0.3 K, 92-minute cycle with τ = 60 s, T_s'' reaches
0.3 K·(2π/5520 s)² = 3.9·10⁻⁷ K/s² and (q·τ/T)·T_s'' = 343 Pa/K · 60 s ·
3.9·10⁻⁷ K/s² ≈ 0.008 Pa/s: more than the whole Zvezda 2020 leak (0.005 Pa/s).

Correcting each sample with T_s + τ·dT_s/dt needs the derivative at the newest
sample, which a causal fit gives either late (a line's slope is the derivative
half its window ago) or noisy (the end of a polynomial fit); both leave errors
of the order of the long windows' own standard error (docs/detection.md).
Instead the correction is applied to each window's slope: a cubic fitted to the
sensor temperature over the last `window_s` gives T_s'' at any time inside it,
and the least-squares slope of the (quadratic) T_s' over a window is exactly
T_s'' at the window's centre. The cubic's coefficient covariance gives that
correction's standard error, which is added to the window's, so the
significance stays honest where the correction is uncertain.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .small_matrix import invert
from .thermal_events import EventFit, ThermalEvents
from .thermal_misfit import ThermalMisfit

_DEGREE = 3
_TERMS = _DEGREE + 1
RESOLVE_INTERVAL_S = 1.0
# e^−5 < 1 %: a start-up transient of the die is spent after this many lags.
SETTLE_LAGS = 5.0


@dataclass(frozen=True, slots=True)
class Curvature:
    second_derivative_k_per_s2: float
    stderr_k_per_s2: float


class SlidingCubicFit:
    """A least-squares cubic through (t, T) over a sliding window, O(1) per sample.

    Running sums of u^0..u^6 and u^0..u^3·y about a local origin (u = (t − t0)/W,
    y = T − T0), rebuilt once per window's worth of evictions.
    """

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()
        self._reset(0.0, 0.0)
        self._solution: tuple[float, float, float, float, float] | None = None
        self._coefficients: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self._solved_at_s = -math.inf

    @property
    def span_s(self) -> float:
        return self._samples[-1][0] - self._samples[0][0] if self._samples else 0.0

    def clear(self) -> None:
        self._samples.clear()
        self._reset(0.0, 0.0)

    def add(self, t_s: float, value: float) -> None:
        if not self._samples:
            self._reset(t_s, value)
        self._samples.append((t_s, value))
        self._accumulate(t_s, value, +1.0)
        horizon = t_s - self.window_s
        while self._samples[0][0] < horizon:
            old_t, old_value = self._samples.popleft()
            self._accumulate(old_t, old_value, -1.0)
            self._evictions += 1
        if self._evictions >= max(len(self._samples), 64):
            first_t, first_value = self._samples[0]
            self._reset(first_t, first_value)
            for t, value_k in self._samples:
                self._accumulate(t, value_k, +1.0)
            self._solution = None
        # The curvature of a temperature over minutes hardly moves within a second:
        # solving the 4×4 system once a second keeps the cost per sample small.
        if t_s - self._solved_at_s >= RESOLVE_INTERVAL_S:
            self._solution = None
            self._solved_at_s = t_s

    def curvature(self, at_t_s: float) -> Curvature | None:
        """d²T/dt² at `at_t_s` and its standard error; None with too few samples."""
        solved = self._solve()
        if solved is None:
            return None
        # T'' = (2·c2 + 6·c3·u)/W² is linear in u; so is its gradient in the
        # coefficients, and its variance a quadratic in u.
        u = (at_t_s - self._t0) / self.window_s
        base, per_u, var0, var1, var2 = solved
        variance = var0 + u * (var1 + u * var2)
        return Curvature(base + per_u * u, math.sqrt(max(variance, 0.0)))

    @property
    def origin_t_s(self) -> float:
        """The time u = 0 of the coefficients `model` returns."""
        return self._t0

    def model(self) -> tuple[float, float, float, float, float] | None:
        """T'' at u = 0, its change per unit u = (t − origin_t_s)/window_s, and the
        three coefficients of its variance in u (see `curvature`); None with too
        few samples."""
        return self._solve()

    @property
    def solved_at_s(self) -> float:
        """When the cubic was last solved (it changes at most this often)."""
        return self._solved_at_s

    def value_at(self, at_t_s: float) -> float | None:
        """The fitted temperature at `at_t_s`; None with too few samples."""
        if self._solve() is None:
            return None
        c0, c1, c2, c3 = self._coefficients
        u = (at_t_s - self._t0) / self.window_s
        return self._y0 + c0 + u * (c1 + u * (c2 + u * c3))

    def _solve(self) -> tuple[float, float, float, float, float] | None:
        """(T'' at u = 0, its change per unit u, and the three coefficients of its
        variance in u); cached until the next sample."""
        if self._solution is not None:
            return self._solution
        n = len(self._samples)
        if n < 2 * _TERMS:
            return None
        gram = [[self._su[i + j] for j in range(_TERMS)] for i in range(_TERMS)]
        inverse = invert(gram)
        if inverse is None:
            return None
        coefficients = [
            sum(inverse[i][j] * self._suy[j] for j in range(_TERMS)) for i in range(_TERMS)
        ]
        self._coefficients = (coefficients[0], coefficients[1], coefficients[2], coefficients[3])
        explained = sum(c * r for c, r in zip(coefficients, self._suy, strict=True))
        residual_variance = max(self._syy - explained, 0.0) / (n - _TERMS)
        scale = 1.0 / (self.window_s * self.window_s)
        v = residual_variance * scale * scale
        self._solution = (
            2.0 * coefficients[2] * scale,
            6.0 * coefficients[3] * scale,
            4.0 * inverse[2][2] * v,
            24.0 * inverse[2][3] * v,
            36.0 * inverse[3][3] * v,
        )
        return self._solution

    def _accumulate(self, t_s: float, value: float, sign: float) -> None:
        # Written out (powers by repeated multiplication, as a loop would form
        # them): this runs for every sample that enters and every one that leaves.
        u = (t_s - self._t0) / self.window_s
        y = value - self._y0
        su = self._su
        suy = self._suy
        u2 = u * u
        u3 = u2 * u
        u4 = u3 * u
        u5 = u4 * u
        u6 = u5 * u
        su[0] += sign
        su[1] += sign * u
        su[2] += sign * u2
        su[3] += sign * u3
        su[4] += sign * u4
        su[5] += sign * u5
        su[6] += sign * u6
        suy[0] += sign * y
        suy[1] += sign * u * y
        suy[2] += sign * u2 * y
        suy[3] += sign * u3 * y
        self._syy += sign * y * y

    def _reset(self, t0: float, y0: float) -> None:
        self._t0 = t0
        self._y0 = y0
        self._su = [0.0] * (2 * _DEGREE + 1)
        self._suy = [0.0] * _TERMS
        self._syy = 0.0
        self._evictions = 0


class ThermalLag:
    """One sensor's lag and temperature history: the cubic whose T_s'' corrects each
    window's slope (applied in `sensor_lines.SensorLines.refresh`)."""

    def __init__(self, *, lag_s: float, window_s: float, lag_uncertainty: float = 0.0) -> None:
        if lag_s <= 0 or window_s <= 0:
            raise ValueError("lag_s and window_s must be positive")
        if lag_uncertainty < 0:
            raise ValueError("lag_uncertainty must not be negative")
        self.lag_s = lag_s
        # The configured τ's relative uncertainty: the correction is counted as
        # uncertain by this fraction of itself (a lag 30 % off leaves 30 % of it).
        self.lag_uncertainty = lag_uncertainty
        self._fit = SlidingCubicFit(window_s)
        self.misfit = ThermalMisfit(window_s=window_s)
        self.events = ThermalEvents(lag_s=lag_s, window_s=window_s)
        self._first_t_s: float | None = None
        self._history_s = 0.0  # since the first sample

    @property
    def fit(self) -> SlidingCubicFit:
        """The temperature cubic (the detector reads its model once per assessment)."""
        return self._fit

    @property
    def settled(self) -> bool:
        """The start-up transient has left the temperature fit's window.

        A die that starts anywhere but at its steady lag (a sensor just powered,
        a daemon started while the gas changes fastest) approaches it as
        e^(−t/τ): a kink a cubic over the window cannot follow, so for as long
        as the window holds it the fitted T_s'' is wrong by more than its own
        standard error says. After SETTLE_LAGS time constants the transient is
        below 1 % of its size; once the window's oldest sample is that late,
        the fit is trusted. Until then the detector widens the correction's
        uncertainty.
        """
        return self._history_s >= self._fit.window_s + SETTLE_LAGS * self.lag_s

    @property
    def transient_passed(self) -> bool:
        """The die's start-up transient has decayed (SETTLE_LAGS time constants):
        the uncorrected q_s no longer holds it, though the fit's window may."""
        return self._history_s >= SETTLE_LAGS * self.lag_s

    def event_fit(self, t_s: float) -> EventFit | None:
        """The cubic with the responses to the events found in the window (None:
        no event, the cubic alone stands)."""
        misfit = self.misfit
        return self.events.fit(t_s, misfit.times_s, misfit.means_k, misfit.closed)

    def look_for_events(self, t_s: float) -> None:
        """After the misfit was computed: find, refine or expire events (`thermal_events`).
        Not before the fit has settled: until then the die's own start-up
        transient is in the window, and the start-up margin covers it."""
        if not self.settled:
            return
        misfit = self.misfit
        self.events.update(t_s, misfit.times_s, misfit.means_k, misfit.closed, misfit.peak_sigma)

    def add(self, t_s: float, sensor_temperature_k: float) -> None:
        if self._first_t_s is None:
            self._first_t_s = t_s
        self._history_s = t_s - self._first_t_s
        self._fit.add(t_s, sensor_temperature_k)
        self.misfit.add(t_s, sensor_temperature_k)

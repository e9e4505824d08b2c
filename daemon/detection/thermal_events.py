"""Heater steps, doors, lamps: the gas temperature changing course at one moment,
and the die following it through its lag.

The cubic of `thermal_lag` fits a temperature that changes smoothly over its
window. When the gas temperature jumps at t_e (a heater switched, a door
opened) or starts to ramp, the die follows through its first-order lag τ:

    a gas step of size A:   A·(1 − e^(−z/τ)),          z = t − t_e ≥ 0
    a gas ramp of rate B:   B·(z − τ·(1 − e^(−z/τ)))

and a gas that takes seconds to follow the wall adds (z/τ)·e^(−z/τ) to the
step's response (to first order in its own lag). None is a cubic. For
several τ a cubic over minutes bends around the kink, and its T_s'' (the lag
correction) is wrong by far more than a leak: a −0.25 K heater step, τ 50 s,
400 m³ at 1 atm: 0.2 to 0.6 Pa/s in every window for five minutes, against
a 2 mm hole's 0.1 Pa/s. The misfit's uncertainty (`thermal_misfit`) keeps
that from raising a false alarm, and with it hides any leak for as long.

So once the temperature leaves the cubic by far more than its noise
(EVENT_SIGMA), the moment is found by least squares: the t_e that leaves the
smallest residuals of a quadratic plus the three responses over the 1 s
blocks around it. From then on the temperature is fitted as the cubic plus
the three responses at t_e. Their shapes follow from τ alone, so three coefficients per
event take them in. Each window's correction follows from the fitted curve
exactly, with slope_LS(T_s') over [t−W, t] = (6/W²)·(T(t−W) + T(t) − 2·mean_W T),
and its standard error from the fit's covariance. What the model still misses
is left to the misfit, which measures its residuals against this curve: the
gas's own lag behind the wall, over the first seconds.

Measured on the simulated heater step (τ 50 s, gas following the wall in 10 s):
a sealed zone's corrected slopes stay within 0.02 Pa/s from two minutes after
the step, where the cubic alone is off by 0.2 to 0.6 Pa/s (docs/detection.md).

Pure: time comes in with the blocks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from operator import mul

from .small_matrix import invert

# The misfit (in its own standard errors) above which the temperature is taken to
# have changed course. Quiet runs stay below 4 (a −0.25 K step exceeds 100 within
# 20 s); a false event costs three coefficients, a pause in learning the noise
# and, for YOUNG_LAGS, a wider correction. At 6, a −0.1 K step whose gas
# followed the wall in 200 s was found a few seconds too late: a false critical
# at +23 s on two seeds of three (docs/detection.md).
EVENT_SIGMA = 5.0
# The moment is searched this many lags back from the detection (and at least
# MIN_SCAN_S): a die shows a step only slowly, so the misfit crosses EVENT_SIGMA
# some seconds after it.
SCAN_LAGS = 1.5
MIN_SCAN_S = 30.0
SCAN_STEP_S = 1.0
# The local fit of the scan reaches this many lags before the earliest candidate.
SCAN_CONTEXT_LAGS = 2.0
# A response needs this many blocks after t_e to be told from the polynomial.
MIN_BLOCKS_AFTER = 5
# The moment is searched again, near the last estimate, at these ages of the
# event (in lags): at first little of the response has been seen, and the
# gas's own lag delays it by seconds.
REFINE_AGES_LAGS = (0.25, 0.5, 1.0, 2.0)
REFINE_SPAN_S = 15.0
# No new event within this many lags of the last, nor before the misfit has
# fallen below REARM_SIGMA since: what the model still misses of the first
# (the gas's own lag behind the wall) would otherwise be taken for another,
# and displace it.
MIN_GAP_LAGS = 2.0
REARM_SIGMA = 4.0
MAX_EVENTS = 2
# For this many lags after an event is found, its fit rests on a response that
# has barely begun (and on an event time still being refined): the correction
# it gives is counted as uncertain by its whole size (`EventFit.young`). A
# −0.1 K step whose gas followed the wall in 200 s raised a false critical
# the moment the event was found without it.
YOUNG_LAGS = 2.0
# The fit over the window's blocks is solved anew every this many 1 s blocks
# (about 10 ms of pure Python each, `bench/thermal_event_cost.py`). Every
# second: at 2 the misfit of the fit's few seconds of extrapolation kept a
# leak two minutes after a step unraised for 240 s on one seed of two.
REFIT_BLOCKS = 1
# After this many lags the die's response is spent (e^−5 < 1 %): the pressure
# then no longer holds it (`transient`).
SETTLE_LAGS = 5.0
# The normal equations are solved with unit-RMS columns; a pivot below this
# means two columns say the same (an event whose response has become a
# constant or a line over the window) and the fit falls back.
MIN_PIVOT = 1e-9


@dataclass(frozen=True, slots=True)
class _Event:
    at_s: float
    found_at_s: float
    refined: int  # how many of REFINE_AGES_LAGS are done


def _step(z: float, lag_s: float) -> float:
    return 0.0 if z <= 0.0 else 1.0 - math.exp(-z / lag_s)


def _delay(z: float, lag_s: float) -> float:
    """What a gas that reaches its new temperature through a lag of its own adds to
    the die's step response: (1 − e^(−z/τ_g)) followed through τ differs from a
    step by (z/τ)·e^(−z/τ) to first order in τ_g/τ (a wall's heat reaching the
    gas in seconds)."""
    return 0.0 if z <= 0.0 else (z / lag_s) * math.exp(-z / lag_s)


def _delay_integral(z_from: float, z_to: float, lag_s: float) -> float:
    a, b = max(z_from, 0.0), max(z_to, 0.0)
    # ∫ (z/τ)e^(−z/τ) dz = −(z + τ)·e^(−z/τ)
    return (a + lag_s) * math.exp(-a / lag_s) - (b + lag_s) * math.exp(-b / lag_s)


def _ramp(z: float, lag_s: float) -> float:
    """The die's response to a unit gas ramp, in lags (so of order one)."""
    return 0.0 if z <= 0.0 else (z - lag_s * (1.0 - math.exp(-z / lag_s))) / lag_s


def _step_integral(z_from: float, z_to: float, lag_s: float) -> float:
    """∫ _step over z from z_from to z_to (both clipped at 0)."""
    a, b = max(z_from, 0.0), max(z_to, 0.0)
    return (b - a) - lag_s * (math.exp(-a / lag_s) - math.exp(-b / lag_s))


def _ramp_integral(z_from: float, z_to: float, lag_s: float) -> float:
    a, b = max(z_from, 0.0), max(z_to, 0.0)
    linear = 0.5 * (b * b - a * a) - lag_s * (b - a)
    decay = lag_s * lag_s * (math.exp(-a / lag_s) - math.exp(-b / lag_s))
    return (linear + decay) / lag_s


class EventFit:
    """The temperature over the window as a cubic plus each event's step and ramp
    responses: coefficients, covariance, and per window the correction it makes."""

    def __init__(
        self,
        *,
        basis: _Basis,
        scales: list[float],
        coefficients: list[float],
        covariance: list[list[float]],
        serial: int,
        young: bool,
    ) -> None:
        self.serial = serial  # tells one fit from the next (never 0)
        self.young = young
        self.origin_s = basis.origin_s
        self.events_s = basis.events_s
        self._basis = basis
        self._scales = scales
        self._coefficients = coefficients
        self._covariance = covariance
        self._weights = [c * x for c, x in zip(coefficients, scales, strict=True)]
        self._corrections: list[tuple[float, float]] = []
        self._corrections_at = -1

    def value_at(self, t_s: float) -> float:
        # The misfit asks this for every block once a second: the weights of the
        # columns are formed once per fit and the row is not built.
        weights = self._weights
        basis = self._basis
        lag_s = basis.lag_s
        u = (t_s - basis.origin_s) / basis.window_s
        value = weights[0] + u * (weights[1] + u * (weights[2] + u * weights[3]))
        column = 4
        for at_s, ramp in zip(basis.events_s, basis.ramps, strict=True):
            z = t_s - at_s
            if z <= 0.0:
                column += 3 if ramp else 1
                continue
            decay = math.exp(-z / lag_s)
            value += weights[column] * (1.0 - decay)
            column += 1
            if ramp:
                value += weights[column] * (z / lag_s) * decay
                value += weights[column + 1] * (z - lag_s * (1.0 - decay)) / lag_s
                column += 2
        return value

    def corrections(
        self, end_s: float, spans_s: Sequence[float], closed: int
    ) -> list[tuple[float, float]]:
        """`window_correction` for windows of `spans_s` ending at `end_s`, worked out
        once per block (`closed`: within a second the windows' ends move little;
        a window with no span yet gets (0, 0))."""
        if self._corrections_at != closed:
            self._corrections_at = closed
            self._corrections = [
                self.window_correction(end_s, span_s) if span_s > 0.0 else (0.0, 0.0)
                for span_s in spans_s
            ]
        return self._corrections

    def window_correction(self, end_s: float, span_s: float) -> tuple[float, float]:
        """slope_LS(T_s') over [end_s − span_s, end_s] (K/s²) and its standard error."""
        start_s = end_s - span_s
        basis = self._basis
        first, last = basis.row(start_s), basis.row(end_s)
        means = basis.means(start_s, end_s)
        factor = 6.0 / (span_s * span_s)
        gradient = [
            factor * (a + b - 2.0 * m) * s
            for a, b, m, s in zip(first, last, means, self._scales, strict=True)
        ]
        value = sum(g * c for g, c in zip(gradient, self._coefficients, strict=True))
        variance = 0.0
        for i, gi in enumerate(gradient):
            row = self._covariance[i]
            variance += gi * sum(gj * cij for gj, cij in zip(gradient, row, strict=True))
        return value, math.sqrt(max(variance, 0.0))


@dataclass(frozen=True, slots=True)
class _Basis:
    """The fit's columns: 1, u, u², u³ (u = (t − origin)/window) and per event its
    step response, plus its delay and ramp responses while the event lies in
    the window (`ramps`)."""

    origin_s: float
    window_s: float
    lag_s: float
    events_s: tuple[float, ...]
    ramps: tuple[bool, ...]

    def row(self, t_s: float) -> list[float]:
        lag_s = self.lag_s
        u = (t_s - self.origin_s) / self.window_s
        row = [1.0, u, u * u, u * u * u]
        for at_s, ramp in zip(self.events_s, self.ramps, strict=True):
            z = t_s - at_s
            row.append(_step(z, lag_s))
            if ramp:
                row.append(_delay(z, lag_s))
                row.append(_ramp(z, lag_s))
        return row

    def means(self, start_s: float, end_s: float) -> list[float]:
        """Each column's mean over [start_s, end_s], in closed form."""
        lag_s = self.lag_s
        span_s = end_s - start_s
        a = (start_s - self.origin_s) / self.window_s
        b = (end_s - self.origin_s) / self.window_s
        width = b - a
        means = [1.0] + [(b ** (k + 1) - a ** (k + 1)) / ((k + 1) * width) for k in (1, 2, 3)]
        for at_s, ramp in zip(self.events_s, self.ramps, strict=True):
            z_from, z_to = start_s - at_s, end_s - at_s
            means.append(_step_integral(z_from, z_to, lag_s) / span_s)
            if ramp:
                means.append(_delay_integral(z_from, z_to, lag_s) / span_s)
                means.append(_ramp_integral(z_from, z_to, lag_s) / span_s)
        return means


def _least_squares(
    rows: list[list[float]], values: Sequence[float]
) -> tuple[list[float], list[list[float]], float, list[float]] | None:
    """(coefficients of the scaled columns, their covariance, residual sum of squares,
    the scales) or None when the columns are degenerate.

    The sums are dot products of whole columns (`sum(map(mul, …))` runs in C):
    a fit of 600 blocks and ten columns costs about a millisecond."""
    size = len(rows[0])
    count = len(rows)
    if count <= size:
        return None
    columns = [list(column) for column in zip(*rows, strict=True)]
    raw = [[0.0] * size for _ in range(size)]
    for a in range(size):
        for b in range(a, size):
            raw[a][b] = raw[b][a] = sum(map(mul, columns[a], columns[b]))
    scales = []
    for a in range(size):
        if raw[a][a] <= 0.0:
            return None
        scales.append(math.sqrt(count / raw[a][a]))  # unit-RMS columns
    gram = [[raw[a][b] * scales[a] * scales[b] for b in range(size)] for a in range(size)]
    moment = [sum(map(mul, columns[a], values)) * scales[a] for a in range(size)]
    # The pivots of unit-RMS columns are of order `count`: the tolerance is relative.
    inverse = invert(gram, min_pivot=MIN_PIVOT * count)
    if inverse is None:
        return None
    coefficients = [sum(map(mul, inverse[a], moment)) for a in range(size)]
    # Σr² = Σy² − βᵀm at the least-squares β (the values are taken relative to the
    # first block, so the subtraction keeps its digits).
    residual = sum(map(mul, values, values)) - sum(map(mul, coefficients, moment))
    residual = max(residual, 0.0)
    variance = residual / (count - size)
    covariance = [[variance * value for value in row] for row in inverse]
    return coefficients, covariance, residual, scales


class ThermalEvents:
    """The events one sensor's temperature has shown within its fit's window, and
    the fit of the window's 1 s blocks with them."""

    def __init__(self, *, lag_s: float, window_s: float) -> None:
        self.lag_s = lag_s
        self.window_s = window_s
        self._events: list[_Event] = []
        self._fit: EventFit | None = None
        self._fit_key: tuple[int, int] | None = None
        self._version = 0  # changes whenever the events do
        self._serial = 0  # counts the fits made
        self._updated_at_block = -1
        self._armed = True

    @property
    def events_s(self) -> tuple[float, ...]:
        return tuple(event.at_s for event in self._events)

    def transient(self, t_s: float) -> bool:
        """A die's response to an event is still under way (the pressure holds it)."""
        return any(t_s - event.at_s < SETTLE_LAGS * self.lag_s for event in self._events)

    def update(
        self,
        t_s: float,
        times_s: Sequence[float],
        means_k: Sequence[float],
        closed: int,
        misfit_sigma: float,
    ) -> None:
        """Expire, refine and detect events given the 1 s blocks (`closed` of them
        so far: nothing is done twice for the same blocks) and the misfit's
        largest significance over the windows at `t_s`."""
        if closed == self._updated_at_block:
            return
        self._updated_at_block = closed
        lag_s = self.lag_s
        # An event long before the window holds a constant there (the cubic's).
        horizon_s = t_s - self.window_s - SETTLE_LAGS * lag_s
        kept = [event for event in self._events if event.at_s >= horizon_s]
        if len(kept) != len(self._events):
            self._events = kept
            self._version += 1
        for index, event in enumerate(self._events):
            if event.refined < len(REFINE_AGES_LAGS):
                age_s = t_s - event.found_at_s
                if age_s >= REFINE_AGES_LAGS[event.refined] * lag_s:
                    earliest_s = event.at_s - REFINE_SPAN_S
                    if index > 0:
                        earliest_s = max(
                            earliest_s, self._events[index - 1].at_s + MIN_GAP_LAGS * lag_s
                        )
                    at_s = self._scan(
                        t_s, times_s, means_k, earliest_s, min(event.at_s + REFINE_SPAN_S, t_s)
                    )
                    self._events[index] = _Event(
                        event.at_s if at_s is None else at_s, event.found_at_s, event.refined + 1
                    )
                    self._version += 1
        newest = self._events[-1] if self._events else None
        if misfit_sigma < REARM_SIGMA and (
            newest is None or t_s - newest.found_at_s >= MIN_GAP_LAGS * lag_s
        ):
            self._armed = True
        if misfit_sigma < EVENT_SIGMA or not self._armed:
            return
        if self._events and t_s - self._events[-1].at_s < MIN_GAP_LAGS * lag_s:
            return
        back_s = max(SCAN_LAGS * lag_s, MIN_SCAN_S)
        earliest_s = t_s - back_s
        if newest is not None:
            earliest_s = max(earliest_s, newest.at_s + MIN_GAP_LAGS * lag_s)
        at_s = self._scan(t_s, times_s, means_k, earliest_s, t_s)
        if at_s is None:
            return
        self._events.append(_Event(at_s, t_s, 0))
        self._armed = False
        del self._events[:-MAX_EVENTS]
        self._version += 1

    def _scan(
        self,
        t_s: float,
        times_s: Sequence[float],
        means_k: Sequence[float],
        earliest_s: float,
        latest_s: float,
    ) -> float | None:
        """The event time in [earliest_s, latest_s] (1 s steps) whose three responses
        (step, delay, ramp), with a quadratic, leave the smallest residuals over the blocks
        from SCAN_CONTEXT_LAGS before `earliest_s` to `t_s`; None if none fits."""
        lag_s = self.lag_s
        begin_s = earliest_s - SCAN_CONTEXT_LAGS * lag_s
        blocks = [(t, m) for t, m in zip(times_s, means_k, strict=True) if t >= begin_s]
        if len(blocks) < 3 + 3 + MIN_BLOCKS_AFTER:
            return None
        span_s = max(t_s - begin_s, 1.0)
        values = [m - blocks[0][1] for _, m in blocks]
        # The quadratic's columns do not depend on the candidate.
        quadratic = [(t, (t - t_s) / span_s) for t, _ in blocks]
        best: tuple[float, float] | None = None
        candidate = earliest_s
        while candidate <= latest_s:
            after = sum(1 for t, _ in blocks if t > candidate)
            if after >= MIN_BLOCKS_AFTER:
                rows = [
                    [1.0, u, u * u, _step(z, lag_s), _delay(z, lag_s), _ramp(z, lag_s)]
                    for t, u in quadratic
                    for z in (t - candidate,)
                ]
                solved = _least_squares(rows, values)
                if solved is not None and (best is None or solved[2] < best[0]):
                    best = (solved[2], candidate)
            candidate += SCAN_STEP_S
        return None if best is None else best[1]

    def fit(
        self, t_s: float, times_s: Sequence[float], means_k: Sequence[float], closed: int
    ) -> EventFit | None:
        """The cubic plus the events' responses over the window's blocks (None
        without events, or when the columns are degenerate); solved anew every
        REFIT_BLOCKS blocks or when the events change."""
        if not self._events:
            return None
        key = (closed // REFIT_BLOCKS, self._version)
        if key == self._fit_key:
            return self._fit
        self._fit_key = key
        self._fit = self._solve(t_s, times_s, means_k)
        return self._fit

    def _solve(
        self, t_s: float, times_s: Sequence[float], means_k: Sequence[float]
    ) -> EventFit | None:
        start_s = t_s - self.window_s
        blocks = [(t, m) for t, m in zip(times_s, means_k, strict=True) if t >= start_s]
        if not blocks:
            return None
        events_s = self.events_s
        # The ramp's response is a line plus a decay once t_e is before the window:
        # the cubic and the step's decay already hold both.
        ramps = tuple(at_s > start_s for at_s in events_s)
        basis = _Basis(t_s, self.window_s, self.lag_s, events_s, ramps)
        rows = [basis.row(t) for t, _ in blocks]
        reference = blocks[0][1]
        values = [m - reference for _, m in blocks]
        solved = _least_squares(rows, values)
        if solved is None:
            return None
        coefficients, covariance, _, scales = solved
        # The reference is a constant: it goes back into the constant column.
        coefficients[0] += reference / scales[0]
        self._serial += 1
        newest_found_s = max(event.found_at_s for event in self._events)
        return EventFit(
            serial=self._serial,
            young=t_s - newest_found_s < YOUNG_LAGS * self.lag_s,
            basis=basis,
            scales=scales,
            coefficients=coefficients,
            covariance=covariance,
        )

"""Each sensor's own noise, learned online at every time scale (`noise_model`).

Samples are averaged into blocks of BASE_SAMPLES, pairs of blocks into blocks
twice as long, and so on, octave by octave; each new block mean gives one
third difference at its octave (`noise_model`: V₃ = E[d²]/20). The squares
are summed with exponential forgetting over `horizon_s`, so the model follows
a room that turns noisier (a fan, the day's traffic) and forgets it again.
Before MIN_OCTAVES octaves hold MIN_TERMS terms, a prior model stands in: the
per-chip defaults, fitted to real recordings (`noise_prior`). The power-law
model is fitted to all octaves together, so a window of 600 s is judged with
the random walk measured at 10–60 s long before a 600 s window has been seen
twice.

What is not noise is kept out: while the zone is raised (or the die's start-up
transient lasts) nothing is learned, and neither is any third difference whose
four blocks reach into such a time, or into the `onset_lookback_s` before it
(a leak's onset precedes its alert by up to the longest window; a block of
512 s that closes after the release still holds the fall). So that the onset
can still be taken back when the raise comes, a third difference waits
`onset_lookback_s` in a pending bucket before it joins the sums; the fit
counts the pending ones too (the model need not lag the data), and a raise
drops them and refits.

Every window is judged with at least the prior's slow noise, cut down to what
the measured octaves refute (`_data_bounded_prior`): each term of the model
adds to V₃ at every τ, so an octave bounds the flicker by its V₃ and the random
walk by V₃/τ, and all octaves together bound them tighter still, whatever the
longer scales hold. A white sensor sheds the prior within minutes; a real one,
whose octaves rise, keeps it until its own long octaves speak.

Cost: a few additions per sample, one octave update per BASE_SAMPLES samples
on average (the geometric series), and a 3-parameter fit at most every
REFIT_INTERVAL_S. Memory: a few floats per octave. Pure: time comes in with
the sample.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from .noise_model import OVERLAP_FACTOR, THIRD_DIFFERENCE_NORM, NoiseModel, fit_power_laws

BASE_SAMPLES = 4
# The base block is BASE_SAMPLES median sample periods, measured over this many
# of the first intervals.
PERIOD_SAMPLES = 16
MAX_OCTAVES = 22
# The fit is redone at most this often (seconds of sample time): the long
# octaves, which move the long windows, gain a term only every few seconds.
REFIT_INTERVAL_S = 2.0
# An octave joins the fit once it holds this many third differences (fewer are
# too noisy to weigh: one term is a χ² of one degree of freedom).
MIN_TERMS = 8.0
# The fit needs this many octaves; until then the prior stands in.
MIN_OCTAVES = 3
DEFAULT_HORIZON_S = 6 * 3600.0
# An octave's V₃ is trusted as an upper bound on the slow terms at this many
# standard errors above its estimate (a mean of `dof` squared Gaussians has a
# relative standard error of √(2/dof)).
BOUND_SIGMAS = 3.0
# Pending third differences are kept in buckets of 1/PENDING_BUCKETS of the
# lookback (at least one block) per octave: bounded memory; a raise drops the
# buckets that end after the lookback's start, a little more than it must.
PENDING_BUCKETS = 32
STATE_VERSION = 1


@dataclass(slots=True)
class _Octave:
    """Blocks of base_s·2^level on a fixed time grid: the last three means of a
    run of consecutive blocks, and the parent block being gathered."""

    squares: float = 0.0  # Σ λ^age·d²/20
    terms: float = 0.0  # Σ λ^age
    means: list[float] = field(default_factory=list)
    last_index: int = -2
    parent_index: int = -1  # -1: none being gathered
    parent_sum: float = 0.0
    parent_count: int = 0
    # [bucket end s, Σ d²/20, count] not yet in the sums, oldest first.
    pending: list[list[float]] = field(default_factory=list)


class NoiseEstimate:
    """The power-law noise of one sensor's value, from its own history.

    Blocks lie on a fixed time grid (base_s·2^level, base_s = BASE_SAMPLES
    sample periods), so jitter and gaps do not stretch them: a block is the
    mean of whatever samples fell in it, a block with none breaks the run of
    consecutive blocks at its own octave only (a logger that stalls for 0.3 s
    every few seconds still teaches the octaves above it), and a parent is
    the mean of the samples of its two halves.
    """

    def __init__(
        self,
        *,
        prior: NoiseModel | None,
        max_scale_s: float,
        horizon_s: float = DEFAULT_HORIZON_S,
        onset_lookback_s: float = 0.0,
    ) -> None:
        if max_scale_s <= 0 or horizon_s <= 0 or onset_lookback_s < 0:
            raise ValueError("max_scale_s and horizon_s must be positive, the lookback >= 0")
        self.prior = prior
        self.max_scale_s = max_scale_s
        self.horizon_s = horizon_s
        self.onset_lookback_s = onset_lookback_s
        # [start_s, end_s] of the times not to learn from, oldest first.
        self._quarantine: list[list[float]] = []
        self._floor: NoiseModel | None = prior
        self._octaves = [_Octave() for _ in range(MAX_OCTAVES)]
        self._intervals_s: list[float] = []
        self._last_t_s: float | None = None
        self._origin_t_s = 0.0
        self.base_s = 0.0  # 0 until the sample period is known
        self._model: NoiseModel | None = prior
        self._fitted_at_s = -math.inf
        self._stale = True
        self._learning = True

    def add(self, t_s: float, value: float, *, learning: bool = True) -> None:
        """One sample. With `learning` False (a zone raised: a leak's onset is not
        noise) the blocks go on but no third difference is added to the sums."""
        if self.base_s == 0.0:
            self._measure_period(t_s)
            return
        self._learning = learning
        if not learning:
            self._quarantine_until(t_s)
        index = int((t_s - self._origin_t_s) / self.base_s)
        base = self._octaves[0]
        if index != base.parent_index:
            # parent_index of the base octave is the block being gathered.
            if base.parent_index >= 0:
                self._close(0, base.parent_index, base.parent_sum, base.parent_count)
            base.parent_index, base.parent_sum, base.parent_count = index, 0.0, 0
        base.parent_sum += value
        base.parent_count += 1

    def _quarantine_until(self, t_s: float) -> None:
        """`t_s` is not noise: extend the running interval, or open one that reaches
        `onset_lookback_s` back."""
        last = self._quarantine[-1] if self._quarantine else None
        if last is not None and t_s - last[1] <= self.base_s:
            last[1] = t_s
        else:
            start_s = t_s - self.onset_lookback_s
            self._quarantine.append([start_s, t_s])
            # Take back what was learned from the onset.
            for octave in self._octaves:
                while octave.pending and octave.pending[-1][0] > start_s:
                    octave.pending.pop()
                    self._stale = True
        # No octave the fit uses spans more than four blocks of max_scale_s.
        horizon_s = t_s - 4.0 * self.max_scale_s - self.base_s
        while self._quarantine and self._quarantine[0][1] < horizon_s:
            del self._quarantine[0]

    def _quarantined(self, start_s: float, end_s: float) -> bool:
        return any(q_start < end_s and start_s < q_end for q_start, q_end in self._quarantine)

    def _measure_period(self, t_s: float) -> None:
        last = self._last_t_s
        self._last_t_s = t_s
        if last is None:
            return
        self._intervals_s.append(t_s - last)
        if len(self._intervals_s) >= PERIOD_SAMPLES:
            self.base_s = BASE_SAMPLES * statistics.median(self._intervals_s)
            self._origin_t_s = t_s

    def model(self, t_s: float) -> NoiseModel | None:
        """The fitted model (the prior until there is data; None without either)."""
        if self._stale and t_s - self._fitted_at_s >= REFIT_INTERVAL_S:
            self._refit()
            self._fitted_at_s = t_s
            self._stale = False
        return self._model

    def scales(self) -> list[tuple[float, float, float]]:
        """Per octave with at least MIN_TERMS: (τ s, V₃ Pa², degrees of freedom)."""
        points: list[tuple[float, float, float]] = []
        if self.base_s == 0.0:
            return points
        for level, octave in enumerate(self._octaves):
            tau = self.base_s * 2.0**level
            if tau > self.max_scale_s:
                break
            squares, terms = _with_pending(octave)
            if terms >= MIN_TERMS:
                points.append((tau, squares / terms, terms / OVERLAP_FACTOR))
        return points

    def correlated_slope_variance(self, t_s: float, window_s: float) -> float:
        """The flicker and random-walk part of a slope's variance over `window_s`.

        From the fitted model, never below the prior cut to what the data
        refute (`_data_bounded_prior`): a fit of the short scales alone, its
        longest octave resting on a few terms, would call a real sensor white
        and its first minute would raise false alarms.
        """
        model = self.model(t_s)
        if model is None:
            return 0.0
        variance = model.correlated_slope_variance(window_s)
        floor = self._floor
        if floor is not None and model is not self.prior:
            variance = max(variance, floor.correlated_slope_variance(window_s))
        return variance

    def _refit(self) -> None:
        points = self.scales()
        if len(points) < MIN_OCTAVES:
            return
        taus, variances, dofs = zip(*points, strict=True)
        fitted = fit_power_laws(taus, variances, dofs)
        if fitted is not None:
            self._model = fitted
            self._floor = self._data_bounded_prior(points)

    def _data_bounded_prior(self, points: list[tuple[float, float, float]]) -> NoiseModel | None:
        """The prior with its flicker and random walk cut to what the measured
        octaves allow. Each term of the model adds to V₃ at every τ, so the
        octaves bound both: jointly, from the weighted least-squares fit of all
        three terms (BOUND_SIGMAS standard errors above the estimate), and one
        by one (V₃(τ) ≥ flicker and ≥ random_walk·τ), the tighter of the two.
        A sensor whose short octaves are white refutes a random walk it never
        showed; one whose octaves already rise keeps the prior's protection for
        the windows its data do not reach yet."""
        prior = self.prior
        if prior is None:
            return None
        flicker_pa2 = prior.flicker_pa2
        random_walk = prior.random_walk_pa2_per_s
        for tau_s, v3_pa2, dof in points:
            bound_pa2 = v3_pa2 * (1.0 + BOUND_SIGMAS * math.sqrt(2.0 / dof))
            flicker_pa2 = min(flicker_pa2, bound_pa2)
            random_walk = min(random_walk, bound_pa2 / tau_s)
        joint = _joint_upper_bounds(points, self._model)
        if joint is not None:
            flicker_pa2 = min(flicker_pa2, joint[0])
            random_walk = min(random_walk, joint[1])
        return NoiseModel(prior.white_pa2_s, flicker_pa2, random_walk)

    def _close(self, level: int, index: int, total: float, count: int) -> None:
        """A block of octave `level` is complete: a third difference where it
        continues a run, and its samples into its parent."""
        while True:
            octave = self._octaves[level]
            means = octave.means
            if index != octave.last_index + 1:
                means.clear()
            octave.last_index = index
            mean = total / count
            if len(means) == 3:
                d = means[0] - 3.0 * means[1] + 3.0 * means[2] - mean
                block_s = self.base_s * 2.0**level
                start_s = self._origin_t_s + (index - 3) * block_s
                end_s = start_s + 4.0 * block_s
                if self._learning and not self._quarantined(start_s, end_s):
                    self._learn(level, block_s, end_s, d * d / THIRD_DIFFERENCE_NORM)
                del means[0]
            means.append(mean)
            level += 1
            if level == MAX_OCTAVES:
                return
            parent = self._octaves[level]
            parent_index = index >> 1
            if parent.parent_index == parent_index:
                parent.parent_sum += total
                parent.parent_count += count
                return
            closing = parent.parent_index, parent.parent_sum, parent.parent_count
            parent.parent_index, parent.parent_sum, parent.parent_count = (
                parent_index,
                total,
                count,
            )
            if closing[0] < 0:
                return
            index, total, count = closing

    def _learn(self, level: int, block_s: float, end_s: float, square: float) -> None:
        """One third difference of octave `level` whose blocks end at `end_s`: into
        a pending bucket; buckets older than the lookback join the sums."""
        octave = self._octaves[level]
        pending = octave.pending
        keep = math.exp(-block_s / self.horizon_s)
        if level > 0:
            self._stale = True
        while pending and pending[0][0] < end_s - self.onset_lookback_s:
            _, squares, count = pending.pop(0)
            fade = keep**count
            octave.squares = fade * octave.squares + squares
            octave.terms = fade * octave.terms + count
        if self.onset_lookback_s == 0.0:
            octave.squares = keep * octave.squares + square
            octave.terms = keep * octave.terms + 1.0
            return
        if pending and pending[-1][0] >= end_s:
            pending[-1][1] += square
            pending[-1][2] += 1.0
            return
        width_s = max(block_s, self.onset_lookback_s / PENDING_BUCKETS)
        pending.append([(math.floor(end_s / width_s) + 1.0) * width_s, square, 1.0])

    def state(self) -> dict[str, Any]:
        """What was learned, to persist across a restart (JSON-ready)."""
        return {
            "version": STATE_VERSION,
            "base_s": self.base_s,
            # Pending terms count as learned here, as they do in the fit: a restart
            # ends the lookback in which a raise could have taken them back.
            "octaves": [list(_with_pending(octave)) for octave in self._octaves],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `state` returned; the blocks start afresh. A state of
        another version or shape raises ValueError and changes nothing."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"noise state version {state.get('version')!r}, expected 1")
        rows = state.get("octaves")
        base_s = state.get("base_s")
        if not isinstance(rows, list) or len(rows) != MAX_OCTAVES:
            raise ValueError(f"noise state: octaves must be a list of {MAX_OCTAVES}")
        if not isinstance(base_s, int | float) or not (base_s > 0 and math.isfinite(base_s)):
            raise ValueError(f"noise state: base_s {base_s!r} is not a positive number")
        parsed = []
        for row in rows:
            if (
                not isinstance(row, list)
                or len(row) != 2
                or not all(isinstance(x, int | float) and math.isfinite(x) for x in row)
                or min(row) < 0
            ):
                raise ValueError(f"noise state row {row!r}: expected [squares, terms] >= 0")
            parsed.append((float(row[0]), float(row[1])))
        self._octaves = [_Octave(squares=sq, terms=n) for sq, n in parsed]
        self.base_s = float(base_s)
        self._intervals_s.clear()
        self._last_t_s = None
        self._origin_t_s = 0.0
        self._stale = True
        self._fitted_at_s = -math.inf
        self._quarantine.clear()


def _with_pending(octave: _Octave) -> tuple[float, float]:
    """An octave's (Σ d²/20, terms), its pending buckets included."""
    squares, terms = octave.squares, octave.terms
    for _, pending_squares, pending_terms in octave.pending:
        squares += pending_squares
        terms += pending_terms
    return squares, terms


def _joint_upper_bounds(
    points: list[tuple[float, float, float]], model: NoiseModel | None
) -> tuple[float, float] | None:
    """Upper bounds on (flicker, random walk), each from the weighted
    least-squares fit of V₃ = a/τ + (that term): estimate + BOUND_SIGMAS
    standard errors. The white part is known well from the short octaves, so
    what the long ones leave over it bounds the slow term far tighter than
    their V₃ alone. Fitting one slow term at a time is conservative: the other
    one, if present, is taken up by it and lifts its bound. An octave's V₃ has
    variance 2·V₃²/dof, V₃ taken from the fitted model (smoother than the
    octave's own value). None with fewer than two octaves or a singular fit."""
    if model is None or len(points) < 2:
        return None
    bounds = []
    for slow_term in (lambda tau_s: 1.0, lambda tau_s: tau_s):
        # Normal equations of x = (1/τ, slow_term(τ)).
        s11 = s12 = s22 = r1 = r2 = 0.0
        for tau_s, v3_pa2, dof in points:
            expected = max(model.third_difference_variance(tau_s), v3_pa2, 1e-30)
            weight = dof / (2.0 * expected * expected)
            x1, x2 = 1.0 / tau_s, slow_term(tau_s)
            s11 += weight * x1 * x1
            s12 += weight * x1 * x2
            s22 += weight * x2 * x2
            r1 += weight * x1 * v3_pa2
            r2 += weight * x2 * v3_pa2
        determinant = s11 * s22 - s12 * s12
        if not determinant > 1e-12 * s11 * s22:
            return None
        estimate = (s11 * r2 - s12 * r1) / determinant
        variance = s11 / determinant
        bounds.append(max(estimate, 0.0) + BOUND_SIGMAS * math.sqrt(variance))
    return bounds[0], bounds[1]

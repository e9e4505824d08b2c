"""Each sensor's own noise, learned online at every time scale (`noise_model`).

Samples are averaged into blocks of BASE_SAMPLES, pairs of blocks into blocks
twice as long, and so on, octave by octave; each new block mean gives one
third difference at its octave (`noise_model`: V₃ = E[d²]/20). The squares
are summed with exponential forgetting over `horizon_s`, so the model follows
a room that turns noisier (a fan, the day's traffic) and forgets it again.
Before any data, and while the longer octaves hold few terms, a prior model
stands in for a few terms per octave: the per-chip defaults, fitted to real
recordings (`noise_prior`). The power-law model is fitted to all octaves
together, so a window of 600 s is judged with the random walk measured at
10–60 s long before a 600 s window has been seen twice.

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
# A window is judged by the fitted model alone once an octave of at least
# 1/REACH_FACTOR of its length has joined the fit (a slope over W is moved
# mostly by scales of W/4 to W).
REACH_FACTOR = 2.0
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
    ) -> None:
        if max_scale_s <= 0 or horizon_s <= 0:
            raise ValueError("max_scale_s and horizon_s must be positive")
        self.prior = prior
        self.max_scale_s = max_scale_s
        self.horizon_s = horizon_s
        self._octaves = [_Octave() for _ in range(MAX_OCTAVES)]
        self._intervals_s: list[float] = []
        self._last_t_s: float | None = None
        self._origin_t_s = 0.0
        self.base_s = 0.0  # 0 until the sample period is known
        self._model: NoiseModel | None = prior
        self._reach_s = 0.0  # windows up to this long are judged by the data alone
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
        index = int((t_s - self._origin_t_s) / self.base_s)
        base = self._octaves[0]
        if index != base.parent_index:
            # parent_index of the base octave is the block being gathered.
            if base.parent_index >= 0:
                self._close(0, base.parent_index, base.parent_sum, base.parent_count)
            base.parent_index, base.parent_sum, base.parent_count = index, 0.0, 0
        base.parent_sum += value
        base.parent_count += 1

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
            if octave.terms >= MIN_TERMS:
                points.append((tau, octave.squares / octave.terms, octave.terms / OVERLAP_FACTOR))
        return points

    def correlated_slope_variance(self, t_s: float, window_s: float) -> float:
        """The flicker and random-walk part of a slope's variance over `window_s`.

        From the fitted model where the data reach (REACH_FACTOR times the
        longest octave that joined the fit); beyond, never below the prior:
        before the sensor has shown its slow noise at a window's scale, a fit of
        its short scales alone would call it white and the first minute of a
        real sensor would raise false alarms.
        """
        model = self.model(t_s)
        if model is None:
            return 0.0
        variance = model.correlated_slope_variance(window_s)
        prior = self.prior
        if prior is not None and window_s > self._reach_s and model is not prior:
            variance = max(variance, prior.correlated_slope_variance(window_s))
        return variance

    def _refit(self) -> None:
        points = self.scales()
        if len(points) < MIN_OCTAVES:
            return
        taus, variances, dofs = zip(*points, strict=True)
        fitted = fit_power_laws(taus, variances, dofs)
        if fitted is not None:
            self._model = fitted
            self._reach_s = REACH_FACTOR * max(taus)

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
                if self._learning:
                    keep = math.exp(-self.base_s * 2.0**level / self.horizon_s)
                    octave.squares = keep * octave.squares + d * d / THIRD_DIFFERENCE_NORM
                    octave.terms = keep * octave.terms + 1.0
                    if level > 0:
                        self._stale = True
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

    def state(self) -> dict[str, Any]:
        """What was learned, to persist across a restart (JSON-ready)."""
        return {
            "version": STATE_VERSION,
            "base_s": self.base_s,
            "octaves": [[octave.squares, octave.terms] for octave in self._octaves],
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

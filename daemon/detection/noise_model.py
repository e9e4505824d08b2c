"""A pressure sensor's noise as a sum of power laws, and what it does to a slope.

Real barometers are not white. Lying still on a bench an MS5611 shows white
noise (and its 1 Pa quantisation) over a second, but over tens of seconds the
reading wanders: flicker of the sensor, and the room's own pressure, which a
sensor cannot tell from its drift. The least-squares slope of a window then
scatters far more than the white-noise formula √(12σ²/(f·W³)) says: 3× at 8 s
and 12× at 30 s on the bench recording in docs/noise.md.

The model is the one of frequency-stability analysis (IEEE Std 1139-2008;
Riley, NIST SP 1065 *Handbook of Frequency Stability Analysis*, §5.2), with the
pressure in the place of the fractional frequency y:

- **white** (S(f) = h₀, flat): the mean of a block of τ seconds has variance a/τ,
  a = σ²/f (Pa²·s) for σ per sample at f Hz;
- **flicker** (S(f) ∝ 1/f): block means whose differences do not shrink with τ;
- **random walk** (S(f) ∝ 1/f²): Var[p(t+s) − p(t)] = D·s, D in Pa²/s.

Measured by the third difference of consecutive block means,
d = m₁ − 3m₂ + 3m₃ − m₄, normalised as V₃(τ) = E[d²]/20 (so white noise gives
exactly a/τ). A third difference cancels any quadratic in time: a leak's
steady fall, a chamber's exponential decay and the slow residue of a thermal
cycle are not taken for noise (a second difference, the Hadamard variance,
cancels only a line). Per noise type V₃ and the variance of the least-squares
slope over a window W are (continuous time; each constant from
∫S(f)·|H(f)|² df with the filters' transfer functions, checked against
simulated noise in tests/daemon/test_noise_model.py):

| type | V₃(τ) | Var(slope over W) |
|---|---|---|
| white, a = S/… | a/τ | 12·a/W³ |
| flicker, level b | b | 8.690·b/W² |
| random walk, D | (2/15)·D·τ = c·τ | 1.2·D/W = 9·c/W |

so with V₃(τ) = a/τ + b + c·τ fitted to the measured V₃ at octave-spaced τ,
Var(slope) = 12a/W³ + 8.690·b/W² + 9c/W for any W: short scales, measured
within a minute, say how the long windows will scatter before a single long
window has been seen twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Var(slope over W) per unit of each V₃ coefficient, times W³, W² and W.
SLOPE_PER_WHITE = 12.0
SLOPE_PER_FLICKER = 8.690
SLOPE_PER_RANDOM_WALK = 9.0
# V₃ of a random walk of diffusion D (Pa²/s) is this·D·τ.
THIRD_DIFFERENCE_PER_DIFFUSION = 2.0 / 15.0
# The coefficients of d = m₁ − 3m₂ + 3m₃ − m₄ squared and summed: E[d²] = 20·a/τ
# for white noise.
THIRD_DIFFERENCE_NORM = 20.0
# Consecutive third differences overlap (lag-1 correlation −0.75, lag-2 0.3,
# lag-3 −0.05 for white noise): a mean of n squared ones has the variance of
# n / (1 + 2·Σρ²) = n / 2.31 independent ones.
OVERLAP_FACTOR = 2.31


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """V₃(τ) = white_pa2_s/τ + flicker_pa2 + random_walk_pa2_per_s·τ (all ≥ 0)."""

    white_pa2_s: float
    flicker_pa2: float
    random_walk_pa2_per_s: float

    def third_difference_variance(self, tau_s: float) -> float:
        return self.white_pa2_s / tau_s + self.flicker_pa2 + self.random_walk_pa2_per_s * tau_s

    def slope_variance(self, window_s: float) -> float:
        """Var of the least-squares slope over `window_s` ((Pa/s)²), all three terms."""
        return self.white_slope_variance(window_s) + self.correlated_slope_variance(window_s)

    def white_slope_variance(self, window_s: float) -> float:
        return SLOPE_PER_WHITE * self.white_pa2_s / window_s**3

    def correlated_slope_variance(self, window_s: float) -> float:
        """The flicker and random-walk part: what the white-noise formula misses."""
        return (
            SLOPE_PER_FLICKER * self.flicker_pa2 / (window_s * window_s)
            + SLOPE_PER_RANDOM_WALK * self.random_walk_pa2_per_s / window_s
        )

    @property
    def diffusion_pa2_per_s(self) -> float:
        """D of the random-walk part: Var[p(t+s) − p(t)] = D·s."""
        return self.random_walk_pa2_per_s / THIRD_DIFFERENCE_PER_DIFFUSION

    @classmethod
    def from_physical(
        cls, *, white_pa: float, rate_hz: float, flicker_pa2: float, diffusion_pa2_per_s: float
    ) -> NoiseModel:
        """From σ per sample at `rate_hz`, the flicker level and the random walk's D."""
        return cls(
            white_pa2_s=white_pa * white_pa / rate_hz,
            flicker_pa2=flicker_pa2,
            random_walk_pa2_per_s=diffusion_pa2_per_s * THIRD_DIFFERENCE_PER_DIFFUSION,
        )


def fit_power_laws(
    taus_s: Sequence[float], variances: Sequence[float], dofs: Sequence[float]
) -> NoiseModel | None:
    """The non-negative (a, b, c) of V₃(τ) = a/τ + b + c·τ closest to the measured
    variances, each weighted by its degrees of freedom over its predicted square
    (the variance of a variance estimate is 2·V²/dof); None with no usable scale.

    Three unknowns: every subset of the coefficients is solved by weighted least
    squares and the feasible one with the least misfit kept (an exact
    non-negative least squares for so few unknowns), twice, the second time
    weighted by the first fit's prediction rather than the noisy measurement.
    """
    points = [
        (tau, v, dof)
        for tau, v, dof in zip(taus_s, variances, dofs, strict=True)
        if tau > 0 and dof > 0 and v >= 0 and math.isfinite(v)
    ]
    if not points:
        return None
    guess = [max(v, 1e-30) for _, v, _ in points]
    best: tuple[float, float, float] | None = None
    for _ in range(2):
        weights = [dof / (g * g) for (_, _, dof), g in zip(points, guess, strict=True)]
        best = _nonnegative_fit(points, weights)
        if best is None:
            return None
        a, b, c = best
        guess = [max(a / tau + b + c * tau, 1e-30) for tau, _, _ in points]
    assert best is not None
    return NoiseModel(white_pa2_s=best[0], flicker_pa2=best[1], random_walk_pa2_per_s=best[2])


_SUBSETS = ((0, 1, 2), (0, 1), (0, 2), (1, 2), (0,), (1,), (2,))
# A coefficient joins the model only when it lowers the weighted misfit (a χ²)
# by more than this: noise at the long scales, where a few terms make a
# variance, must not invent a random walk in a white sensor (and with it a
# standard error several times too large for the longest windows).
PARAMETER_PENALTY = 4.0


def _nonnegative_fit(
    points: list[tuple[float, float, float]], weights: list[float]
) -> tuple[float, float, float] | None:
    best: tuple[float, float, float] | None = None
    best_misfit = math.inf
    for subset in _SUBSETS:
        solution = _weighted_fit(points, weights, subset)
        if solution is None or min(solution) < 0.0:
            continue
        a, b, c = solution
        misfit = sum(
            w * (v - a / tau - b - c * tau) ** 2
            for (tau, v, _), w in zip(points, weights, strict=True)
        )
        misfit += PARAMETER_PENALTY * len(subset)
        if misfit < best_misfit:
            best, best_misfit = solution, misfit
    return best


def _weighted_fit(
    points: list[tuple[float, float, float]], weights: list[float], subset: tuple[int, ...]
) -> tuple[float, float, float] | None:
    """Weighted least squares of V on the chosen basis functions (1/τ, 1, τ)."""
    size = len(subset)
    if len(points) < size:
        return None
    gram = [[0.0] * size for _ in range(size)]
    rhs = [0.0] * size
    for (tau, v, _), w in zip(points, weights, strict=True):
        basis = (1.0 / tau, 1.0, tau)
        row = [basis[i] for i in subset]
        for i in range(size):
            rhs[i] += w * row[i] * v
            for j in range(size):
                gram[i][j] += w * row[i] * row[j]
    solved = _solve(gram, rhs)
    if solved is None:
        return None
    full = [0.0, 0.0, 0.0]
    for i, value in zip(subset, solved, strict=True):
        full[i] = value
    return full[0], full[1], full[2]


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting, scaled so that 1/τ and τ over
    five decades stay solvable; None when singular."""
    size = len(rhs)
    scale = [math.sqrt(matrix[i][i]) if matrix[i][i] > 0 else 1.0 for i in range(size)]
    a = [
        [matrix[i][j] / (scale[i] * scale[j]) for j in range(size)] + [rhs[i] / scale[i]]
        for i in range(size)
    ]
    for column in range(size):
        pivot = max(range(column, size), key=lambda row: abs(a[row][column]))
        if abs(a[pivot][column]) < 1e-12:
            return None
        a[column], a[pivot] = a[pivot], a[column]
        for row in range(column + 1, size):
            factor = a[row][column] / a[column][column]
            for j in range(column, size + 1):
                a[row][j] -= factor * a[column][j]
    solution = [0.0] * size
    for row in range(size - 1, -1, -1):
        total = a[row][size] - sum(a[row][j] * solution[j] for j in range(row + 1, size))
        solution[row] = total / a[row][row]
    return [value / s for value, s in zip(solution, scale, strict=True)]

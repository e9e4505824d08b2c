"""A least-squares line in exact arithmetic, the reference the detector's running
sums are checked against (tests/daemon/test_window_bank.py, bench/bank_cost.py).

The samples are the very floats a fit was given; each is an integer on the
samples' common binary scale (a float is m·2^e), so sums of products are exact
integers and a window of 180 000 samples takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def exact_line(points: Sequence[tuple[float, float]]) -> tuple[Fraction, Fraction, Fraction]:
    """Slope, residual variance (n − 2 degrees of freedom) and second-difference noise
    variance Σd²/(1.5·(n − 2)), d_j = y_j − (y_{j−1} + y_{j+1})/2, of (t, y) `points`."""
    t_scale = max(t.as_integer_ratio()[1] for t, _ in points)
    y_scale = 2 * max(y.as_integer_ratio()[1] for _, y in points)  # d has halves
    ts = [int(t * t_scale) for t, _ in points]  # exact: a float times a power of two
    ys = [int(y * y_scale) for _, y in points]
    n = len(points)
    st, sy = sum(ts), sum(ys)
    n_sxx = n * sum(t * t for t in ts) - st * st  # n·Σ(t − t̄)², on the scale
    n_sxy = n * sum(t * y for t, y in zip(ts, ys, strict=True)) - st * sy
    n_syy = n * sum(y * y for y in ys) - sy * sy
    slope = Fraction(n_sxy * t_scale, n_sxx * y_scale)
    variance = Fraction(n_syy * n_sxx - n_sxy * n_sxy, n * n_sxx * (n - 2) * y_scale**2)
    dd = sum((2 * ys[j] - ys[j - 1] - ys[j + 1]) ** 2 for j in range(1, n - 1))
    return slope, variance, Fraction(dd, 4 * y_scale**2) / (Fraction(3, 2) * (n - 2))


def relative_error(got: float, exact: Fraction) -> float:
    """|got − exact| / |exact| (|got| where exact is 0)."""
    return float(abs(Fraction(got) - exact) / abs(exact)) if exact else abs(got)

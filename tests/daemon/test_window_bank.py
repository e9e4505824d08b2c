"""The window bank: each window's fit is the fit a lone sliding window would give."""

from __future__ import annotations

import itertools
import random

import pytest

from hullwatch.analysis.exact_line import exact_line, relative_error
from hullwatch.daemon.detection.linear_fit import SlidingLineFit
from hullwatch.daemon.detection.window_bank import LineFitBank, geometric_windows


def test_every_window_matches_a_lone_sliding_fit() -> None:
    windows = (1.0, 3.0, 10.0, 40.0)
    bank = LineFitBank(windows)
    lone = [SlidingLineFit(w) for w in windows]
    rng = random.Random(3)
    t = 0.0
    for k in range(6000):
        t += rng.uniform(0.02, 0.06)  # irregular spacing, as a poller delivers
        value = 101_325.0 - 0.3 * t + rng.gauss(0.0, 2.0)
        bank.add(t, value)
        for fit in lone:
            fit.add(t, value)
        if k % 97 == 0 and k > 10:
            for index, fit in enumerate(lone):
                expected = fit.fit()
                got = bank.fit(index)
                assert expected is not None
                assert got is not None
                assert got.sample_count == expected.sample_count
                assert got.slope == pytest.approx(expected.slope, rel=1e-9, abs=1e-9)
                assert got.slope_stderr == pytest.approx(expected.slope_stderr, rel=1e-6)
                assert got.span_s == pytest.approx(expected.span_s)


def test_the_bank_holds_only_the_longest_window() -> None:
    bank = LineFitBank((1.0, 10.0))
    for k in range(100_000):
        bank.add(k * 0.01, 0.0)
    # The shared buffer is compacted: what remains is about one longest window.
    assert len(bank) <= 1001 + 4096


def test_times_must_increase() -> None:
    bank = LineFitBank((1.0,))
    bank.add(1.0, 0.0)
    with pytest.raises(ValueError, match="increase"):
        bank.add(1.0, 0.0)


def test_geometric_windows_end_at_the_longest() -> None:
    windows = geometric_windows(4.0, 600.0, 2**0.5)
    assert windows[0] == 4.0
    assert windows[-1] == 600.0
    ratios = [b / a for a, b in itertools.pairwise(windows)]
    assert all(1.2 < r <= 2**0.5 * 1.2 for r in ratios)
    assert geometric_windows(30.0, 30.0, 2.0) == (30.0,)


def _two_pass_slope(points: list[tuple[float, float]]) -> float:
    mean_t = sum(t for t, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    sxy = sum((t - mean_t) * (y - mean_y) for t, y in points)
    sxx = sum((t - mean_t) ** 2 for t, _ in points)
    return sxy / sxx


def test_refresh_gives_every_window_its_fit_bit_for_bit() -> None:
    windows = geometric_windows(1.0, 60.0, 2**0.5)
    bank = LineFitBank(windows)
    held: list[tuple[float, float]] = []
    rng = random.Random(8)
    t = 0.0
    for k in range(8_000):
        t += rng.uniform(0.02, 0.06)
        value = 101_325.0 - 0.05 * t + rng.gauss(0.0, 1.0)  # 10⁵ Pa, 1 Pa of noise
        bank.add(t, value)
        held.append((t, value))
        while held[0][0] < t - windows[-1]:
            del held[0]
        if k % 331 != 0:
            continue
        bank.refresh()
        for index, window_s in enumerate(windows):
            fit = bank.fit(index)
            if fit is None:
                assert bank.counts[index] == 0
                continue
            assert bank.counts[index] == fit.sample_count
            assert bank.slopes[index] == fit.slope
            assert bank.slope_stderrs[index] == fit.slope_stderr
            assert bank.intercepts_at_last[index] == fit.intercept_at_last
            assert bank.spans_s[index] == fit.span_s
            assert bank.residual_variances[index] == pytest.approx(fit.residual_rms**2, rel=1e-12)
            # sxx is what turns a residual variance into the slope's variance.
            assert bank.residual_variances[index] / bank.sxxs[index] == pytest.approx(
                fit.slope_stderr**2, rel=1e-12
            )
            # The running sums (with their periodic rebuilds) keep the digits
            # a direct two-pass fit over the same samples has.
            inside = [(ti, yi) for ti, yi in held if ti >= t - window_s]
            assert fit.sample_count == len(inside)
            assert fit.slope == pytest.approx(_two_pass_slope(inside), rel=1e-9, abs=1e-12)


def test_each_window_measures_its_white_noise_from_second_differences() -> None:
    """A steep line with 1 Pa of noise, then 3 Pa: each window's second-difference
    variance is σ² of the samples it holds, whatever the slope (and through the
    buffer's compaction and a gap longer than the longest window)."""
    windows = (2.0, 40.0)
    bank = LineFitBank(windows)
    rng = random.Random(11)
    t = 0.0
    for sigma, seconds in ((1.0, 200.0), (3.0, 200.0)):
        for _ in range(int(seconds * 25)):
            t += 0.04
            bank.add(t, 101_325.0 - 50.0 * t + rng.gauss(0.0, sigma))
        bank.refresh()
        assert bank.noise_variances[1] == pytest.approx(sigma**2, rel=0.15)
        assert bank.noise_variances[0] == pytest.approx(sigma**2, rel=0.6)
    t += 100.0  # a gap: the longest window holds the newest sample only
    for _ in range(200):
        t += 0.04
        bank.add(t, rng.gauss(0.0, 2.0))
    bank.refresh()
    assert bank.noise_variances[1] == pytest.approx(4.0, rel=0.4)


@pytest.mark.parametrize(
    ("windows", "seconds", "fall_pa_s", "gaps", "check_every_s", "slope_rel", "variance_rel"),
    [
        # 101 325 Pa with 0.01 Pa of noise a day into the run (t ≈ 86 400 s).
        (geometric_windows(1.0, 120.0, 2**0.5), 800.0, 0.0, False, 37.3, 1e-8, 1e-10),
        # A steep fall: 30 Pa/s around 0.01 Pa of noise. Σ(y − ȳ)² − slope·Σ(t − t̄)(y − ȳ)
        # cancels 9 digits in any window (the per-window sums this replaced: 1.9·10⁻³).
        (geometric_windows(1.0, 120.0, 2**0.5), 800.0, -30.0, False, 37.3, 1e-8, 5e-3),
        # Gaps of 0.3 s to 500 s (longer than the longest window and than a rebase).
        (geometric_windows(1.0, 120.0, 2**0.5), 800.0, -0.5, True, 37.3, 1e-8, 1e-6),
        # The 1 s window in a 3600 s buffer at 50 Hz, through two moves of the origin:
        # the 1 s window sits up to 3 h from it (the per-window sums: 10⁻¹²).
        ((1.0, 60.0, 3600.0), 3 * 3600.0 + 600.0, -0.01, False, 503.0, 3e-5, 1e-6),
    ],
)
def test_the_shared_totals_keep_the_digits_of_exact_arithmetic(
    windows: tuple[float, ...],
    seconds: float,
    fall_pa_s: float,
    gaps: bool,
    check_every_s: float,
    slope_rel: float,
    variance_rel: float,
) -> None:
    """Slopes, residual variances and second-difference noise of every window agree
    with exact rational arithmetic over the window's samples (50 Hz, the times a
    day into the run, where the common origin is far from the newest samples and
    near), and no slope is off by more than 10⁻⁵ of its standard error.
    bench/bank_cost.py prints these errors beside the per-window sums'."""
    bank = LineFitBank(windows)
    rng = random.Random(21)
    t = 86_400.0
    held: list[tuple[float, float]] = []
    samples = int(seconds * 50.0)
    checks = set(range(0, samples, int(check_every_s * 50.0)))
    worst = {"slope": 0.0, "slope/stderr": 0.0, "variance": 0.0, "noise": 0.0}
    for k in range(samples):
        t += 0.02
        if gaps and k % 2000 == 1999:
            t += (0.3, 30.0, 130.0, 500.0)[(k // 2000) % 4]
        value = 101_325.0 + fall_pa_s * (t - 86_400.0) + rng.gauss(0.0, 0.01)
        bank.add(t, value)
        held.append((t, value))
        if k not in checks:
            continue
        del held[: len(held) - len(bank)]  # the samples the longest window holds
        bank.refresh()
        for index, window_s in enumerate(windows):
            inside = [(ti, yi) for ti, yi in held if ti >= t - window_s]
            if len(inside) < 3:
                assert bank.counts[index] == 0
                continue
            assert bank.counts[index] == len(inside)
            slope, variance, noise = exact_line(inside)
            got = bank.slopes[index]
            worst["slope"] = max(worst["slope"], relative_error(got, slope))
            slope_error = abs(got - float(slope)) / bank.slope_stderrs[index]
            worst["slope/stderr"] = max(worst["slope/stderr"], slope_error)
            worst["variance"] = max(
                worst["variance"], relative_error(bank.residual_variances[index], variance)
            )
            worst["noise"] = max(worst["noise"], relative_error(bank.noise_variances[index], noise))
    assert worst["slope"] < slope_rel, worst
    assert worst["slope/stderr"] < 1e-5, worst
    assert worst["variance"] < variance_rel, worst
    assert worst["noise"] < 1e-8, worst

"""The online estimate of a sensor's thermal lag τ: on a synthetic sealed chamber whose
sensor die follows the gas exactly through a first-order lag, with the BMP388's
pressure noise and quantised, noisy temperature."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest

from hullwatch.daemon.detection.lag_estimate import (
    LagEstimate,
    LagEstimator,
    _segment_fit,
    _Sums,
    lag_agrees,
    lag_disagrees,
)

T0_K = 295.0
P0_PA = 101_300.0
ISS_PERIOD_S = 5520.0
ISS_AMPLITUDE_K = 0.3
PRESSURE_NOISE_PA = 1.6  # BMP388, ×16, IIR off
TEMPERATURE_NOISE_K = 0.002  # BMP3 temperature noise (hil/bmp3_sim.py)
TEMPERATURE_STEP_K = 0.005  # its resolution


def _chamber(
    *,
    lag_s: float,
    seconds: float,
    rate_hz: float = 25.0,
    amplitude_k: float = ISS_AMPLITUDE_K,
    period_s: float = ISS_PERIOD_S,
    leak_pa_per_s: float = 0.0,
    onset_s: float = 0.0,
    gap: tuple[float, float] | None = None,
    lag_from: tuple[float, float] | None = None,
    step: tuple[float, float] | None = None,
    seed: int = 0,
) -> Iterator[tuple[float, float, float]]:
    """(t, P, T_s) of a sealed chamber: gas T = T0 + A·sin(ωt), P ∝ m·T_gas, the die
    following dT_s/dt = (T_gas − T_s)/τ from T_s(0) = T_gas(0) (as the simulator
    starts it): the exact solution, steady state plus the decaying transient. From
    `onset_s` the gas-law quantity falls linearly at `leak_pa_per_s`. With
    `lag_from` = (t, τ'), from t the pressure is that of a gas at T_s + τ'·T_s':
    as if the lag had become τ' without the sensor's temperature changing course.
    With `step` = (t, ΔT), the gas temperature steps by ΔT at t (the die follows
    it exponentially)."""
    rng = random.Random(seed)
    omega = 2.0 * math.pi / period_s
    gain = amplitude_k / (1.0 + (omega * lag_s) ** 2)
    # Steady state T0 + gain·(sin ωt − ωτ·cos ωt); at t = 0 it sits gain·ωτ below T0.
    transient_k = gain * omega * lag_s
    for k in range(int(seconds * rate_hz)):
        t = k / rate_hz
        if gap is not None and gap[0] <= t < gap[1]:
            continue
        gas_k = T0_K + amplitude_k * math.sin(omega * t)
        sensor_k = gas_k
        if lag_s > 0:
            sensor_k = (
                T0_K
                + gain * (math.sin(omega * t) - omega * lag_s * math.cos(omega * t))
                + transient_k * math.exp(-t / lag_s)
            )
        if step is not None and t >= step[0]:
            gas_k += step[1]
            sensor_k += step[1] * (1.0 - math.exp(-(t - step[0]) / lag_s))
        if lag_from is not None and t >= lag_from[0]:
            sensor_rate = gain * omega * (
                math.cos(omega * t) + omega * lag_s * math.sin(omega * t)
            ) - transient_k / lag_s * math.exp(-t / lag_s)
            gas_k = sensor_k + lag_from[1] * sensor_rate
        q_pa = P0_PA - leak_pa_per_s * max(t - onset_s, 0.0)
        pressure = q_pa * gas_k / T0_K + rng.gauss(0.0, PRESSURE_NOISE_PA)
        measured_k = sensor_k + rng.gauss(0.0, TEMPERATURE_NOISE_K)
        yield t, pressure, round(measured_k / TEMPERATURE_STEP_K) * TEMPERATURE_STEP_K


def _feed(
    estimator: LagEstimator,
    samples: Iterator[tuple[float, float, float]],
    every_s: float | None = None,
) -> list[tuple[float, LagEstimate | None]]:
    """Every sample into the estimator; its estimate every `every_s`, and at the end."""
    seen: list[tuple[float, LagEstimate | None]] = []
    next_s = every_s if every_s is not None else math.inf
    t = 0.0
    for t, pressure, temperature in samples:
        estimator.add(t, pressure, temperature)
        if t >= next_s:
            seen.append((t, estimator.estimate()))
            next_s += every_s or math.inf
    seen.append((t, estimator.estimate()))
    return seen


def _final(estimator: LagEstimator, samples: Iterator[tuple[float, float, float]]) -> LagEstimate:
    estimate = _feed(estimator, samples)[-1][1]
    assert estimate is not None
    return estimate


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_two_hours_of_the_iss_cycle_give_tau_and_an_honest_stderr(seed: int) -> None:
    estimate = _final(LagEstimator(), _chamber(lag_s=60.0, seconds=7200.0, seed=seed))
    error = estimate.lag_s - 60.0
    assert abs(error) < 1.5  # 2.5 %
    assert abs(error) < 4.0 * estimate.stderr_s
    # The standard error is that of 2 h at 25 Hz with a line per 30-minute segment
    # (~0.35 s), not a figure inflated to pass the line above.
    assert 0.2 < estimate.stderr_s < 0.8
    assert estimate.span_s > 7000.0
    assert estimate.segments_used == 4
    # The cycle's T_s' about each segment's line: ~3·10⁻⁵ K/s.
    assert 1e-5 < estimate.excitation < 1e-4


@pytest.mark.parametrize("leak_pa_per_s", [0.005, 0.05])
def test_a_leak_starting_mid_way_does_not_move_tau(leak_pa_per_s: float) -> None:
    # The onset lies inside a segment (3600-5400 s), where one line cannot follow it.
    estimate = _final(
        LagEstimator(),
        _chamber(lag_s=60.0, seconds=7200.0, leak_pa_per_s=leak_pa_per_s, onset_s=4000.0),
    )
    assert abs(estimate.lag_s - 60.0) < 1.5
    assert abs(estimate.lag_s - 60.0) < 4.0 * estimate.stderr_s
    assert estimate.segments_set_aside == 1


def test_the_onset_segment_is_bent_and_alone_would_say_something_else() -> None:
    """The checks above are not vacuous: the segment holding the onset fails the
    lack-of-fit test, and its own τ is far off; the segments before it pass."""
    estimator = LagEstimator()
    _feed(estimator, _chamber(lag_s=60.0, seconds=5400.0, leak_pa_per_s=0.05, onset_s=4000.0))
    *before, onset = estimator._segments
    assert [_segment_fit(segment)[1] for segment in before] == [False, False]
    assert _segment_fit(onset) == (None, True)
    partialled = _Sums.merged(onset.parts).partialled()
    assert partialled is not None
    sxx, sxy, _ = partialled
    rows = sum(part.n for part in onset.parts)
    mean_y = onset.y0 + sum(part.sy for part in onset.parts) / rows
    assert abs(sxy / sxx / mean_y - 60.0) > 10.0


def test_a_lag_that_changes_inside_the_window_shows_in_the_stderr() -> None:
    """Segments that disagree (τ 45 s for an hour, then 75 s) widen the standard
    error (the Birge ratio) instead of giving a confident average."""
    estimate = _final(LagEstimator(), _chamber(lag_s=45.0, seconds=7200.0, lag_from=(3600.0, 75.0)))
    # (The segment holding the change, a step in q_s's dependence on x, is bent.)
    assert estimate.segments_used >= 3
    assert 45.0 < estimate.lag_s < 75.0
    # The residuals alone would say ~0.35 s.
    assert estimate.stderr_s > 5.0
    assert abs(estimate.lag_s - 45.0) < 4.0 * estimate.stderr_s
    assert abs(estimate.lag_s - 75.0) < 4.0 * estimate.stderr_s


def test_a_sudden_change_of_the_gas_temperature_does_not_drag_tau() -> None:
    """A step of −0.5 K (a decompression's cooling, a heater): the die's temperature
    bends sharply, a line through ±60 s of it misses T_s' there, and those rows,
    with x 40 times the cycle's, would pull β about; they form no row."""
    estimator = LagEstimator()
    estimate = _final(estimator, _chamber(lag_s=60.0, seconds=7200.0, step=(4000.0, -0.5), seed=7))
    assert abs(estimate.lag_s - 60.0) < 1.5
    assert abs(estimate.lag_s - 60.0) < 4.0 * estimate.stderr_s
    # The rows left out: those whose derivative window holds the bend.
    assert 6500 < estimate.rows < 7200 - 120


def test_the_testbed_cycle_gives_tau_of_thirty_seconds() -> None:
    # Testbed class: ±0.2 K over 30 minutes, τ = 30 s; 10 Hz keeps the test fast.
    # derivative_s = 60 s: the centred slope of a sine is short by (ω·h)²/10,
    # 0.4 % with 120 s on this cycle, 0.1 % with 60 s.
    estimate = _final(
        LagEstimator(derivative_s=60.0),
        _chamber(lag_s=30.0, seconds=7200.0, rate_hz=10.0, amplitude_k=0.2, period_s=1800.0),
    )
    assert abs(estimate.lag_s - 30.0) < 0.75  # 2.5 %
    assert abs(estimate.lag_s - 30.0) < 4.0 * estimate.stderr_s


@pytest.mark.parametrize("seed", [1, 2])
def test_with_no_thermal_cycle_it_never_gives_a_confident_number(seed: int) -> None:
    seen = _feed(
        LagEstimator(),
        _chamber(lag_s=60.0, seconds=7200.0, amplitude_k=0.0, seed=seed),
        every_s=300.0,
    )
    for _, estimate in seen:
        if estimate is None:
            continue
        # With T_s' = 0 the data hold nothing of τ: the estimate is of the order of
        # its standard error, which is far from any useful precision (10 % of 60 s).
        assert estimate.stderr_s > 6.0
        assert abs(estimate.lag_s) < 4.0 * estimate.stderr_s
        assert estimate.excitation < 1e-5


def test_no_lag_is_estimated_near_zero() -> None:
    estimate = _final(LagEstimator(), _chamber(lag_s=0.0, seconds=7200.0, seed=5))
    assert abs(estimate.lag_s) < 4.0 * estimate.stderr_s
    assert estimate.stderr_s < 1.0


def test_a_gap_in_the_samples_does_not_break_it() -> None:
    estimator = LagEstimator()
    estimate = _final(estimator, _chamber(lag_s=60.0, seconds=7200.0, gap=(3000.0, 3060.0), seed=6))
    assert abs(estimate.lag_s - 60.0) < 1.5
    assert abs(estimate.lag_s - 60.0) < 4.0 * estimate.stderr_s
    # No block in the gap, and no row where the gap makes the derivative window
    # lopsided; the rest are there.
    assert 6800 < estimate.rows < 7200 - 60


def test_nothing_until_two_segments_can_be_compared() -> None:
    seen = _feed(LagEstimator(), _chamber(lag_s=60.0, seconds=2400.0, rate_hz=5.0), every_s=20.0)
    first = next(t for t, estimate in seen if estimate is not None)
    # The first row is the block at ~37 s (before it the ±60 s derivative window
    # is lopsided: its mean time more than 12 s from the block). The second 1800 s
    # segment takes part once two of its quarters hold rows (450 + 10), and each
    # row is formed derivative_s/2 = 60 s after its block: 37 + 1800 + 460 + 60.
    assert 2340.0 < first <= 2380.0
    assert all(estimate is None for t, estimate in seen if t < 2340.0)


def test_blocks_average_the_samples() -> None:
    """Samples at 25 Hz and at 5 Hz of the same chamber give the same blocks' worth of rows."""
    fast = LagEstimator()
    slow = LagEstimator()
    _feed(fast, _chamber(lag_s=60.0, seconds=3600.0, rate_hz=25.0))
    _feed(slow, _chamber(lag_s=60.0, seconds=3600.0, rate_hz=5.0))
    fast_estimate, slow_estimate = fast.estimate(), slow.estimate()
    assert fast_estimate is not None
    assert slow_estimate is not None
    assert abs(fast_estimate.rows - slow_estimate.rows) <= 2
    # Five times the samples per block: the standard error √5 smaller, within noise.
    assert 1.5 < slow_estimate.stderr_s / fast_estimate.stderr_s < 3.5


def test_a_late_clock_gives_the_same_estimate() -> None:
    """Sums kept about local origins: a monotonic clock days after boot (10⁶ s)
    changes nothing but rounding, and with it the side of a segment's or quarter's
    boundary that a row lying exactly on it falls (the rows here are whole
    seconds apart, so some do)."""
    early = LagEstimator()
    late = LagEstimator()
    for t, pressure, temperature in _chamber(lag_s=60.0, seconds=5400.0, rate_hz=5.0):
        early.add(t, pressure, temperature)
        late.add(t + 1_000_000.0, pressure, temperature)
    early_estimate, late_estimate = early.estimate(), late.estimate()
    assert early_estimate is not None
    assert late_estimate is not None
    assert late_estimate.rows == early_estimate.rows
    difference = abs(late_estimate.lag_s - early_estimate.lag_s)
    assert difference < 0.1 * early_estimate.stderr_s
    assert late_estimate.stderr_s == pytest.approx(early_estimate.stderr_s, rel=0.05)


def test_old_segments_leave_the_window() -> None:
    estimator = LagEstimator(window_s=3600.0)
    estimate = _final(estimator, _chamber(lag_s=60.0, seconds=3.0 * 3600.0, rate_hz=5.0))
    # The window spans between window_s and window_s + segment_s.
    assert 3600.0 <= estimate.span_s <= 3600.0 + 1800.0
    assert len(estimator._segments) <= 3


@pytest.mark.parametrize(
    "arguments",
    [
        {"window_s": 0.0},
        {"block_s": -1.0},
        {"derivative_s": 0.0},
        {"segment_s": 0.0},
        {"derivative_s": 2.0, "block_s": 1.0},
    ],
)
def test_settings_are_checked(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        LagEstimator(**arguments)


def _estimate(lag_s: float, stderr_s: float) -> LagEstimate:
    return LagEstimate(
        lag_s=lag_s,
        stderr_s=stderr_s,
        span_s=7200.0,
        excitation=3.3e-5,
        rows=7000,
        segments_used=4,
        segments_set_aside=0,
    )


@pytest.mark.parametrize(
    ("configured_s", "measured", "wrong"),
    [
        (0.0, (60.4, 0.4), True),  # the lag left out of the configuration
        (60.0, (60.4, 0.4), False),
        (58.0, (60.4, 0.4), False),  # 4 %: not worth a warning
        (45.0, (60.4, 0.4), True),
        (45.0, (60.4, 5.0), False),  # the estimate too uncertain to say
        (0.0, (0.3, 0.2), False),  # no lag, none configured
        (60.0, (2.6, 10.6), False),  # no thermal cycle: pulled to 0, and imprecise
    ],
)
def test_a_configured_lag_is_wrong_when_far_and_significant(
    configured_s: float, measured: tuple[float, float], wrong: bool
) -> None:
    assert lag_disagrees(configured_s, _estimate(*measured)) is wrong


def test_a_flagged_lag_is_cleared_only_well_inside_the_flagging_bounds() -> None:
    """Between "disagrees" and "agrees" there is a band where a warning already given
    stands and none is given: an estimate wandering at the boundary does not repeat it."""
    assert lag_disagrees(52.0, _estimate(60.0, 0.5))
    assert not lag_agrees(52.0, _estimate(60.0, 0.5))
    assert not lag_disagrees(55.0, _estimate(60.0, 0.5))  # 8 %: in the band
    assert not lag_agrees(55.0, _estimate(60.0, 0.5))
    assert lag_agrees(58.0, _estimate(60.0, 0.5))  # 3 %


def test_without_a_cycle_a_correct_lag_is_not_called_wrong() -> None:
    """τ = 60 s configured and true, no thermal cycle: the estimate drifts towards 0
    but is too imprecise to contradict the configuration."""
    estimator = LagEstimator()
    for t, estimate in _feed(
        estimator, _chamber(lag_s=60.0, seconds=7200.0, amplitude_k=0.0, seed=1), every_s=600.0
    ):
        if estimate is not None:
            assert not lag_disagrees(60.0, estimate), (t, estimate)

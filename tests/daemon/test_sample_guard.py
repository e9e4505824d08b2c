"""The guard between sensor and detector: spikes and stuck sensors stop there."""

from __future__ import annotations

import random

import pytest

from hullwatch.daemon.service.sample_guard import SampleGuard, Verdict
from hullwatch.drivers.sensor import Reading


def _feed(guard: SampleGuard, pressures: list[float]) -> tuple[list[float], list[Verdict]]:
    passed = []
    verdicts = []
    for k, pressure in enumerate(pressures):
        result = guard.submit(k * 0.04, Reading(pressure, 22.0 + k * 1e-4))
        verdicts.append(result.verdict)
        if result.released is not None:
            passed.append(result.released.reading.pressure_pa)
    return passed, verdicts


def test_a_single_spike_is_dropped_and_everything_else_passes_in_order() -> None:
    guard = SampleGuard(spike_threshold_pa=20.0, stuck_samples=10)
    rng = random.Random(1)
    pressures = [101_325.0 + rng.gauss(0, 2.3) for _ in range(50)]
    pressures[20] += 400.0
    passed, verdicts = _feed(guard, pressures)
    assert verdicts.count(Verdict.SPIKE) == 1
    assert guard.spikes_rejected == 1
    # One sample is always held back for its successor.
    assert passed == pressures[:20] + pressures[21:49]


def test_a_steep_steady_fall_is_not_a_spike() -> None:
    """A fast decompression drops 100 Pa per sample: every sample lies between its neighbours."""
    guard = SampleGuard(spike_threshold_pa=20.0, stuck_samples=10)
    pressures = [101_325.0 - 100.0 * k for k in range(40)]
    passed, verdicts = _feed(guard, pressures)
    assert Verdict.SPIKE not in verdicts
    assert passed == pressures[:-1]


def test_a_step_is_a_spike_only_for_its_first_sample_never_for_its_plateau() -> None:
    guard = SampleGuard(spike_threshold_pa=20.0, stuck_samples=10)
    pressures = [101_325.0 + 0.1 * k for k in range(10)] + [100_000.0 + 0.1 * k for k in range(10)]
    passed, _ = _feed(guard, pressures)
    assert passed == pressures[:-1]


def test_identical_readings_mark_the_sensor_stuck_and_nothing_passes() -> None:
    guard = SampleGuard(spike_threshold_pa=20.0, stuck_samples=5)
    rng = random.Random(2)
    for k in range(20):
        guard.submit(k * 0.04, Reading(101_325.0 + rng.gauss(0, 2.3), 22.0))
    frozen = Reading(101_326.5, 22.01)
    results = [guard.submit(1.0 + k * 0.04, frozen) for k in range(10)]
    assert [r.stuck for r in results] == [False] * 4 + [True] * 6
    assert all(r.released is None for r in results[4:])
    assert guard.stuck
    # It comes back when the values move again.
    moving = guard.submit(2.0, Reading(101_327.9, 22.02))
    assert not moving.stuck
    assert not guard.stuck


def test_noise_alone_never_looks_stuck() -> None:
    guard = SampleGuard(spike_threshold_pa=20.0, stuck_samples=3)
    rng = random.Random(3)
    for k in range(10_000):
        # Values quantised like a BMP3 at OSR x8 (about 0.016 Pa per count).
        pressure = round((101_325.0 + rng.gauss(0, 2.3)) / 0.016) * 0.016
        assert not guard.submit(k * 0.04, Reading(pressure, 22.0)).stuck


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="stuck_samples"):
        SampleGuard(spike_threshold_pa=20.0, stuck_samples=1)


@pytest.mark.parametrize(("multiple", "rejected"), [(10.0, True), (0.0, False)])
def test_a_spike_is_judged_against_the_sensors_own_noise(multiple: float, rejected: bool) -> None:
    """1.6 Pa RMS (BMP388 at ×16): a 25 Pa spike is 15 σ but under the fixed 50 Pa.
    With the noise-scaled threshold (10 σ = 16 Pa) it goes; without, it passes."""
    guard = SampleGuard(spike_threshold_pa=50.0, stuck_samples=10, spike_noise_multiple=multiple)
    rng = random.Random(6)
    pressures = [101_325.0 + rng.gauss(0, 1.6) for _ in range(1000)]
    pressures[900] += 25.0
    passed, verdicts = _feed(guard, pressures)
    assert (Verdict.SPIKE in verdicts) is rejected
    assert (pressures[900] in passed) is not rejected
    if multiple:
        assert guard.noise_pa == pytest.approx(1.6, rel=0.15)
        assert guard.effective_spike_threshold_pa == pytest.approx(16.0, rel=0.15)
        # Nothing but the spike was taken for one: 10 σ is never reached by noise.
        assert verdicts.count(Verdict.SPIKE) == 1


def test_the_noise_scaled_threshold_waits_for_enough_samples() -> None:
    guard = SampleGuard(spike_threshold_pa=50.0, stuck_samples=10, spike_noise_multiple=10.0)
    _feed(guard, [101_325.0 + (k % 3) for k in range(20)])
    assert guard.noise_pa is None
    assert guard.effective_spike_threshold_pa == 50.0

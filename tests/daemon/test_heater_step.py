"""A heater step with a lagging sensor (issue 12 §3): the gas follows the wall within
seconds, the pressure with it, while the sensor's temperature takes a lag to show
it. The long windows take the step's pressure at once; the temperature misfit
must widen them before their test passes, and once the step is found
(`thermal_events`) the die's response to it is fitted, so that a leak opening
soon after is still seen."""

from __future__ import annotations

import math

import pytest

from hullwatch.daemon.detection import thermal_events, thermal_misfit
from hullwatch.daemon.detection.levels import Level
from hullwatch.hil.heater_step import GAS_TIME_CONSTANT_S, heater_step_samples, module_detector

RATE_HZ = 5.0
STEP_AT_S = 1500.0


def _raised_after_a_step(
    step_k: float,
    seed: int,
    seconds_after: float = 300.0,
    *,
    gas_time_constant_s: float = GAS_TIME_CONSTANT_S,
    leak_pa_per_s: float = 0.0,
    leak_at_s: float = math.inf,
) -> list[tuple[float, str]]:
    """The ISS-class module sealed until STEP_AT_S, then the wall steps by
    `step_k` (`hil.heater_step`); from `leak_at_s` the gas is lost at
    `leak_pa_per_s`. What the zone raised: (time, level: reason)."""
    detector = module_detector()
    raised = []
    for t, pressure, temperature_c in heater_step_samples(
        step_k=step_k,
        step_at_s=STEP_AT_S,
        duration_s=STEP_AT_S + seconds_after,
        rate_hz=RATE_HZ,
        seed=seed,
        gas_time_constant_s=gas_time_constant_s,
        leak_pa_per_s=leak_pa_per_s,
        leak_at_s=leak_at_s,
    ):
        detector.add_sample("s", t, pressure, temperature_c)
        assessment = detector.assess()
        if assessment is not None and assessment.level is not Level.OK and assessment.level_changed:
            raised.append((t, f"{assessment.level.value}: {assessment.reason}"))
    return raised


@pytest.mark.parametrize(("step_k", "seed"), [(-0.25, 1), (-0.25, 2), (0.25, 3), (-0.1, 4)])
def test_a_heater_step_seen_late_by_the_sensor_raises_nothing(step_k: float, seed: int) -> None:
    assert _raised_after_a_step(step_k, seed) == []


@pytest.mark.parametrize(("step_k", "seed"), [(-0.25, 5), (-0.1, 6), (0.25, 7)])
def test_a_step_the_gas_follows_slowly_raises_nothing(step_k: float, seed: int) -> None:
    """The gas follows the wall in 200 s: for the first tens of seconds a slow,
    leak-like fall that the die shows only later."""
    assert _raised_after_a_step(step_k, seed, gas_time_constant_s=200.0) == []


# A 2 mm hole in the 400 m³ module (docs/detection.md): about 0.1 Pa/s.
LEAK_PA_PER_S = 0.1
LEAK_AFTER_STEP_S = 120.0
# Caught within this (25 s without the step; the hole's own cooling of the gas and
# what the fit misses of the gas's lag still widen the windows for a while).
CAUGHT_WITHIN_S = 240.0


@pytest.mark.parametrize("seed", [8, 9])
def test_a_leak_two_minutes_after_a_step_is_caught(seed: int) -> None:
    leak_at_s = STEP_AT_S + LEAK_AFTER_STEP_S
    raised = _raised_after_a_step(
        -0.25,
        seed,
        seconds_after=LEAK_AFTER_STEP_S + CAUGHT_WITHIN_S,
        leak_pa_per_s=LEAK_PA_PER_S,
        leak_at_s=leak_at_s,
    )
    assert raised, "the leak was never raised"
    first_s = raised[0][0]
    assert first_s > leak_at_s, raised
    assert first_s - leak_at_s < CAUGHT_WITHIN_S, raised


def test_without_the_event_fit_the_same_leak_waits_for_the_step_to_leave(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: with the step never found, the misfit of the cubic widens every
    window for as long as the step is in it, and the leak goes unraised for
    as long."""
    monkeypatch.setattr(thermal_events, "EVENT_SIGMA", math.inf)
    leak_at_s = STEP_AT_S + LEAK_AFTER_STEP_S
    raised = _raised_after_a_step(
        -0.25,
        8,
        seconds_after=LEAK_AFTER_STEP_S + CAUGHT_WITHIN_S,
        leak_pa_per_s=LEAK_PA_PER_S,
        leak_at_s=leak_at_s,
    )
    assert raised == []


def test_ends_averaged_over_an_eighth_of_a_long_window_let_the_step_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why END_MAX_S: a 362 s window's end averaged over 45 s lags a step seen 20 s
    ago, and the window's fall, the step's own pressure, passes its test (before
    the step is found: here it never is)."""
    monkeypatch.setattr(thermal_misfit, "END_MAX_S", 1e6)
    monkeypatch.setattr(thermal_events, "EVENT_SIGMA", math.inf)
    raised = [_raised_after_a_step(-0.25, seed) for seed in (1, 2)]
    assert any(raised), raised

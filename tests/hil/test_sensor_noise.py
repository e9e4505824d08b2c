"""The simulated sensors' noise beyond white: flicker, random walk, tempco, popcorn.

The Allan deviations are computed here in pure Python (overlapping estimator,
IEEE Std 1139) and compared with what the configured coefficients predict:
white σ·√(τ0/τ), flicker flat at `flicker_pa`, random walk K·√(τ/3).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from typing import Any

import pytest
from pydantic import ValidationError

from hullwatch.drivers.bmp3 import Bmp3Sensor, Bmp3Settings
from hullwatch.drivers.ms5611 import Ms5611Sensor, Ms5611Settings
from hullwatch.hil.loopback import InProcessI2CBus
from hullwatch.hil.scenario import Scenario
from hullwatch.hil.sensor_noise import (
    SlowNoise,
    SlowNoiseParameters,
    flicker_allan_deviation,
)
from hullwatch.hil.virtual_clock import VirtualClock
from hullwatch.hil.world import World

ADDRESS = 0x77


def overlapping_allan_deviation(samples: list[float], m: int) -> float:
    """Overlapping Allan deviation for averages of `m` consecutive samples."""
    sums = [0.0]
    for value in samples:
        sums.append(sums[-1] + value)
    means = [(sums[k + m] - sums[k]) / m for k in range(len(samples) - m + 1)]
    differences = [means[k + m] - means[k] for k in range(len(means) - m)]
    return math.sqrt(sum(d * d for d in differences) / (2.0 * len(differences)))


def _slow_series(
    parameters: SlowNoiseParameters, dt_s: float, count: int, seed: int
) -> list[float]:
    noise = SlowNoise(parameters, random.Random(seed))
    return [noise.offset_pa(k * dt_s, 25.0) for k in range(count)]


def test_flicker_has_a_flat_allan_deviation_at_the_configured_level() -> None:
    flicker_pa, dt_s = 0.8, 0.5
    series = _slow_series(SlowNoiseParameters(flicker_pa=flicker_pa), dt_s, 60_000, seed=3)
    figures = {}
    for m, tolerance in ((10, 0.12), (100, 0.2), (1000, 0.35)):
        tau_s = m * dt_s
        measured = overlapping_allan_deviation(series, m)
        expected = flicker_allan_deviation(tau_s, flicker_pa)
        figures[tau_s] = measured
        assert expected == pytest.approx(flicker_pa, rel=0.03)
        assert measured == pytest.approx(expected, rel=tolerance), (tau_s, measured, expected)
    # Flat: a hundredfold in τ moves it far less than white (×0.1) or a random walk (×10).
    assert 0.6 < figures[500.0] / figures[5.0] < 1.5


def test_random_walk_grows_as_the_square_root_of_tau() -> None:
    walk, dt_s = 0.5, 1.0
    series = _slow_series(SlowNoiseParameters(random_walk_pa_per_sqrt_s=walk), dt_s, 40_000, 5)
    for m, tolerance in ((4, 0.05), (40, 0.12), (400, 0.35)):
        tau_s = m * dt_s
        # Averages of m point samples: K²·(τ/3 + Δt/(6m)), the second term the sampling's.
        expected = walk * math.sqrt(tau_s / 3.0 + dt_s / (6.0 * m))
        measured = overlapping_allan_deviation(series, m)
        assert measured == pytest.approx(expected, rel=tolerance), (tau_s, measured, expected)


# --- through the world and the real drivers ---


def _scenario(kind: str, noise: Any, *, seed: int = 2018, **zone: Any) -> Scenario:
    sensor: dict[str, Any] = {"kind": kind, "zone": "c", "address": ADDRESS}
    if noise is not None:
        sensor["noise"] = noise
    return Scenario.model_validate(
        {
            "seed": seed,
            "zones": [
                {
                    "id": "c",
                    "volume_m3": 0.05,
                    "pressure_pa": 101_325.0,
                    "temperature_k": 295.0,
                    **zone,
                }
            ],
            "sensors": [sensor],
        }
    )


async def _read(scenario: Scenario, count: int, period_s: float = 0.04) -> list[float]:
    clock = VirtualClock()
    world = World(scenario, clock.now)
    bus = InProcessI2CBus(world.bus)
    driver: Bmp3Sensor | Ms5611Sensor
    if scenario.sensors[0].kind == "bmp388":
        settings = Bmp3Settings(
            mode="normal",
            pressure_oversampling=16,
            temperature_oversampling=1,
            iir_coefficient=3,
            rate_hz=25.0,
        )
        driver = Bmp3Sensor(bus, ADDRESS, settings, sleep=clock.sleep)
    else:
        settings_ms = Ms5611Settings(oversampling=4096, rate_hz=25.0)
        driver = Ms5611Sensor(bus, ADDRESS, settings_ms, sleep=clock.sleep)
    await driver.initialise()
    pressures = []
    for _ in range(count):
        clock.advance(period_s)
        reading = await driver.read()
        assert reading is not None
        pressures.append(reading.pressure_pa)
    return pressures


def _digest(values: list[float]) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


# sha256 of the first 500 pressures read at 25 Hz from these seeded worlds (a
# ±0.3 K, 10-minute cycle), computed with the simulator as it was before the
# realistic noise model existed (commit c2e7217).
WHITE_BEFORE = {"bmp388": "87e050a03c805a41", "ms5611": "be97ba1baa95f801"}


@pytest.mark.parametrize("kind", ["bmp388", "ms5611"])
@pytest.mark.parametrize("noise", [None, True, "white", {"model": "white"}])
def test_white_only_reproduces_the_samples_from_before(kind: str, noise: Any) -> None:
    scenario = _scenario(kind, noise, cycle_amplitude_k=0.3, cycle_period_s=600.0)
    assert _digest(asyncio.run(_read(scenario, 500))) == WHITE_BEFORE[kind]


@pytest.mark.parametrize("kind", ["bmp388", "ms5611"])
def test_realistic_noise_is_deterministic_for_a_seed(kind: str) -> None:
    first = asyncio.run(_read(_scenario(kind, "realistic"), 300))
    again = asyncio.run(_read(_scenario(kind, "realistic"), 300))
    other = asyncio.run(_read(_scenario(kind, "realistic", seed=2019), 300))
    white = asyncio.run(_read(_scenario(kind, "white"), 300))
    assert first == again
    assert first != other
    assert first != white


def test_the_scenario_default_model_applies_to_sensors_that_do_not_choose() -> None:
    realistic = asyncio.run(_read(_scenario("ms5611", "realistic"), 200))
    scenario = _scenario("ms5611", None).model_copy(update={"sensor_noise": "realistic"})
    assert asyncio.run(_read(scenario, 200)) == realistic


def test_white_flicker_and_random_walk_through_the_chip_and_driver() -> None:
    """An MS5611 (OSR 4096, 1 Pa output) at 25 Hz for 2000 s: its Allan deviation
    against σ² = W²·τ0/τ + F(τ)² + K²·τ/3 with the configured figures."""
    white_pa, flicker_pa, walk = 3.0, 0.4, 0.02
    noise = {
        "white_pa": white_pa,
        "flicker_pa": flicker_pa,
        "random_walk_pa_per_sqrt_s": walk,
        "tempco_pa_per_k": 0.0,
    }
    readings = asyncio.run(_read(_scenario("ms5611", noise), 50_000))
    period_s = 0.04
    white_with_lsb = math.sqrt(white_pa**2 + 1.0 / 12.0)  # 1 Pa output quantisation
    for m, tolerance in ((1, 0.05), (25, 0.1), (250, 0.2), (2500, 0.45)):
        tau_s = m * period_s
        expected = math.sqrt(
            white_with_lsb**2 / m
            + flicker_allan_deviation(tau_s, flicker_pa) ** 2
            + walk**2 * tau_s / 3.0
        )
        measured = overlapping_allan_deviation(readings, m)
        assert measured == pytest.approx(expected, rel=tolerance), (tau_s, measured, expected)


def test_popcorn_steps_come_at_the_configured_rate_and_size() -> None:
    rate_per_hour, step_pa, hours = 30.0, 2.5, 200.0
    parameters = SlowNoiseParameters(popcorn_per_hour=rate_per_hour, popcorn_pa=step_pa)
    noise = SlowNoise(parameters, random.Random(11))
    values = {noise.offset_pa(k * 10.0, 25.0) for k in range(int(hours * 360))}
    assert values == {0.0, step_pa}
    expected = rate_per_hour * hours  # Poisson: ±√expected
    assert abs(noise.toggles - expected) < 4.0 * math.sqrt(expected)


def test_tempco_moves_the_reading_by_its_coefficient_of_the_die_temperature() -> None:
    """Two worlds alike but for the tempco, the wall warming 0.01 K/s: the readings
    differ by tempco × (die temperature − 25 °C), to the 1 Pa output LSB."""
    tempco = 20.0
    quiet = {"white_pa": 0.0, "flicker_pa": 0.0, "random_walk_pa_per_sqrt_s": 0.0}
    zone = {"drift_k_per_s": 0.01, "wall_time_constant_s": 0.0}
    without = asyncio.run(
        _read(_scenario("ms5611", {**quiet, "tempco_pa_per_k": 0.0}, **zone), 30, 10.0)
    )
    with_tempco = asyncio.run(
        _read(_scenario("ms5611", {**quiet, "tempco_pa_per_k": tempco}, **zone), 30, 10.0)
    )
    for k, (a, b) in enumerate(zip(without, with_tempco, strict=True)):
        die_c = 295.0 + 0.01 * (k + 1) * 10.0 - 273.15
        assert b - a == pytest.approx(tempco * (die_c - 25.0), abs=1.01)
    # 2.9 K of warming: the offset moves by 58 Pa over the run.
    assert (with_tempco[-1] - without[-1]) - (with_tempco[0] - without[0]) > 50.0


def test_noise_keys_are_checked() -> None:
    with pytest.raises(ValidationError, match="takes no flicker_pa"):
        _scenario("ms5611", {"model": "white", "flicker_pa": 0.1})
    with pytest.raises(ValidationError):
        _scenario("ms5611", {"flicker": 0.1})
    with pytest.raises(ValidationError):
        _scenario("ms5611", "pink")

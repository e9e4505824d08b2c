"""What the world shows a sensor: its thermal lag behind the gas, random spikes.
Read through the real MS5611 driver on the in-process simulated bus."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hullwatch.drivers.ms5611 import Ms5611Sensor, Ms5611Settings
from hullwatch.hil.loopback import InProcessI2CBus
from hullwatch.hil.scenario import Scenario
from hullwatch.hil.virtual_clock import VirtualClock
from hullwatch.hil.world import World

ADDRESS = 0x77
PRESSURE_PA = 101_325.0
T0_K = 295.0


def _world(
    zone: dict[str, Any], sensor: dict[str, Any]
) -> tuple[World, VirtualClock, Ms5611Sensor]:
    clock = VirtualClock()
    scenario = Scenario.model_validate(
        {
            "seed": 7,
            "zones": [
                {
                    "id": "c",
                    "volume_m3": 0.05,
                    "pressure_pa": PRESSURE_PA,
                    "temperature_k": T0_K,
                    **zone,
                }
            ],
            "sensors": [
                {"kind": "ms5611", "zone": "c", "address": ADDRESS, "noise": False, **sensor}
            ],
        }
    )
    world = World(scenario, clock.now)
    driver = Ms5611Sensor(
        InProcessI2CBus(world.bus),
        ADDRESS,
        Ms5611Settings(oversampling=4096, rate_hz=10.0),
        sleep=clock.sleep,
    )
    return world, clock, driver


async def _read_at(driver: Ms5611Sensor, clock: VirtualClock, t_s: float) -> tuple[float, float]:
    clock.advance(max(0.0, t_s - clock.now()))
    reading = await driver.read()
    assert reading is not None
    return reading.pressure_pa, reading.temperature_c + 273.15


async def test_a_lagging_sensor_trails_a_temperature_ramp_by_its_time_constant() -> None:
    """Ramp a·t from rest: T_s = T0 + a·(t − τ·(1 − e^(−t/τ))); the pressure is the gas's."""
    ramp_k_per_s, tau_s = 0.01, 30.0
    # The gas held at the wall (τ_wall = 0), so that it ramps exactly.
    world, clock, driver = _world(
        {"drift_k_per_s": ramp_k_per_s, "wall_time_constant_s": 0.0}, {"thermal_lag_s": tau_s}
    )
    await driver.initialise()
    for t_s in (5.0, 30.0, 90.0, 200.0):
        while clock.now() < t_s - 1.0:
            await _read_at(driver, clock, clock.now() + 1.0)
        _pressure_pa, temperature_k = await _read_at(driver, clock, t_s)
        lagged_k = T0_K + ramp_k_per_s * (t_s - tau_s * (1.0 - math.exp(-t_s / tau_s)))
        gas_k = world.chambers["c"].temperature_k
        assert temperature_k == pytest.approx(lagged_k, abs=0.02)
        assert gas_k - temperature_k == pytest.approx(gas_k - lagged_k, abs=0.02)


async def test_without_lag_the_sensor_reads_the_gas_temperature() -> None:
    world, clock, driver = _world({"drift_k_per_s": 0.01}, {})
    await driver.initialise()
    _pressure_pa, temperature_k = await _read_at(driver, clock, 100.0)
    assert temperature_k == pytest.approx(world.chambers["c"].temperature_k, abs=0.02)


async def test_random_spikes_hit_single_samples_at_the_rate_asked() -> None:
    world, clock, driver = _world({}, {"spikes_per_hour": 360.0, "spike_pa": 300.0})
    await driver.initialise()
    readings = [(await _read_at(driver, clock, 0.5 * k))[0] for k in range(1, 1201)]
    spikes = [p - PRESSURE_PA for p in readings if abs(p - PRESSURE_PA) > 5.0]
    # 600 s at 360 per hour: 60 expected (Poisson, ±3σ ≈ ±23).
    assert 37 <= len(spikes) <= 83
    assert all(abs(abs(d) - 300.0) < 3.0 for d in spikes)
    assert {math.copysign(1.0, d) for d in spikes} == {-1.0, 1.0}
    fired = [e.description for e in world.take_fired()]
    assert sum("random spike" in text for text in fired) >= len(spikes)


async def test_random_spikes_repeat_for_the_same_seed() -> None:
    times = []
    for _ in range(2):
        world, clock, _driver = _world({}, {"spikes_per_hour": 3600.0})
        clock.advance(60.0)
        world.advance_to(60.0)
        times.append([e.at_s for e in world.take_fired()])
    assert times[0] == times[1]
    assert 30 < len(times[0]) < 90

"""Scheduled faults, seen through the real BMP3 driver on the in-process simulated bus."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from hullwatch.drivers.bmp3 import Bmp3Sensor, Bmp3Settings
from hullwatch.drivers.errors import BusError, CalibrationError
from hullwatch.drivers.ms5611 import Ms5611Sensor, Ms5611Settings
from hullwatch.hil.loopback import InProcessI2CBus
from hullwatch.hil.scenario import Scenario
from hullwatch.hil.virtual_clock import VirtualClock
from hullwatch.hil.world import World

ADDRESS = 0x77
PRESSURE_PA = 101_325.0


def _world(
    *faults: dict[str, object], noise: bool = True, kind: str = "bmp388"
) -> tuple[World, VirtualClock]:
    clock = VirtualClock()
    scenario = Scenario.model_validate(
        {
            "zones": [
                {"id": "c", "volume_m3": 0.05, "pressure_pa": PRESSURE_PA, "temperature_k": 295.0}
            ],
            "sensors": [{"kind": kind, "zone": "c", "address": ADDRESS, "noise": noise}],
            "faults": [{"address": ADDRESS, **fault} for fault in faults],
        }
    )
    return World(scenario, clock.now), clock


def _sensor(world: World, clock: VirtualClock) -> Bmp3Sensor:
    settings = Bmp3Settings(
        mode="forced",
        pressure_oversampling=8,
        temperature_oversampling=1,
        iir_coefficient=0,
        rate_hz=25.0,
    )
    return Bmp3Sensor(InProcessI2CBus(world.bus), ADDRESS, settings, sleep=clock.sleep)


def _ms5611_world(*faults: dict[str, object]) -> tuple[World, VirtualClock, Ms5611Sensor]:
    world, clock = _world(*faults, noise=False, kind="ms5611")
    sensor = Ms5611Sensor(
        InProcessI2CBus(world.bus),
        ADDRESS,
        Ms5611Settings(oversampling=1024, rate_hz=25.0),
        sleep=clock.sleep,
    )
    return world, clock, sensor


def _bmp3_world(*faults: dict[str, object]) -> tuple[World, VirtualClock, Bmp3Sensor]:
    world, clock = _world(*faults)
    return world, clock, _sensor(world, clock)


async def _read_at(sensor: Bmp3Sensor | Ms5611Sensor, clock: VirtualClock, t_s: float) -> float:
    clock.advance(max(0.0, t_s - clock.now()))
    reading = await sensor.read()
    assert reading is not None
    return reading.pressure_pa


@pytest.mark.parametrize(("kind", "code"), [("nack", errno.EREMOTEIO), ("eio", errno.EIO)])
async def test_bus_faults_fail_transfers_only_while_active(kind: str, code: int) -> None:
    world, clock = _world({"at_s": 1.0, "duration_s": 1.0, "kind": kind})
    sensor = _sensor(world, clock)
    await sensor.initialise()
    await _read_at(sensor, clock, 0.5)
    clock.advance(1.0)
    with pytest.raises(BusError) as failure:
        await sensor.read()
    assert failure.value.errno == code
    assert await _read_at(sensor, clock, 2.5) == pytest.approx(PRESSURE_PA, abs=20)


async def test_a_hung_bus_times_out() -> None:
    world, clock = _world({"at_s": 1.0, "duration_s": 1.0, "kind": "hang"})
    sensor = _sensor(world, clock)
    await sensor.initialise()
    clock.advance(1.2)
    with pytest.raises(BusError) as failure:
        await sensor.read()
    assert failure.value.errno == errno.ETIMEDOUT


async def test_stuck_output_repeats_the_same_counts_until_released() -> None:
    world, clock = _world({"at_s": 1.0, "duration_s": 2.0, "kind": "stuck"})
    sensor = _sensor(world, clock)
    await sensor.initialise()
    before = [await _read_at(sensor, clock, 0.1 * k) for k in range(1, 8)]
    assert len(set(before)) > 3
    stuck = [await _read_at(sensor, clock, 1.5 + 0.1 * k) for k in range(8)]
    assert len(set(stuck)) == 1
    after = [await _read_at(sensor, clock, 3.5 + 0.1 * k) for k in range(8)]
    assert len(set(after)) > 3


async def test_a_spike_hits_one_sample() -> None:
    world, clock = _world({"at_s": 1.0, "kind": "spike", "spike_pa": 700.0}, noise=False)
    sensor = _sensor(world, clock)
    await sensor.initialise()
    samples = [await _read_at(sensor, clock, 0.5 + 0.1 * k) for k in range(12)]
    off = [p for p in samples if abs(p - PRESSURE_PA) > 100]
    assert len(off) == 1
    assert off[0] == pytest.approx(PRESSURE_PA + 700.0, abs=1.0)


async def test_drift_offsets_only_the_faulty_sensor_and_grows() -> None:
    world, clock = _world({"at_s": 1.0, "kind": "drift", "drift_pa_per_s": -2.0}, noise=False)
    sensor = _sensor(world, clock)
    await sensor.initialise()
    assert await _read_at(sensor, clock, 0.5) == pytest.approx(PRESSURE_PA, abs=0.1)
    assert await _read_at(sensor, clock, 11.0) == pytest.approx(PRESSURE_PA - 20.0, abs=0.2)
    assert world.chambers["c"].pressure_pa == pytest.approx(PRESSURE_PA)


async def test_a_chip_that_disappears_comes_back_reset_and_needs_initialising() -> None:
    world, clock = _world({"at_s": 1.0, "duration_s": 1.0, "kind": "disappear"})
    sensor = _sensor(world, clock)
    await sensor.initialise()
    clock.advance(1.5)
    with pytest.raises(BusError) as gone:
        await sensor.read()
    assert gone.value.errno == errno.EREMOTEIO
    clock.advance(1.0)
    world.advance_to(clock.now())
    returned = world.chips[ADDRESS]
    assert returned.mode == "sleep"  # powered on afresh: configuration lost
    await sensor.initialise()
    assert await _read_at(sensor, clock, 3.0) == pytest.approx(PRESSURE_PA, abs=20)


@pytest.mark.parametrize(
    ("make_world", "tolerance_pa"),
    [pytest.param(_bmp3_world, 20.0, id="bmp388"), pytest.param(_ms5611_world, 2.0, id="ms5611")],
)
async def test_blanked_calibration_is_refused_at_initialisation_until_restored(
    make_world: Callable[..., tuple[World, VirtualClock, Bmp3Sensor | Ms5611Sensor]],
    tolerance_pa: float,
) -> None:
    world, clock, sensor = make_world(
        {"at_s": 1.0, "duration_s": 1.0, "kind": "corrupt_calibration"}
    )
    await sensor.initialise()
    clock.advance(1.5)
    world.advance_to(clock.now())
    with pytest.raises(CalibrationError):
        await sensor.initialise()
    clock.advance(1.0)
    world.advance_to(clock.now())
    await sensor.initialise()
    assert await _read_at(sensor, clock, 3.0) == pytest.approx(PRESSURE_PA, abs=tolerance_pa)


def test_a_fault_must_name_a_sensor_on_the_bus() -> None:
    with pytest.raises(ValueError, match="no sensor at that address"):
        Scenario.model_validate(
            {
                "zones": [{"id": "c", "volume_m3": 1, "pressure_pa": 1e5, "temperature_k": 290}],
                "sensors": [{"kind": "bmp388", "zone": "c", "address": 0x76}],
                "faults": [{"at_s": 1, "address": 0x77, "kind": "nack"}],
            }
        )


async def test_ms5611_stuck_and_spike() -> None:
    _world, clock, sensor = _ms5611_world(
        {"at_s": 1.0, "kind": "spike", "spike_pa": 600.0},
        {"at_s": 2.0, "duration_s": 1.0, "kind": "drift", "drift_pa_per_s": 100.0},
        {"at_s": 2.0, "duration_s": 1.0, "kind": "stuck"},
    )
    await sensor.initialise()
    early = [await _read_at(sensor, clock, 0.5 + 0.1 * k) for k in range(9)]
    assert sum(abs(p - PRESSURE_PA - 600.0) < 2 for p in early) == 1
    # The drift would move every reading; stuck, they all repeat the first one.
    stuck = [await _read_at(sensor, clock, 2.1 + 0.1 * k) for k in range(8)]
    assert len(set(stuck)) == 1
    assert await _read_at(sensor, clock, 3.5) == pytest.approx(PRESSURE_PA, abs=2)

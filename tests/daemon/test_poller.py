"""SensorPoller with a real Bmp3Sensor on an in-process simulated bus, on simulated time."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from hullwatch.daemon.service.poller import REINIT_BACKOFF_MAX_S, Health, Sample, SensorPoller
from hullwatch.drivers.bmp3 import Bmp3Mode, Bmp3Sensor, Bmp3Settings
from hullwatch.drivers.transports.sim_wire import Message
from hullwatch.hil.bmp3_sim import Bmp3Simulator
from hullwatch.hil.i2c_bus import SimulatedI2CBus
from hullwatch.hil.loopback import InProcessI2CBus
from hullwatch.hil.virtual_clock import VirtualClock

ADDRESS = 0x77
SENSOR_ID = "bmp-a"
PRESSURE_PA = 101_325.0
TEMPERATURE_C = 22.0
TEST_TIMEOUT_S = 10.0


class SteppingClock(VirtualClock):
    """A VirtualClock that tells the test whenever the code under test sleeps on it."""

    def __init__(self, start_s: float) -> None:
        super().__init__(start_s)
        self.stepped = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.stepped.set()
        await super().sleep(seconds)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Let the poller run until `condition` holds (the caller bounds it with a timeout)."""
        while not condition():
            self.stepped.clear()
            await self.stepped.wait()


class WireTimedBus(InProcessI2CBus):
    """The in-process bus, but every transfer takes the time its bits need on the wire.

    Standard-mode I2C at `clock_hz`: 9 clocks per byte (8 data + ACK) and per address
    byte, about one byte time for START/STOP. Without this a simulated read costs
    no time at all, and a poller that slept one period after each read would not drift.
    """

    def __init__(self, wire: SimulatedI2CBus, clock: VirtualClock, clock_hz: float) -> None:
        super().__init__(wire)
        self._clock = clock
        self._clock_hz = clock_hz

    def _transfer(self, address: int, messages: list[Message]) -> bytes:
        data_bytes = sum(message.length for message in messages)
        bits = 9 * (data_bytes + 2 * len(messages))
        self._clock.advance(bits / self._clock_hz)
        return super()._transfer(address, messages)


@dataclass
class Rig:
    mode: Bmp3Mode
    rate_hz: float
    bus_clock_hz: float = 100_000.0
    pressure_pa: float = PRESSURE_PA
    clock: SteppingClock = field(default_factory=lambda: SteppingClock(start_s=1000.0))
    wire: SimulatedI2CBus = field(default_factory=SimulatedI2CBus)
    samples: list[Sample] = field(default_factory=list)
    faults: list[tuple[str, Health, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.attach_chip(seed=1)
        sensor = Bmp3Sensor(
            WireTimedBus(self.wire, self.clock, self.bus_clock_hz),
            ADDRESS,
            Bmp3Settings(
                mode=self.mode,
                pressure_oversampling=16,
                temperature_oversampling=2,
                iir_coefficient=0,
                rate_hz=self.rate_hz,
            ),
            expected_chip="bmp388",
            sleep=self.clock.sleep,
        )
        self.poller = SensorPoller(
            sensor_id=SENSOR_ID,
            sensor=sensor,
            rate_hz=self.rate_hz,
            on_sample=self.samples.append,
            on_fault=self._on_fault,
            clock=self.clock.now,
            sleep=self.clock.sleep,
        )

    def attach_chip(self, seed: int) -> None:
        """A freshly powered chip at ADDRESS."""
        self.wire.attach(
            ADDRESS,
            Bmp3Simulator(
                clock=self.clock.now,
                conditions=lambda _t_s: (self.pressure_pa, TEMPERATURE_C),
                rng=random.Random(seed),
            ),
        )

    def _on_fault(self, sensor_id: str) -> None:
        # Health as the poller set it when it gave up on the chip, before re-initialising.
        self.faults.append((sensor_id, self.poller.health, self.poller.health_reason))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    ("mode", "rate_hz"),
    [
        # The driver waits 1.15 x 37 ms for each forced conversion: 43 % of the period.
        pytest.param("forced", 10.0, id="forced-10Hz"),
        # Each read is about 1 ms on a 100 kHz bus.
        pytest.param("normal", 25.0, id="normal-25Hz"),
    ],
)
async def test_samples_stay_on_the_rate_grid_without_drift(mode: Bmp3Mode, rate_hz: float) -> None:
    rig = Rig(mode=mode, rate_hz=rate_hz)
    period_s = 1.0 / rate_hz
    count = 1000
    task = asyncio.create_task(rig.poller.run())
    try:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            await rig.clock.until(lambda: len(rig.samples) >= count)
    finally:
        await _stop(task)

    times = [sample.t_s for sample in rig.samples[:count]]
    # Sample k is taken at start + k·period, then stamped after its read: the same offset
    # for every sample, so the first sample fixes the grid.
    anchor_s = times[0]
    offsets = [t_s - anchor_s - k * period_s for k, t_s in enumerate(times)]
    assert max(abs(offset) for offset in offsets) < period_s
    # Stricter than the grid: reads take the same time, so the offsets barely vary.
    assert max(offsets) - min(offsets) < 0.1 * period_s
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(period_s, rel=0.1)
    assert max(gaps) == pytest.approx(period_s, rel=0.1)
    assert rig.poller.missed_slots == 0
    assert rig.poller.samples_taken >= count
    assert rig.poller.health is Health.OK
    assert rig.faults == []
    pressures = [sample.reading.pressure_pa for sample in rig.samples[:count]]
    assert sum(pressures) / count == pytest.approx(PRESSURE_PA, abs=1.0)


async def test_detached_chip_is_a_fault_without_samples_and_a_new_chip_is_taken_up() -> None:
    rig = Rig(mode="normal", rate_hz=25.0)
    task = asyncio.create_task(rig.poller.run())
    try:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            await rig.clock.until(lambda: len(rig.samples) >= 50)
            assert rig.poller.health is Health.OK

            rig.wire.detach(ADDRESS)
            detached_s = rig.clock.now()
            samples_before = len(rig.samples)

            await rig.clock.until(lambda: bool(rig.faults))
            sensor_id, health, reason = rig.faults[0]
            assert sensor_id == SENSOR_ID
            assert health in (Health.DEGRADED, Health.FAILED)
            assert "Remote I/O error" in reason
            assert "0x77" in reason

            # While the chip is away: re-initialisation keeps failing, backing off, for
            # several minutes of simulated time; nothing reaches on_sample.
            await rig.clock.until(lambda: rig.clock.now() > detached_s + 5 * REINIT_BACKOFF_MAX_S)
            assert rig.poller.health is Health.FAILED
            assert "initialisation failed" in rig.poller.health_reason
            assert "Remote I/O error" in rig.poller.health_reason
            assert len(rig.samples) == samples_before
            assert len(rig.faults) == 1

            rig.attach_chip(seed=2)
            attached_s = rig.clock.now()
            await rig.clock.until(lambda: len(rig.samples) >= samples_before + 10)
    finally:
        await _stop(task)

    assert rig.poller.health is Health.OK
    assert len(rig.faults) == 1
    resumed = rig.samples[samples_before:]
    assert all(sample.t_s > attached_s for sample in resumed)
    # Taken up at the next re-initialisation attempt, within the capped backoff.
    assert resumed[0].t_s - attached_s < REINIT_BACKOFF_MAX_S + 1.0
    assert resumed[0].reading.pressure_pa == pytest.approx(PRESSURE_PA, abs=50.0)


async def test_a_chip_that_never_yields_a_sample_is_retried_with_backoff() -> None:
    """Below the BMP3's 30 kPa floor every read is out of range although the chip
    initialises fine: re-initialisation must back off, not reset the chip forever."""
    rig = Rig(mode="normal", rate_hz=25.0, pressure_pa=20_000.0)
    start_s = rig.clock.now()
    task = asyncio.create_task(rig.poller.run())
    try:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            await rig.clock.until(lambda: rig.clock.now() > start_s + 120.0)
    finally:
        await _stop(task)
    assert rig.samples == []
    assert rig.poller.health is Health.DEGRADED
    assert "outside" in rig.poller.health_reason or "range" in rig.poller.health_reason
    # Backoff 0.5, 1, 2, ... capped at 30 s: about ten attempts in two minutes,
    # where retrying at once would make hundreds.
    assert 3 <= len(rig.faults) <= 12

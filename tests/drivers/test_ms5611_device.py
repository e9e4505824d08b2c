"""Ms5611Sensor against the command-level simulator, on a virtual clock."""

from __future__ import annotations

import errno
import random
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from hullwatch.drivers.errors import BusError, CalibrationError, MeasurementError, OutOfRangeError
from hullwatch.drivers.ms5611 import (
    MS5607,
    MS5611,
    OVERSAMPLING_RATIOS,
    RESET_RELOAD_TIME_S,
    Channel,
    Ms5611Sensor,
    Ms5611Settings,
    compensate_temperature,
    conversion_time_s,
    convert_command,
    crc4,
    parse_prom,
    prom_read_command,
    prom_with_crc,
)
from hullwatch.drivers.ms5611.commands import ADC_READ, RESET
from hullwatch.drivers.transports.sim_wire import Message
from hullwatch.hil.i2c_bus import SimulatedI2CBus
from hullwatch.hil.loopback import InProcessI2CBus
from hullwatch.hil.ms5611_sim import (
    DEFAULT_PROM,
    Ms5611Simulator,
    raw_pressure_for,
    raw_temperature_for,
)
from hullwatch.hil.virtual_clock import VirtualClock

ADDRESS = 0x77
BUS_NAME = "sim:/x.sock"


@dataclass
class Chamber:
    pressure_pa: float = 101_325.0
    temperature_c: float = 22.0

    def __call__(self, t_s: float) -> tuple[float, float]:
        return self.pressure_pa, self.temperature_c


@dataclass
class Rig:
    clock: VirtualClock = field(default_factory=lambda: VirtualClock(100.0))
    chamber: Chamber = field(default_factory=Chamber)
    wire: SimulatedI2CBus = field(default_factory=SimulatedI2CBus)
    sims: dict[int, Ms5611Simulator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bus = InProcessI2CBus(self.wire, name=BUS_NAME)

    @property
    def sim(self) -> Ms5611Simulator:
        return self.sims[ADDRESS]

    def attach(self, address: int = ADDRESS, *, seed: int = 1, **kwargs: object) -> Ms5611Simulator:
        sim = Ms5611Simulator(
            clock=self.clock.now,
            conditions=self.chamber,
            rng=random.Random(seed),
            **kwargs,  # type: ignore[arg-type]
        )
        self.wire.attach(address, sim)
        self.sims[address] = sim
        return sim

    def sensor(
        self,
        settings: Ms5611Settings | None = None,
        address: int = ADDRESS,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        **kwargs: object,
    ) -> Ms5611Sensor:
        return Ms5611Sensor(
            self.bus,
            address,
            settings or Ms5611Settings(),
            sleep=sleep or self.clock.sleep,
            **kwargs,  # type: ignore[arg-type]
        )

    async def read_every(self, sensor: Ms5611Sensor, period_s: float, count: int) -> list[float]:
        pressures = []
        for _ in range(count):
            await self.clock.sleep(period_s)
            pressures.append((await sensor.read()).pressure_pa)
        return pressures

    def commands(self, address: int = ADDRESS) -> list[tuple[float, int]]:
        return list(self.sims[address].recent_commands)


@pytest.fixture
def rig() -> Rig:
    rig = Rig()
    rig.attach()
    return rig


@pytest.fixture
def quiet_rig() -> Rig:
    rig = Rig()
    rig.attach(noise=False)
    return rig


class Sleeper:
    """The virtual clock's sleep, over after `factor` of the time asked (a timer firing early)."""

    def __init__(self, clock: VirtualClock, factor: float = 1.0) -> None:
        self.clock = clock
        self.factor = factor

    async def __call__(self, seconds: float) -> None:
        await self.clock.sleep(seconds * self.factor)


# --- measuring ---


async def test_reads_the_true_pressure_within_the_datasheet_noise(rig: Rig) -> None:
    sensor = rig.sensor(Ms5611Settings(oversampling=1024, rate_hz=10.0))
    await sensor.initialise()
    pressures = await rig.read_every(sensor, 0.1, 400)
    sigma = MS5611.pressure_noise_rms_pa(1024)  # 2.7 Pa
    assert statistics.fmean(pressures) == pytest.approx(101_325.0, abs=4 * sigma / 20)
    assert 0.85 * sigma < statistics.stdev(pressures) < 1.15 * sigma


@pytest.mark.parametrize(
    ("pressure_pa", "temperature_c"),
    [(101_325.0, 22.0), (70_123.4, 5.0), (100_000.0, -30.0), (1_500.0, 80.0), (119_000.0, -39.0)],
)
async def test_without_noise_reads_the_truth_within_a_pascal(
    quiet_rig: Rig, pressure_pa: float, temperature_c: float
) -> None:
    quiet_rig.chamber.pressure_pa = pressure_pa
    quiet_rig.chamber.temperature_c = temperature_c
    sensor = quiet_rig.sensor()
    await sensor.initialise()
    reading = await sensor.read()
    assert reading.pressure_pa == pytest.approx(pressure_pa, abs=1.0)
    assert reading.temperature_c == pytest.approx(temperature_c, abs=0.01)


async def test_ms5607_end_to_end() -> None:
    rig = Rig()
    rig.attach(noise=False, variant=MS5607)
    sensor = rig.sensor(variant=MS5607)
    assert sensor.description == f"MS5607 at 0x77 on {BUS_NAME}"
    await sensor.initialise()
    reading = await sensor.read()
    assert reading.pressure_pa == pytest.approx(101_325.0, abs=1.0)


async def test_a_wrong_variant_shows_as_out_of_range_pressure(quiet_rig: Rig) -> None:
    # An MS5611 configured as MS5607: no identity register to catch it, but
    # OFF and SENS double, and so does the pressure.
    sensor = quiet_rig.sensor(variant=MS5607)
    await sensor.initialise()
    with pytest.raises(OutOfRangeError, match=r"pressure 20\d{4}\.00 Pa outside"):
        await sensor.read()


@pytest.mark.parametrize("oversampling", OVERSAMPLING_RATIOS)
async def test_each_oversampling_waits_at_least_the_datasheet_conversion_time(
    quiet_rig: Rig, oversampling: int
) -> None:
    sensor = quiet_rig.sensor(Ms5611Settings(oversampling=oversampling))
    await sensor.initialise()
    quiet_rig.sim.recent_commands.clear()
    start_s = quiet_rig.clock.now()
    reading = await sensor.read()
    elapsed_s = quiet_rig.clock.now() - start_s
    assert reading.pressure_pa == pytest.approx(101_325.0, abs=1.0)
    commands = quiet_rig.commands()
    assert [c for _, c in commands] == [
        convert_command(Channel.D2, oversampling),
        ADC_READ,
        convert_command(Channel.D1, oversampling),
        ADC_READ,
    ]
    for (converted_s, _), (read_s, _) in (commands[0:2], commands[2:4]):
        assert read_s - converted_s >= conversion_time_s(oversampling)
    assert elapsed_s >= 2 * conversion_time_s(oversampling)


async def test_initialise_waits_for_the_prom_reload(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor()
    await sensor.initialise()
    commands = quiet_rig.commands()
    assert commands[0][1] == RESET
    assert [c for _, c in commands[1:]] == [prom_read_command(n) for n in range(8)]
    assert commands[1][0] - commands[0][0] >= RESET_RELOAD_TIME_S
    assert sensor.calibration == parse_prom(DEFAULT_PROM)


async def test_temperature_every_n_reuses_the_last_temperature(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor(Ms5611Settings(temperature_every_n=4))
    await sensor.initialise()
    quiet_rig.sim.recent_commands.clear()
    readings = []
    for i in range(8):
        quiet_rig.chamber.temperature_c = 22.0 + i  # 1 K per read: far too fast for n = 4
        readings.append(await sensor.read())
    sent = [c for _, c in quiet_rig.commands()]
    assert sent.count(convert_command(Channel.D2, 4096)) == 2
    assert sent.count(convert_command(Channel.D1, 4096)) == 8
    temperatures = [r.temperature_c for r in readings]
    assert temperatures == pytest.approx([22.0] * 4 + [26.0] * 4, abs=0.01)
    errors_pa = [r.pressure_pa - 101_325.0 for r in readings]
    # Fresh temperature: exact. Stale by k kelvin: P is off by about k times
    # the offset's temperature coefficient (~190 Pa/K with these coefficients).
    for i in (0, 4):
        assert abs(errors_pa[i]) <= 1.0
    for i in (1, 2, 3, 5, 6, 7):
        assert abs(errors_pa[i]) > 150.0 * (i % 4)


async def test_two_chips_keep_their_own_calibration() -> None:
    rig = Rig()
    other = list(DEFAULT_PROM)
    other[1] += 150  # C1, sensitivity
    other[4] -= 300  # C4, offset temperature coefficient
    rig.attach(0x76, noise=False, prom=prom_with_crc(other))
    rig.attach(0x77, noise=False)
    first, second = rig.sensor(address=0x76), rig.sensor(address=0x77)
    await first.initialise()
    await second.initialise()
    assert first.calibration != second.calibration
    for sensor in (first, second, first):
        reading = await sensor.read()
        assert reading.pressure_pa == pytest.approx(101_325.0, abs=1.0)


async def test_simulator_is_deterministic_for_a_seed() -> None:
    async def run(seed: int) -> list[float]:
        rig = Rig()
        rig.attach(seed=seed)
        sensor = rig.sensor(Ms5611Settings(rate_hz=10.0))
        await sensor.initialise()
        return await rig.read_every(sensor, 0.1, 20)

    assert await run(7) == await run(7)
    assert await run(7) != await run(8)


# --- faults ---


async def test_a_driver_that_reads_too_early_gets_zero_and_a_measurement_error(
    quiet_rig: Rig,
) -> None:
    sleep = Sleeper(quiet_rig.clock)
    sensor = quiet_rig.sensor(sleep=sleep)
    await sensor.initialise()
    sleep.factor = 0.8
    with pytest.raises(
        MeasurementError, match=r"ADC read returned 0: conversion not finished \(D2, temperature\)"
    ) as caught:
        await sensor.read()
    assert caught.value.retriable
    assert caught.value.address == ADDRESS
    assert caught.value.bus == BUS_NAME


async def test_corrupted_prom_is_a_calibration_error(quiet_rig: Rig) -> None:
    quiet_rig.sim.corrupt_prom(3, DEFAULT_PROM[3] ^ 0x0100)  # one bit of C3
    words = list(DEFAULT_PROM)
    words[3] ^= 0x0100
    sensor = quiet_rig.sensor()
    with pytest.raises(CalibrationError) as caught:
        await sensor.initialise()
    message = str(caught.value)
    assert f"expected 0x{crc4(words):X}" in message
    assert f"stored 0x{DEFAULT_PROM[7] & 0xF:X}" in message
    assert caught.value.address == ADDRESS
    assert caught.value.bus == BUS_NAME
    assert not caught.value.retriable
    with pytest.raises(RuntimeError, match="initialise"):
        _ = sensor.calibration
    with pytest.raises(RuntimeError, match="initialise"):
        await sensor.read()
    quiet_rig.sim.set_prom(DEFAULT_PROM)  # a replaced part
    await sensor.initialise()
    assert (await sensor.read()).pressure_pa == pytest.approx(101_325.0, abs=1.0)


async def test_blank_prom_is_a_calibration_error(quiet_rig: Rig) -> None:
    quiet_rig.sim.set_prom([0] * 8)
    with pytest.raises(CalibrationError, match="all 0x0000"):
        await quiet_rig.sensor().initialise()


async def test_a_driver_that_skips_the_reload_wait_is_nacked(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor(sleep=Sleeper(quiet_rig.clock, 0.0))
    with pytest.raises(BusError) as caught:
        await sensor.initialise()
    assert caught.value.errno == errno.EREMOTEIO
    assert caught.value.retriable


@pytest.mark.parametrize(
    ("pressure_pa", "temperature_c", "message"),
    [
        (500.0, 20.0, r"pressure 50\d\.00 Pa outside the specified 1000\.\.120000 Pa"),
        (125_000.0, 20.0, r"pressure 12500\d\.00 Pa outside"),
        (101_325.0, 90.0, r"temperature 90\.00 °C outside the specified -40\.\.85 °C"),
    ],
)
async def test_out_of_range_is_an_error(
    quiet_rig: Rig, pressure_pa: float, temperature_c: float, message: str
) -> None:
    sensor = quiet_rig.sensor()
    await sensor.initialise()
    quiet_rig.chamber.pressure_pa = pressure_pa
    quiet_rig.chamber.temperature_c = temperature_c
    with pytest.raises(OutOfRangeError, match=message) as caught:
        await sensor.read()
    assert caught.value.retriable
    quiet_rig.chamber.pressure_pa, quiet_rig.chamber.temperature_c = 101_325.0, 22.0
    assert (await sensor.read()).temperature_c == pytest.approx(22.0, abs=0.01)


async def test_no_device_at_the_address_is_a_bus_error(rig: Rig) -> None:
    with pytest.raises(BusError) as caught:
        await rig.sensor(address=0x76).initialise()
    assert caught.value.errno == errno.EREMOTEIO
    assert caught.value.address == 0x76


async def test_reading_before_initialise_is_a_programming_error(rig: Rig) -> None:
    with pytest.raises(RuntimeError, match="initialise"):
        await rig.sensor().read()


def test_construction_checks_address_and_settings(rig: Rig) -> None:
    assert rig.sensor().description == f"MS5611 at 0x77 on {BUS_NAME}"
    with pytest.raises(ValueError, match=r"only at 0x76 or 0x77 .*not 0x40"):
        rig.sensor(address=0x40)
    with pytest.raises(ValueError, match="oversampling ratio 8192"):
        Ms5611Settings(oversampling=8192)
    with pytest.raises(ValueError, match=r"cannot sample at 60 Hz .*at most 50\.3 Hz"):
        Ms5611Settings(oversampling=4096, rate_hz=60.0)
    Ms5611Settings(oversampling=4096, rate_hz=50.0)
    Ms5611Settings(oversampling=256, rate_hz=750.0)
    with pytest.raises(ValueError, match="positive"):
        Ms5611Settings(rate_hz=0.0)
    with pytest.raises(ValueError, match="temperature_every_n"):
        Ms5611Settings(temperature_every_n=0)


# --- the simulator as the datasheet describes the chip ---


def adc(rig: Rig) -> int:
    return int.from_bytes(
        rig.wire.transfer([Message.write(ADDRESS, bytes([ADC_READ])), Message.read_of(ADDRESS, 3)]),
        "big",
    )


def command(rig: Rig, byte: int) -> None:
    rig.wire.transfer([Message.write(ADDRESS, bytes([byte]))])


def test_adc_read_is_zero_until_the_conversion_ends_then_once(quiet_rig: Rig) -> None:
    cal = parse_prom(DEFAULT_PROM)
    expected = raw_pressure_for(101_325.0, raw_temperature_for(22.0, cal), cal)
    assert adc(quiet_rig) == 0  # nothing converted yet
    command(quiet_rig, convert_command(Channel.D1, 4096))
    quiet_rig.clock.advance(conversion_time_s(4096))
    assert adc(quiet_rig) == expected
    assert adc(quiet_rig) == 0  # read twice


def test_adc_read_during_a_conversion_is_zero_and_spoils_it(quiet_rig: Rig) -> None:
    command(quiet_rig, convert_command(Channel.D1, 4096))
    quiet_rig.clock.advance(conversion_time_s(4096) - 1e-4)
    assert adc(quiet_rig) == 0
    assert quiet_rig.sim.spoiled_conversions == 0  # it goes on to its end
    quiet_rig.clock.advance(1e-4)
    cal = parse_prom(DEFAULT_PROM)
    assert adc(quiet_rig) != raw_pressure_for(101_325.0, raw_temperature_for(22.0, cal), cal)
    assert quiet_rig.sim.spoiled_conversions == 1


def test_a_conversion_command_during_a_conversion_spoils_it(quiet_rig: Rig) -> None:
    command(quiet_rig, convert_command(Channel.D2, 256))
    command(quiet_rig, convert_command(Channel.D1, 4096))  # acknowledged, not started
    quiet_rig.clock.advance(conversion_time_s(256))
    cal = parse_prom(DEFAULT_PROM)
    value = adc(quiet_rig)
    assert value != 0
    assert value != raw_temperature_for(22.0, cal)
    assert quiet_rig.sim.spoiled_conversions == 1


def test_the_result_is_latched_at_the_end_of_the_conversion() -> None:
    rig = Rig()
    start_s = rig.clock.now()
    warming = Ms5611Simulator(
        clock=rig.clock.now,
        conditions=lambda t_s: (101_325.0, 20.0 + 1000.0 * (t_s - start_s)),  # 1 K per ms
        noise=False,
    )
    rig.wire.attach(ADDRESS, warming)
    command(rig, convert_command(Channel.D2, 4096))
    rig.clock.advance(0.020)  # read 11 ms after the conversion ended
    # 20 °C at the command, 29.04 °C at the end of the conversion, 40 °C at the read.
    terms = compensate_temperature(adc(rig), parse_prom(DEFAULT_PROM))
    assert terms.temperature == pytest.approx(2904, abs=1)


async def test_reset_makes_the_chip_nack_for_the_reload_time(quiet_rig: Rig) -> None:
    await quiet_rig.bus.write(ADDRESS, bytes([RESET]))
    assert quiet_rig.sim.busy
    with pytest.raises(BusError) as caught:
        await quiet_rig.bus.write_read(ADDRESS, bytes([prom_read_command(1)]), 2)
    assert caught.value.errno == errno.EREMOTEIO
    quiet_rig.clock.advance(RESET_RELOAD_TIME_S)
    assert not quiet_rig.sim.busy
    word = await quiet_rig.bus.write_read(ADDRESS, bytes([prom_read_command(1)]), 2)
    assert word == DEFAULT_PROM[1].to_bytes(2, "big")  # MSB first


def test_reset_abandons_a_conversion(quiet_rig: Rig) -> None:
    command(quiet_rig, convert_command(Channel.D1, 256))
    command(quiet_rig, RESET)
    quiet_rig.clock.advance(RESET_RELOAD_TIME_S)
    assert adc(quiet_rig) == 0


def test_prom_words_and_odd_commands(quiet_rig: Rig) -> None:
    for n, word in enumerate(DEFAULT_PROM):
        data = quiet_rig.wire.transfer(
            [Message.write(ADDRESS, bytes([prom_read_command(n)])), Message.read_of(ADDRESS, 2)]
        )
        assert data == word.to_bytes(2, "big")
    command(quiet_rig, 0x4A)  # OSR 8192 is an MS5637 command: ignored
    quiet_rig.clock.advance(0.05)
    assert adc(quiet_rig) == 0
    assert (
        quiet_rig.wire.transfer([Message.read_of(ADDRESS, 2)]) == b"\x00\x00"
    )  # no answer pending


def test_corrupt_prom_keeps_the_crc(quiet_rig: Rig) -> None:
    quiet_rig.sim.corrupt_prom(6, 0x1234)
    assert quiet_rig.sim.prom[6] == 0x1234
    assert quiet_rig.sim.prom[7] == DEFAULT_PROM[7]
    with pytest.raises(ValueError, match="word index 8"):
        quiet_rig.sim.corrupt_prom(8, 0)
    with pytest.raises(ValueError, match="8 words"):
        quiet_rig.sim.set_prom([1, 2, 3])

"""Bmp3Sensor against the register-level simulator, on a simulated clock."""

from __future__ import annotations

import dataclasses
import errno
import random
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

import pytest

from hullwatch.drivers.bmp3 import BMP388, BMP390, Bmp3RawCalibration, Bmp3Sensor, Bmp3Settings
from hullwatch.drivers.bmp3 import device as bmp3_device
from hullwatch.drivers.bmp3 import registers as r
from hullwatch.drivers.errors import (
    BusError,
    CalibrationError,
    ConfigurationRejectedError,
    MeasurementError,
    OutOfRangeError,
    WrongChipError,
)
from hullwatch.drivers.transports.sim_wire import Message
from hullwatch.hil.bmp3_sim import DEFAULT_NVM, Bmp3Simulator
from hullwatch.hil.i2c_bus import SimulatedI2CBus
from hullwatch.hil.loopback import InProcessI2CBus


def filtered_x16(**changes: Any) -> Bmp3Settings:
    """The settings these tests were written for, x16/x2 with IIR 3, with `changes` (the
    driver's own default is x8/x1 with the IIR filter off)."""
    chosen = {"pressure_oversampling": 16, "temperature_oversampling": 2, "iir_coefficient": 3}
    return Bmp3Settings(**{**chosen, **changes})


ADDRESS = 0x77
BUS_NAME = "sim:/x.sock"


class ManualClock:
    """Simulated time; `sleep` advances it instead of waiting."""

    def __init__(self) -> None:
        self.now_s = 100.0
        self.frozen = False  # a sleep that returns at once, as if the timer misfired

    def __call__(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        if not self.frozen:
            self.now_s += seconds


@dataclass
class Chamber:
    pressure_pa: float = 101_325.0
    temperature_c: float = 22.0

    def __call__(self, t_s: float) -> tuple[float, float]:
        return self.pressure_pa, self.temperature_c


@dataclass
class Rig:
    clock: ManualClock = field(default_factory=ManualClock)
    chamber: Chamber = field(default_factory=Chamber)
    wire: SimulatedI2CBus = field(default_factory=SimulatedI2CBus)
    sims: dict[int, Bmp3Simulator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bus = InProcessI2CBus(self.wire, name=BUS_NAME)

    @property
    def sim(self) -> Bmp3Simulator:
        return self.sims[ADDRESS]

    def attach(
        self, address: int = ADDRESS, *, seed: int = 1, settle: bool = True, **kwargs: object
    ) -> Bmp3Simulator:
        """Power a simulated chip up at `address`; `settle` lets its start-up time pass."""
        sim = Bmp3Simulator(
            clock=self.clock,
            conditions=self.chamber,
            rng=random.Random(seed),
            **kwargs,  # type: ignore[arg-type]
        )
        self.wire.attach(address, sim)
        self.sims[address] = sim
        if settle:
            self.clock.now_s += 0.01
        return sim

    def sensor(
        self, settings: Bmp3Settings | None = None, address: int = ADDRESS, **kwargs: str
    ) -> Bmp3Sensor:
        return Bmp3Sensor(
            self.bus, address, settings or filtered_x16(), sleep=self.clock.sleep, **kwargs
        )

    async def read_every(self, sensor: Bmp3Sensor, period_s: float, count: int) -> list[float]:
        pressures = []
        for _ in range(count):
            await self.clock.sleep(period_s)
            reading = await sensor.read()
            assert reading is not None
            pressures.append(reading.pressure_pa)
        return pressures


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


# --- measuring ---


async def test_normal_mode_reads_true_pressure_within_datasheet_noise(rig: Rig) -> None:
    sensor = rig.sensor(filtered_x16(pressure_oversampling=8, temperature_oversampling=1,
                                     iir_coefficient=0, rate_hz=10.0))  # fmt: skip
    await sensor.initialise()
    pressures = await rig.read_every(sensor, 0.1, 400)
    sigma = BMP388.pressure_noise_rms_pa(8)  # 2.3 Pa, IIR off
    assert statistics.fmean(pressures) == pytest.approx(101_325.0, abs=4 * sigma / 20)
    assert 0.85 * sigma < statistics.stdev(pressures) < 1.15 * sigma


async def test_iir_filter_gives_the_datasheet_filtered_noise(rig: Rig) -> None:
    sensor = rig.sensor(filtered_x16(pressure_oversampling=1, temperature_oversampling=1,
                                     iir_coefficient=3, rate_hz=10.0))  # fmt: skip
    await sensor.initialise()
    pressures = await rig.read_every(sensor, 0.1, 400)  # 20 conversions apart at 200 Hz
    assert statistics.fmean(pressures) == pytest.approx(101_325.0, abs=0.5)
    assert 0.85 * 2.5 < statistics.stdev(pressures) < 1.15 * 2.5  # table: x1, IIR 3 -> 2.5 Pa


@pytest.mark.parametrize("chip_id", [0x50, 0x60])
@pytest.mark.parametrize(
    ("pressure_pa", "temperature_c"),
    [(101_325.0, 22.0), (35_000.0, -30.0), (120_000.0, 80.0), (70_000.5, 5.25)],
)
async def test_without_noise_readings_match_conditions_within_0_05_pa(
    chip_id: int, pressure_pa: float, temperature_c: float
) -> None:
    rig = Rig(chamber=Chamber(pressure_pa, temperature_c))
    rig.attach(chip_id=chip_id, noise=False)
    sensor = rig.sensor()
    await sensor.initialise()
    for _ in range(5):
        await rig.clock.sleep(1.0)
        reading = await sensor.read()
        assert reading is not None
        assert reading.pressure_pa == pytest.approx(pressure_pa, abs=0.05)
        assert reading.temperature_c == pytest.approx(temperature_c, abs=1e-3)


async def test_normal_mode_returns_none_until_a_new_conversion(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor(filtered_x16(rate_hz=1.0))  # x16/x2: 37.1 ms, ODR 25 Hz
    await sensor.initialise()
    assert await sensor.read() is not None  # the first conversion finished during initialise
    assert await sensor.read() is None
    await quiet_rig.clock.sleep(0.01)
    assert await sensor.read() is None
    quiet_rig.chamber.pressure_pa = 100_000.0
    await quiet_rig.clock.sleep(0.04)
    reading = await sensor.read()
    assert reading is not None
    assert reading.pressure_pa < 101_325.0  # the new conversion, moving through the IIR


async def test_polling_faster_than_the_odr_is_not_a_fault(quiet_rig: Rig) -> None:
    settings = filtered_x16(pressure_oversampling=32, temperature_oversampling=32, rate_hz=1.0)
    sensor = quiet_rig.sensor(settings)  # 130 ms per measurement: ODR 6.25 Hz
    await sensor.initialise()
    readings = []
    for _ in range(200):  # 2 s of polls every 10 ms
        await quiet_rig.clock.sleep(0.01)
        readings.append(await sensor.read())
    fresh = [reading for reading in readings if reading is not None]
    assert len(fresh) == pytest.approx(2.0 * 6.25, abs=1)
    assert all(reading.pressure_pa == pytest.approx(101_325.0, abs=0.05) for reading in fresh)


async def test_normal_mode_catches_up_after_a_long_gap(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor(filtered_x16(iir_coefficient=127, rate_hz=1.0))
    await sensor.initialise()
    quiet_rig.chamber.pressure_pa = 95_000.0
    await quiet_rig.clock.sleep(3600.0)  # 90 000 conversions, stepped only as far as they matter
    reading = await sensor.read()
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(95_000.0, abs=0.05)


async def test_forced_mode_measures_on_each_read_and_returns_to_sleep(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor(filtered_x16(mode="forced", iir_coefficient=0, rate_hz=1.0))
    await sensor.initialise()
    assert quiet_rig.sim.mode == "sleep"
    for pressure_pa in (101_325.0, 100_000.0, 99_000.25):
        quiet_rig.chamber.pressure_pa = pressure_pa
        await quiet_rig.clock.sleep(1.0)
        reading = await sensor.read()
        assert reading is not None
        assert reading.pressure_pa == pytest.approx(pressure_pa, abs=0.05)
        assert quiet_rig.sim.mode == "sleep"


async def test_forced_mode_raises_when_the_result_is_not_ready(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor(filtered_x16(mode="forced", rate_hz=1.0))
    await sensor.initialise()
    quiet_rig.clock.frozen = True
    with pytest.raises(MeasurementError, match="not ready") as caught:
        await sensor.read()
    assert caught.value.retriable


async def test_sensors_keep_their_own_calibration() -> None:
    rig = Rig(chamber=Chamber(98_765.4, 18.5))
    raw = Bmp3RawCalibration.unpack(DEFAULT_NVM)
    other = dataclasses.replace(raw, par_t1=raw.par_t1 + 120, par_p5=raw.par_p5 - 150)
    rig.attach(0x76, noise=False, nvm=other.pack())
    rig.attach(0x77, noise=False)
    first, second = rig.sensor(address=0x76), rig.sensor(address=0x77)
    await first.initialise()
    await second.initialise()
    assert first.calibration != second.calibration
    await rig.clock.sleep(1.0)
    for sensor in (first, second):
        reading = await sensor.read()
        assert reading is not None
        assert reading.pressure_pa == pytest.approx(98_765.4, abs=0.05)


async def test_out_of_range_pressure_is_an_error_naming_the_value(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor()
    await sensor.initialise()
    quiet_rig.chamber.pressure_pa = 20_000.0
    await quiet_rig.clock.sleep(5.0)  # well past the IIR filter's settling
    with pytest.raises(
        OutOfRangeError, match=r"outside the specified 30000\.\.125000 Pa"
    ) as caught:
        await sensor.read()
    found = re.search(r"pressure (\S+) Pa", str(caught.value))
    assert found is not None
    assert float(found.group(1)) == pytest.approx(20_000.0, abs=0.1)
    assert caught.value.retriable
    assert caught.value.address == ADDRESS


async def test_out_of_range_temperature_is_an_error(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor()
    await sensor.initialise()
    quiet_rig.chamber.temperature_c = 90.0
    await quiet_rig.clock.sleep(5.0)
    with pytest.raises(OutOfRangeError, match=r"temperature 90\.00 °C outside"):
        await sensor.read()


async def test_skipped_measurement_is_an_error(quiet_rig: Rig) -> None:
    sensor = quiet_rig.sensor()
    await sensor.initialise()
    # Someone turns the temperature channel off: temperature DATA now reads 0x800000.
    await quiet_rig.bus.write(ADDRESS, bytes([r.REG_PWR_CTRL, 0x31]))
    await quiet_rig.clock.sleep(1.0)
    with pytest.raises(MeasurementError, match="skipped measurement"):
        await sensor.read()


# --- probing ---


async def test_wrong_chip_id_names_expected_and_found() -> None:
    rig = Rig()
    rig.attach(chip_id=0x58)  # a BMP280 answering at the address
    sensor = rig.sensor()
    with pytest.raises(WrongChipError) as caught:
        await sensor.initialise()
    assert "expected BMP388 (0x50) or BMP390 (0x60), got 0x58" in str(caught.value)
    assert caught.value.bus == BUS_NAME
    assert caught.value.address == ADDRESS
    assert not caught.value.retriable


async def test_bmp390_is_accepted_when_bmp388_was_expected() -> None:
    rig = Rig()
    rig.attach(chip_id=0x60, noise=False)
    sensor = rig.sensor(expected_chip="bmp388")
    assert sensor.description == f"BMP388 at 0x77 on {BUS_NAME}"
    await sensor.initialise()
    assert sensor.variant is BMP390
    assert sensor.description == f"BMP390 at 0x77 on {BUS_NAME}"
    await rig.clock.sleep(1.0)
    assert await sensor.read() is not None


async def test_initialise_waits_out_the_power_on_start_up_time() -> None:
    rig = Rig()
    sim = rig.attach(noise=False, settle=False)  # initialise right after power-on
    sensor = rig.sensor()
    await sensor.initialise()
    assert sim.mode == "normal"
    await rig.clock.sleep(1.0)
    assert await sensor.read() is not None


async def test_a_chip_that_never_gets_ready_is_reported(rig: Rig) -> None:
    rig.sim.power_on_reset()
    rig.clock.frozen = True  # its start-up never ends
    with pytest.raises(MeasurementError, match="cmd_rdy"):
        await rig.sensor().initialise()


async def test_no_device_at_the_address_is_a_bus_error(rig: Rig) -> None:
    sensor = rig.sensor(address=0x76)
    with pytest.raises(BusError) as caught:
        await sensor.initialise()
    assert caught.value.errno == errno.EREMOTEIO
    assert caught.value.address == 0x76
    assert caught.value.retriable


@pytest.mark.parametrize(("fill", "why"), [(0x00, "all 0x00"), (0xFF, "all 0xFF")])
async def test_blank_nvm_is_a_calibration_error(rig: Rig, fill: int, why: str) -> None:
    rig.sim.set_nvm(bytes([fill]) * r.NVM_LENGTH)
    sensor = rig.sensor()
    with pytest.raises(CalibrationError, match=why) as caught:
        await sensor.initialise()
    assert caught.value.address == ADDRESS
    assert caught.value.bus == BUS_NAME
    with pytest.raises(RuntimeError):
        _ = sensor.calibration


async def test_chip_rejecting_osr_for_odr_is_configuration_rejected(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A driver that got the ODR arithmetic wrong: x32/x32 (130 ms) at 200 Hz.
    monkeypatch.setattr(bmp3_device, "odr_code_for_rate", lambda rate_hz, meas_s: 0)
    settings = filtered_x16(pressure_oversampling=32, temperature_oversampling=32, rate_hz=1.0)
    sensor = rig.sensor(settings)
    with pytest.raises(ConfigurationRejectedError, match="conf_err") as caught:
        await sensor.initialise()
    assert "OSR x32/x32 with ODR 200 Hz" in str(caught.value)
    assert rig.sim.mode == "sleep"


class IgnoresWritesTo:
    """An I2C device wrapper that drops writes to one register, like a clone part."""

    def __init__(self, device: Bmp3Simulator, register: int) -> None:
        self.device = device
        self.register = register

    def on_write(self, data: bytes) -> None:
        pairs = [(reg, value) for reg, value in zip(data[0::2], data[1::2], strict=False)]
        kept = bytes(b for reg, value in pairs if reg != self.register for b in (reg, value))
        self.device.on_write(kept or data[:1])

    def on_read(self, length: int) -> bytes:
        return self.device.on_read(length)


async def test_configuration_that_does_not_stick_is_rejected() -> None:
    rig = Rig()
    sim = rig.attach(noise=False)
    rig.wire.detach(ADDRESS)
    rig.wire.attach(ADDRESS, IgnoresWritesTo(sim, r.REG_CONFIG))
    # The IIR filter setting is lost silently: no ERR_REG flag, only the read-back notices.
    with pytest.raises(ConfigurationRejectedError, match="did not stick") as caught:
        await rig.sensor(filtered_x16(iir_coefficient=3)).initialise()
    assert (
        "wrote PWR_CTRL/OSR/ODR/CONFIG 0x33/0x0c/0x03/0x04, read back 0x33/0x0c/0x03/0x00"
        in str(caught.value)
    )


def test_settings_refuse_a_rate_the_oversampling_cannot_reach() -> None:
    with pytest.raises(ValueError, match=r"fastest normal-mode ODR is 6\.25 Hz"):
        filtered_x16(pressure_oversampling=32, temperature_oversampling=32, rate_hz=10.0)
    with pytest.raises(ValueError, match="forced mode"):
        filtered_x16(mode="forced", pressure_oversampling=32, temperature_oversampling=32,
                     rate_hz=10.0)  # fmt: skip
    with pytest.raises(ValueError, match="IIR coefficient 2"):
        filtered_x16(iir_coefficient=2)


async def test_fatal_error_flag_fails_initialise(rig: Rig) -> None:
    rig.sim.set_fatal_error(True)
    with pytest.raises(MeasurementError, match="fatal"):
        await rig.sensor().initialise()


async def test_reading_before_initialise_is_a_programming_error(rig: Rig) -> None:
    sensor = rig.sensor()
    with pytest.raises(RuntimeError, match="initialise"):
        await sensor.read()
    with pytest.raises(RuntimeError, match="initialise"):
        _ = sensor.variant


@pytest.mark.parametrize("how", ["power cycle", "soft reset by another master"])
async def test_chip_reset_is_reported_and_initialise_recovers(quiet_rig: Rig, how: str) -> None:
    sensor = quiet_rig.sensor(filtered_x16(rate_hz=1.0))
    await sensor.initialise()
    await quiet_rig.clock.sleep(1.0)
    assert await sensor.read() is not None
    if how == "power cycle":
        quiet_rig.sim.power_on_reset()
    else:
        await quiet_rig.bus.write(ADDRESS, bytes([r.REG_CMD, r.CMD_SOFT_RESET]))
    for _ in range(3):  # a few quiet polls are a slow chip, not yet a fault
        await quiet_rig.clock.sleep(1.0)
        assert await sensor.read() is None
    await quiet_rig.clock.sleep(1.0)
    with pytest.raises(MeasurementError, match=r"reset \(EVENT por_detected\)"):
        await sensor.read()
    await sensor.initialise()
    await quiet_rig.clock.sleep(1.0)
    reading = await sensor.read()
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(101_325.0, abs=0.05)


# --- the simulator as the datasheet describes the chip ---


async def test_register_pointer_persists_between_transactions(rig: Rig) -> None:
    rig.wire.transfer([Message.write(ADDRESS, bytes([r.REG_NVM]))])
    assert rig.wire.transfer([Message.read_of(ADDRESS, 3)]) == DEFAULT_NVM[:3]
    assert rig.wire.transfer([Message.read_of(ADDRESS, 2)]) == DEFAULT_NVM[3:5]


async def test_burst_read_auto_increments(rig: Rig) -> None:
    data = await rig.bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 4)
    assert data == bytes([0x50, 0x01, 0x00, r.STATUS_CMD_RDY])  # CHIP_ID, REV_ID, ERR, STATUS


async def test_burst_write_is_register_data_pairs_and_read_only_ignores(rig: Rig) -> None:
    await rig.bus.write(ADDRESS, bytes([r.REG_OSR, 0x0B, r.REG_ODR, 0x04, r.REG_CONFIG, 0x04]))
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_OSR]), 4) == bytes([0x0B, 0x04, 0, 0x04])
    await rig.bus.write(ADDRESS, bytes([r.REG_CHIP_ID, 0x12, r.REG_NVM, 0x00]))
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1) == b"\x50"
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_NVM]), 21) == DEFAULT_NVM


async def test_normal_mode_with_too_long_measurement_flags_conf_err(rig: Rig) -> None:
    # x32/x32 at 200 Hz; the chip stays in sleep, as reported on the Bosch forum (0x33 -> 0x03).
    await rig.bus.write(ADDRESS, bytes([r.REG_OSR, 0x2D, r.REG_ODR, 0x00, r.REG_PWR_CTRL, 0x33]))
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_ERR]), 1) == bytes([r.ERR_CONF])
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_ERR]), 1) == b"\x00"  # clear on read
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_PWR_CTRL]), 1) == b"\x03"


async def test_soft_reset_restores_defaults_and_reports_por(rig: Rig) -> None:
    await rig.bus.write(ADDRESS, bytes([r.REG_EVENT]))
    assert rig.wire.transfer([Message.read_of(ADDRESS, 1)]) == b"\x01"  # power-on
    assert rig.wire.transfer([Message.write(ADDRESS, bytes([r.REG_EVENT])),
                              Message.read_of(ADDRESS, 1)]) == b"\x00"  # fmt: skip
    await rig.bus.write(ADDRESS, bytes([r.REG_OSR, 0x2D]))
    await rig.bus.write(ADDRESS, bytes([r.REG_CMD, r.CMD_SOFT_RESET]))
    status = (await rig.bus.write_read(ADDRESS, bytes([r.REG_STATUS]), 1))[0]
    assert not status & r.STATUS_CMD_RDY  # still starting up
    await rig.bus.write(ADDRESS, bytes([r.REG_OSR, 0x2D]))  # lost: not ready
    await rig.clock.sleep(BMP388.start_up_time_s)
    status = (await rig.bus.write_read(ADDRESS, bytes([r.REG_STATUS]), 1))[0]
    assert status & r.STATUS_CMD_RDY
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_OSR]), 1) == b"\x02"
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_EVENT]), 1) == b"\x01"


async def test_unknown_command_sets_cmd_err_and_fifo_flush_does_not(rig: Rig) -> None:
    await rig.bus.write(ADDRESS, bytes([r.REG_CMD, r.CMD_FIFO_FLUSH]))
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_ERR]), 1) == b"\x00"
    await rig.bus.write(ADDRESS, bytes([r.REG_CMD, 0x55]))
    assert await rig.bus.write_read(ADDRESS, bytes([r.REG_ERR]), 1) == bytes([r.ERR_CMD])


async def test_data_ready_clears_when_data_is_read(quiet_rig: Rig) -> None:
    await quiet_rig.bus.write(ADDRESS, bytes([r.REG_PWR_CTRL, 0x13]))  # forced, both channels
    modes = [quiet_rig.sim.mode]
    await quiet_rig.clock.sleep(0.02)  # x4/x1 takes 10.9 ms
    modes.append(quiet_rig.sim.mode)
    assert modes == ["forced", "sleep"]
    status = (await quiet_rig.bus.write_read(ADDRESS, bytes([r.REG_STATUS]), 1))[0]
    assert status & r.STATUS_DRDY_PRESS
    assert status & r.STATUS_DRDY_TEMP
    await quiet_rig.bus.write_read(ADDRESS, bytes([r.REG_PRESSURE_DATA]), 3)
    status = (await quiet_rig.bus.write_read(ADDRESS, bytes([r.REG_STATUS]), 1))[0]
    assert not status & r.STATUS_DRDY_PRESS
    assert status & r.STATUS_DRDY_TEMP  # only the pressure registers were read


async def test_simulator_is_deterministic_for_a_seed() -> None:
    async def run(seed: int) -> list[float]:
        rig = Rig()
        rig.attach(seed=seed)
        sensor = rig.sensor(filtered_x16(rate_hz=10.0))
        await sensor.initialise()
        return await rig.read_every(sensor, 0.1, 20)

    assert await run(7) == await run(7)
    assert await run(7) != await run(8)

"""SimSMBus against a real `hullwatch sim` process: smbus2's methods, errors, a measurement."""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from smbus2 import i2c_msg

from hullwatch.drivers.bmp3 import (
    compensate_pressure_pa,
    compensate_temperature_c,
    measurement_time_s,
    odr_code_for_rate,
    parse_nvm,
    scale_calibration,
)
from hullwatch.drivers.bmp3 import registers as r
from hullwatch.hil.processes import ManagedProcess, start_simulator
from hullwatch.hil.smbus_compat import SimSMBus

pytestmark = pytest.mark.integration  # starts the simulator process

BMP388_ADDRESS = 0x77
BMP390_ADDRESS = 0x76
NO_DEVICE_ADDRESS = 0x42
PRESSURE_PA = 95_000.0
TEMPERATURE_K = 300.15

SCENARIO = f"""
seed = 3
[[zones]]
id = "chamber"
volume_m3 = 0.05
pressure_pa = {PRESSURE_PA}
temperature_k = {TEMPERATURE_K}
cycle_amplitude_k = 0.0
[[sensors]]
kind = "bmp388"
zone = "chamber"
address = {BMP388_ADDRESS:#04x}
[[sensors]]
kind = "bmp390"
zone = "chamber"
address = {BMP390_ADDRESS:#04x}
"""


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[ManagedProcess, Path]]:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO)
    socket_path = tmp_path / "sim.sock"
    process = start_simulator(scenario, socket_path, tmp_path / "sim.log")
    yield process, socket_path
    process.stop()
    # Shown by pytest only when the test failed.
    print("--- simulator log ---", process.log_text())


@pytest.fixture
def bus(simulator: tuple[ManagedProcess, Path]) -> Iterator[SimSMBus]:
    _, socket_path = simulator
    with SimSMBus(str(socket_path)) as opened:
        yield opened


def test_chip_ids_tell_the_two_variants_apart(bus: SimSMBus) -> None:
    assert bus.read_byte_data(BMP388_ADDRESS, r.REG_CHIP_ID) == 0x50
    assert bus.read_byte_data(BMP390_ADDRESS, r.REG_CHIP_ID) == 0x60


@pytest.mark.parametrize("address", [BMP388_ADDRESS, BMP390_ADDRESS])
def test_block_read_and_combined_transfer_return_the_same_nvm(bus: SimSMBus, address: int) -> None:
    block = bytes(bus.read_i2c_block_data(address, r.REG_NVM, r.NVM_LENGTH))
    write = i2c_msg.write(address, [r.REG_NVM])
    read = i2c_msg.read(address, r.NVM_LENGTH)
    bus.i2c_rdwr(write, read)

    assert bytes(read) == block
    assert len(block) == r.NVM_LENGTH
    parse_nvm(block)  # a plausible calibration, not zeros or a floating bus


def test_written_register_reads_back(bus: SimSMBus) -> None:
    assert bus.read_byte_data(BMP390_ADDRESS, r.REG_PWR_CTRL) == 0x00  # sleep after power-on
    for value in (r.PWR_CTRL_PRESS_EN, r.PWR_CTRL_PRESS_EN | r.PWR_CTRL_TEMP_EN):
        bus.write_byte_data(BMP390_ADDRESS, r.REG_PWR_CTRL, value)
        assert bus.read_byte_data(BMP390_ADDRESS, r.REG_PWR_CTRL) == value
    # The other chip on the bus was not touched.
    assert bus.read_byte_data(BMP388_ADDRESS, r.REG_PWR_CTRL) == 0x00


def test_register_pointer_persists_between_transfers(bus: SimSMBus) -> None:
    bus.read_i2c_block_data(BMP388_ADDRESS, r.REG_NVM, r.NVM_LENGTH)  # pointer now past the NVM

    bus.i2c_rdwr(i2c_msg.write(BMP388_ADDRESS, [r.REG_CHIP_ID]))  # only sets the pointer
    chip_id = i2c_msg.read(BMP388_ADDRESS, 1)
    bus.i2c_rdwr(chip_id)
    rev_id = i2c_msg.read(BMP388_ADDRESS, 1)
    bus.i2c_rdwr(rev_id)  # the pointer auto-incremented and was kept

    assert list(chip_id) == [0x50]
    assert list(rev_id) == [bus.read_byte_data(BMP388_ADDRESS, r.REG_REV_ID)]


def test_absent_address_raises_oserror_eremoteio(bus: SimSMBus) -> None:
    with pytest.raises(OSError, match="Remote I/O error") as raised:
        bus.read_byte_data(NO_DEVICE_ADDRESS, r.REG_CHIP_ID)
    assert raised.value.errno == errno.EREMOTEIO

    with pytest.raises(OSError, match="Remote I/O error") as raised:
        bus.i2c_rdwr(i2c_msg.write(NO_DEVICE_ADDRESS, [0x00]))
    assert raised.value.errno == errno.EREMOTEIO
    # A NACK is an answer, not a broken connection.
    assert bus.read_byte_data(BMP388_ADDRESS, r.REG_CHIP_ID) == 0x50


def test_block_length_over_32_is_refused_before_the_bus(bus: SimSMBus) -> None:
    with pytest.raises(ValueError, match="32"):
        bus.read_i2c_block_data(BMP388_ADDRESS, r.REG_NVM, 33)
    with pytest.raises(ValueError, match="32"):
        bus.write_i2c_block_data(BMP388_ADDRESS, r.REG_FIFO_WTM, [0] * 33)
    assert bus.read_byte_data(BMP388_ADDRESS, r.REG_CHIP_ID) == 0x50


def _wait_for_pressure_ready(bus: SimSMBus, address: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not bus.read_byte_data(address, r.REG_STATUS) & r.STATUS_DRDY_PRESS:
        if time.monotonic() > deadline:
            raise AssertionError(f"STATUS drdy_press not set within {timeout_s} s")
        time.sleep(0.005)


@pytest.mark.parametrize("address", [BMP388_ADDRESS, BMP390_ADDRESS])
def test_normal_mode_measurement_compensates_to_the_scenario(bus: SimSMBus, address: int) -> None:
    calibration = scale_calibration(
        parse_nvm(bytes(bus.read_i2c_block_data(address, r.REG_NVM, r.NVM_LENGTH)))
    )
    osr_p, osr_t = 8, 1
    odr = odr_code_for_rate(25.0, measurement_time_s(osr_p, osr_t))
    osr = r.OSR_CODES[osr_p] | r.OSR_CODES[osr_t] << r.OSR_TEMPERATURE_SHIFT
    bus.write_byte_data(address, r.REG_OSR, osr)
    bus.write_byte_data(address, r.REG_ODR, odr)
    bus.write_byte_data(address, r.REG_CONFIG, 0)  # IIR off
    normal = r.PWR_CTRL_PRESS_EN | r.PWR_CTRL_TEMP_EN | r.MODE_NORMAL << r.PWR_CTRL_MODE_SHIFT
    bus.write_byte_data(address, r.REG_PWR_CTRL, normal)
    assert bus.read_byte_data(address, r.REG_PWR_CTRL) == normal  # accepted, no conf_err
    assert bus.read_byte_data(address, r.REG_ERR) == 0

    _wait_for_pressure_ready(bus, address, timeout_s=2.0)
    write = i2c_msg.write(address, [r.REG_DATA])
    read = i2c_msg.read(address, r.DATA_LENGTH)
    bus.i2c_rdwr(write, read)
    data = bytes(read)

    raw_pressure = int.from_bytes(data[0:3], "little")
    raw_temperature = int.from_bytes(data[3:6], "little")
    assert r.SKIPPED_SAMPLE not in (raw_pressure, raw_temperature)
    temperature_c = compensate_temperature_c(raw_temperature, calibration)
    pressure_pa = compensate_pressure_pa(raw_pressure, temperature_c, calibration)
    assert pressure_pa == pytest.approx(PRESSURE_PA, abs=50.0)
    assert temperature_c + 273.15 == pytest.approx(TEMPERATURE_K, abs=0.5)

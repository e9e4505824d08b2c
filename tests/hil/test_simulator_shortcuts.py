"""The simulators' fast paths give what their plain paths give.

Accelerated runs read a register block at once, run a transfer without
building wire messages, keep the MS5611's temperature search results and
round D1 in integers; each of those must be invisible to the driver.
"""

from __future__ import annotations

import errno
import random
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hullwatch.drivers.bmp3 import registers as r
from hullwatch.drivers.ms5611.compensation import compensate_temperature
from hullwatch.drivers.ms5611.prom import Ms5611Prom
from hullwatch.drivers.ms5611.variants import MS5607, MS5611, Ms5611Variant
from hullwatch.drivers.transports.sim_wire import Message
from hullwatch.hil.bmp3_sim import Bmp3Simulator
from hullwatch.hil.i2c_bus import I2CTransferError, SimulatedI2CBus
from hullwatch.hil.ms5611_sim import DEFAULT_PROM, Ms5611Simulator, raw_pressure_for
from hullwatch.hil.ms5611_sim import raw_temperature_for as ms5611_raw_temperature_for
from hullwatch.hil.virtual_clock import VirtualClock

ADDRESS = 0x77


def _conditions(t_s: float) -> tuple[float, float]:
    return 101_325.0 - 2.0 * t_s, 22.0 + 0.05 * t_s


def _bmp3_twins() -> tuple[VirtualClock, Bmp3Simulator, Bmp3Simulator]:
    clock = VirtualClock()
    chips = [
        Bmp3Simulator(clock=clock.now, conditions=_conditions, rng=random.Random(3))
        for _ in range(2)
    ]
    clock.advance(0.01)
    for chip in chips:
        chip.on_write(bytes([r.REG_OSR, 0x03, r.REG_ODR, 0x02, r.REG_CONFIG, 0x04]))
        chip.on_write(bytes([r.REG_PWR_CTRL, 0x33]))
    return clock, chips[0], chips[1]


def test_a_burst_that_wraps_reads_as_the_same_registers_read_in_two_bursts() -> None:
    # A burst past 0x7F wraps to 0x00 and is read register by register; two
    # bursts that do not wrap are read as blocks. Both chips must agree on
    # every byte, on STATUS after DATA was read, and on clear-on-read registers.
    clock, whole, split = _bmp3_twins()
    for step in range(40):
        clock.advance(0.013)
        whole.on_write(bytes([0x7E]))
        wrapped = whole.on_read(2 + 0x12)  # CMD, 0x7F, then 0x00..0x11
        split.on_write(bytes([0x7E]))
        first = split.on_read(2)
        second = split.on_read(0x12)  # the pointer wrapped to 0x00
        assert wrapped == first + second, step
        for register in (r.REG_STATUS, r.REG_ERR, r.REG_EVENT, r.REG_INT_STATUS):
            assert whole.peek(register) == split.peek(register)


def test_reading_data_clears_the_ready_bits_and_status_reads_them_first() -> None:
    clock, chip, _ = _bmp3_twins()
    clock.advance(0.1)
    chip.on_write(bytes([r.REG_STATUS]))
    block = chip.on_read(1 + r.DATA_LENGTH)
    assert block[0] & (r.STATUS_DRDY_PRESS | r.STATUS_DRDY_TEMP)
    assert not chip.peek(r.REG_STATUS) & (r.STATUS_DRDY_PRESS | r.STATUS_DRDY_TEMP)
    chip.on_write(bytes([r.REG_CMD - 1]))
    assert chip.on_read(2)[1] == 0  # CMD is write-only


def test_the_direct_transfer_calls_match_a_combined_transfer() -> None:
    clock = VirtualClock()
    buses = []
    for _ in range(2):
        bus = SimulatedI2CBus()
        bus.attach(
            ADDRESS,
            Bmp3Simulator(clock=clock.now, conditions=_conditions, rng=random.Random(5)),
        )
        buses.append(bus)
    plain, direct = buses
    clock.advance(0.01)
    setup = bytes([r.REG_ODR, 0x02, r.REG_PWR_CTRL, 0x33])
    plain.transfer([Message.write(ADDRESS, setup)])
    direct.write(ADDRESS, setup)
    for _ in range(50):
        clock.advance(0.02)
        request = bytes([r.REG_STATUS])
        expected = plain.transfer(
            [Message.write(ADDRESS, request), Message.read_of(ADDRESS, 1 + r.DATA_LENGTH)]
        )
        assert direct.write_read(ADDRESS, request, 1 + r.DATA_LENGTH) == expected
    with pytest.raises(I2CTransferError) as write_nack:
        direct.write(0x42, b"\x00")
    with pytest.raises(I2CTransferError) as read_nack:
        direct.write_read(0x42, b"\x00", 1)
    assert write_nack.value.errno == read_nack.value.errno == errno.EREMOTEIO  # as `transfer`


def _d1_by_fractions(
    pressure_pa: float, d2: int, calibration: Ms5611Prom, variant: Ms5611Variant
) -> int:
    """The rational formula `raw_pressure_for` computes in integers."""
    terms = compensate_temperature(d2, calibration, variant)
    aim = terms.off + (Fraction(pressure_pa) + Fraction(1, 2)) * 2**15
    return round(aim * 2**21 / terms.sens)


@given(
    pressure_pa=st.one_of(
        st.floats(min_value=1_000.0, max_value=120_000.0),
        st.integers(min_value=1_000, max_value=120_000).map(lambda n: n + 0.5),
    ),
    d2=st.integers(min_value=7_000_000, max_value=10_000_000),
    variant=st.sampled_from([MS5611, MS5607]),
)
def test_d1_in_integers_is_the_rational_formula(
    pressure_pa: float, d2: int, variant: Ms5611Variant
) -> None:
    calibration = Ms5611Prom.from_words(DEFAULT_PROM)
    assert raw_pressure_for(pressure_pa, d2, calibration, variant) == _d1_by_fractions(
        pressure_pa, d2, calibration, variant
    )


def test_remembered_temperature_boundaries_give_the_searched_d2() -> None:
    calibration = Ms5611Prom.from_words(DEFAULT_PROM)
    remembered: dict[int, int] = {}
    rng = random.Random(7)
    for _ in range(300):
        temperature_c = rng.uniform(15.0, 30.0) if rng.random() < 0.5 else 22.0 + rng.random()
        searched = ms5611_raw_temperature_for(temperature_c, calibration)
        assert ms5611_raw_temperature_for(temperature_c, calibration, first_d2=remembered) == (
            searched
        )
    assert remembered  # it did remember


def _convert_d2(chips: list[Ms5611Simulator], clock: VirtualClock) -> list[int]:
    for chip in chips:
        chip.on_write(bytes([0x58]))  # CONVERT D2 (temperature), OSR 4096
    clock.advance(0.01)
    values = []
    for chip in chips:
        chip.on_write(bytes([0x00]))  # ADC READ
        values.append(int.from_bytes(chip.on_read(3), "big"))
    return values


def test_a_new_calibration_forgets_the_old_boundaries() -> None:
    # Conversions under a blanked PROM must not leave their D2 boundaries behind
    # for the restored one: the chip then answers as one that never lost it.
    clock = VirtualClock()
    fresh = Ms5611Simulator(clock=clock.now, conditions=_conditions, noise=False)
    reloaded = Ms5611Simulator(clock=clock.now, conditions=_conditions, noise=False)
    clock.advance(0.01)
    reloaded.blank_calibration()
    (blank_d2,) = _convert_d2([reloaded], clock)
    reloaded.restore_calibration()
    fresh_d2, restored_d2 = _convert_d2([fresh, reloaded], clock)
    assert restored_d2 == fresh_d2 != blank_d2

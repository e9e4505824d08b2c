"""BMP3 calibration parsing, compensation and timing, checked against independent sources."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hullwatch.drivers.bmp3 import (
    BMP388,
    BMP390,
    Bmp3RawCalibration,
    compensate_pressure_pa,
    compensate_temperature_c,
    measurement_time_s,
    odr_code_for_rate,
    parse_nvm,
    scale_calibration,
    variant_by_name,
    variant_for_chip_id,
)
from hullwatch.drivers.errors import CalibrationError
from hullwatch.hil.bmp3_sim import DEFAULT_NVM, raw_pressure_for, raw_temperature_for

# A real BMP388's NVM and one raw sample, with the values another implementation
# published for them (elixir-sensors/bmp3xx, test/bmp3xx/bmp388/calibration_test.exs).
PUBLISHED_NVM = bytes.fromhex("236B5849F65CFFCEF42300EA636E79F3F6AA4312C4")
PUBLISHED_DATA = bytes.fromhex("979F6D73D885")  # DATA_0..DATA_5
PUBLISHED_PRESSURE_PA = 100_876.00634692199
PUBLISHED_TEMPERATURE_C = 30.499314453874284

RAW = Bmp3RawCalibration.unpack(DEFAULT_NVM)
CAL = scale_calibration(RAW)


def _c_division(numerator: int, denominator: int) -> int:
    """C integer division, which truncates toward zero."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator >= 0) else -quotient


def bosch_integer_compensation(
    raw_pressure: int, raw_temperature: int, cal: Bmp3RawCalibration
) -> tuple[int, int]:
    """Bosch's 64-bit integer compensation (BMP3_SensorAPI without double precision,
    as in Linux bmp380_compensate_temp/_press), written out independently of the
    float code under test. Returns (pressure in 0.01 Pa, temperature in 0.01 °C).
    Python's >> on negative ints is the arithmetic shift the C code relies on.
    """
    d = raw_temperature - (cal.par_t1 << 8)
    t_fine = (((d * cal.par_t2) << 18) + d * d * cal.par_t3) >> 32  # T * 2^16
    temperature = (t_fine * 25) >> 14

    t_sq = t_fine * t_fine
    t_cube = ((t_sq >> 6) * t_fine) >> 8
    offset = (
        (cal.par_p5 << 47)
        + ((cal.par_p8 * t_cube) >> 5)
        + ((cal.par_p7 * t_sq) << 4)
        + ((cal.par_p6 * t_fine) << 22)
    )
    sensitivity = (
        ((cal.par_p1 - (1 << 14)) << 46)
        + ((cal.par_p4 * t_cube) >> 5)
        + ((cal.par_p3 * t_sq) << 2)
        + (cal.par_p2 - (1 << 14)) * (t_fine << 21)
    )
    linear = (sensitivity >> 24) * raw_pressure
    quad = ((cal.par_p10 * t_fine + (cal.par_p9 << 16)) * raw_pressure) >> 13
    quadratic = ((raw_pressure * _c_division(quad, 10)) >> 9) * 10
    cubic = (((cal.par_p11 * raw_pressure * raw_pressure) >> 16) * raw_pressure) >> 7
    pressure = (((offset >> 2) + linear + quadratic + cubic) * 25) >> 40
    return pressure, temperature


def test_nvm_decodes_the_published_dump() -> None:
    raw = Bmp3RawCalibration.unpack(PUBLISHED_NVM)
    assert raw == Bmp3RawCalibration(
        par_t1=27_427, par_t2=18_776, par_t3=-10, par_p1=-164, par_p2=-2866, par_p3=35,
        par_p4=0, par_p5=25_578, par_p6=31_086, par_p7=-13, par_p8=-10, par_p9=17_322,
        par_p10=18, par_p11=-60,
    )  # fmt: skip
    assert raw.pack() == PUBLISHED_NVM


def test_scaling_follows_datasheet_powers_of_two() -> None:
    assert CAL.t1 == 27_427 * 256
    assert CAL.t2 == 18_776 / 2**30
    assert CAL.p1 == (-164 - 16_384) / 2**20
    assert CAL.p2 == (-2866 - 16_384) / 2**29
    assert CAL.p5 == 25_578 * 8
    assert CAL.p11 == -60 / 2**65


def test_compensation_reproduces_published_values() -> None:
    cal = scale_calibration(Bmp3RawCalibration.unpack(PUBLISHED_NVM))
    raw_pressure = int.from_bytes(PUBLISHED_DATA[0:3], "little")
    raw_temperature = int.from_bytes(PUBLISHED_DATA[3:6], "little")
    temperature_c = compensate_temperature_c(raw_temperature, cal)
    pressure_pa = compensate_pressure_pa(raw_pressure, temperature_c, cal)
    assert temperature_c == pytest.approx(PUBLISHED_TEMPERATURE_C, abs=1e-9)
    assert pressure_pa == pytest.approx(PUBLISHED_PRESSURE_PA, abs=1e-6)


def test_integer_reference_reproduces_published_values() -> None:
    raw = Bmp3RawCalibration.unpack(PUBLISHED_NVM)
    pressure, temperature = bosch_integer_compensation(7_184_279, 8_771_699, raw)
    assert pressure == 10_087_600  # 100876.00 Pa
    assert temperature == 3049  # 30.49 °C


@settings(max_examples=300, deadline=None)
@given(
    pressure_pa=st.floats(30_000, 125_000),
    temperature_c=st.floats(-40, 85),
)
def test_float_compensation_agrees_with_bosch_integer_code(
    pressure_pa: float, temperature_c: float
) -> None:
    raw_t = round(raw_temperature_for(temperature_c, CAL))
    t_c = compensate_temperature_c(raw_t, CAL)
    raw_p = round(raw_pressure_for(pressure_pa, t_c, CAL))
    p_int, t_int = bosch_integer_compensation(raw_p, raw_t, RAW)
    # The integer code truncates to 0.01 °C and carries ~1e-2 Pa of rounding.
    assert t_int / 100 == pytest.approx(t_c, abs=0.0101)
    assert p_int / 100 == pytest.approx(compensate_pressure_pa(raw_p, t_c, CAL), abs=0.05)


@settings(max_examples=500, deadline=None)
@given(
    pressure_pa=st.floats(30_000, 125_000),
    temperature_c=st.floats(-40, 85),
)
def test_inverting_then_compensating_gives_back_the_conditions(
    pressure_pa: float, temperature_c: float
) -> None:
    raw_t = round(raw_temperature_for(temperature_c, CAL))
    t_c = compensate_temperature_c(raw_t, CAL)
    raw_p = round(raw_pressure_for(pressure_pa, t_c, CAL))
    assert 0 <= raw_t < 2**24
    assert 0 <= raw_p < 2**24
    # Back within half a count of each quantity.
    t_step = abs(compensate_temperature_c(raw_t + 1, CAL) - t_c)
    p_c = compensate_pressure_pa(raw_p, t_c, CAL)
    p_step = abs(compensate_pressure_pa(raw_p + 1, t_c, CAL) - p_c)
    assert abs(t_c - temperature_c) <= t_step / 2 + 1e-9
    assert abs(p_c - pressure_pa) <= p_step / 2 + 1e-6
    assert p_step < 0.02  # ~0.015 Pa per count for this part


@pytest.mark.parametrize(
    ("nvm", "why"),
    [(bytes(21), "all 0x00"), (b"\xff" * 21, "all 0xFF")],
)
def test_parse_nvm_rejects_blank_memory(nvm: bytes, why: str) -> None:
    with pytest.raises(CalibrationError, match=why) as caught:
        parse_nvm(nvm, bus="sim:/x.sock", address=0x77)
    assert caught.value.bus == "sim:/x.sock"
    assert caught.value.address == 0x77
    assert not caught.value.retriable


def test_parse_nvm_rejects_zero_temperature_sensitivity() -> None:
    nvm = bytearray(DEFAULT_NVM)
    nvm[2:4] = b"\x00\x00"  # par_t2
    with pytest.raises(CalibrationError, match="par_t2=0"):
        parse_nvm(bytes(nvm))


def test_parse_nvm_rejects_wrong_length() -> None:
    with pytest.raises(ValueError, match="21 bytes"):
        parse_nvm(DEFAULT_NVM[:20])


def test_parse_nvm_accepts_a_genuine_dump() -> None:
    assert parse_nvm(PUBLISHED_NVM) == Bmp3RawCalibration.unpack(PUBLISHED_NVM)


@pytest.mark.parametrize(
    ("osr_p", "osr_t", "kwargs", "expected_us"),
    [
        (1, 1, {}, 234 + 392 + 2020 + 163 + 2020),
        (32, 32, {}, 234 + 392 + 32 * 2020 + 163 + 32 * 2020),
        (8, 1, {"temperature_enabled": False}, 234 + 392 + 8 * 2020),
        (8, 2, {"pressure_enabled": False}, 234 + 163 + 2 * 2020),
    ],
)
def test_measurement_time_follows_datasheet_3_9_2(
    osr_p: int, osr_t: int, kwargs: dict[str, bool], expected_us: int
) -> None:
    assert measurement_time_s(osr_p, osr_t, **kwargs) == pytest.approx(expected_us * 1e-6)


def test_measurement_time_rejects_unknown_oversampling() -> None:
    with pytest.raises(ValueError, match="x3"):
        measurement_time_s(3, 1)


@pytest.mark.parametrize(
    ("rate_hz", "osr_p", "osr_t", "code"),
    [
        (1.0, 1, 1, 0),  # 4.8 ms fits 5 ms: 200 Hz
        (1.0, 8, 1, 2),  # 19.0 ms fits 20 ms: 50 Hz
        (50.0, 8, 1, 2),
        (6.25, 32, 32, 5),  # 130 ms fits 160 ms
    ],
)
def test_odr_is_the_fastest_that_fits_the_measurement(
    rate_hz: float, osr_p: int, osr_t: int, code: int
) -> None:
    assert odr_code_for_rate(rate_hz, measurement_time_s(osr_p, osr_t)) == code


def test_odr_refuses_a_rate_the_measurement_cannot_reach() -> None:
    with pytest.raises(
        ValueError, match=r"cannot sample at 10 Hz.*fastest normal-mode ODR is 6\.25 Hz"
    ):
        odr_code_for_rate(10.0, measurement_time_s(32, 32))


@pytest.mark.parametrize("rate_hz", [0.0, -1.0, math.nan, math.inf])
def test_odr_refuses_nonsense_rates(rate_hz: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        odr_code_for_rate(rate_hz, 0.01)


def test_variants_by_chip_id_and_name() -> None:
    assert variant_for_chip_id(0x50) is BMP388
    assert variant_for_chip_id(0x60) is BMP390
    assert variant_for_chip_id(0x58) is None  # a BMP280
    assert variant_by_name("BMP390") is BMP390
    with pytest.raises(ValueError, match="bmp388, bmp390"):
        variant_by_name("bmp280")


# Datasheet table "noise in pressure", columns IIR 1, 3, 7, 15, rows OSR x1..x32
# (docs/datasheets.md, "Pressure noise").
NOISE_TABLE_FILTERED_PA = {
    1: (3.8, 2.5, 1.7, 1.2),
    2: (2.5, 1.6, 1.1, 0.8),
    4: (1.8, 1.2, 0.8, 0.6),
    8: (1.3, 0.9, 0.6, 0.4),
    16: (0.9, 0.6, 0.4, 0.2),
    32: (0.7, 0.4, 0.3, 0.3),
}


@pytest.mark.parametrize("oversampling", sorted(NOISE_TABLE_FILTERED_PA))
def test_iir_off_noise_and_variance_ratio_reproduce_the_noise_table(oversampling: int) -> None:
    for coefficient, table_pa in zip(
        (1, 3, 7, 15), NOISE_TABLE_FILTERED_PA[oversampling], strict=True
    ):
        assert BMP388.pressure_noise_rms_pa(oversampling, coefficient) == pytest.approx(
            table_pa, abs=0.1
        )

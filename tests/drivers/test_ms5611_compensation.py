"""MS5611/MS5607 commands, PROM CRC and compensation, checked against independent sources."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hullwatch.drivers.errors import CalibrationError
from hullwatch.drivers.ms5611 import (
    CONVERSION_TIME_MAX_S,
    MS5607,
    MS5611,
    OVERSAMPLING_RATIOS,
    Channel,
    Ms5611Prom,
    compensate,
    compensate_temperature,
    conversion_time_s,
    convert_command,
    crc4,
    parse_prom,
    prom_read_command,
    prom_with_crc,
    variant_by_name,
)
from hullwatch.drivers.ms5611.commands import decode_convert, decode_prom_read
from hullwatch.hil.ms5611_sim import DEFAULT_PROM, raw_pressure_for, raw_temperature_for

# MS5611-01BA03 datasheet, "PRESSURE AND TEMPERATURE CALCULATION", example column.
MS5611_EXAMPLE_C = (40127, 36924, 23317, 23282, 33464, 28312)
MS5611_EXAMPLE_D1 = 9085466
MS5611_EXAMPLE_D2 = 8569150
# MS5607-02BA03 datasheet (09/2015) page 8, example column.
MS5607_EXAMPLE_C = (46372, 43981, 29059, 27842, 31553, 28165)
MS5607_EXAMPLE_D1 = 6465444
MS5607_EXAMPLE_D2 = 8077636

# AN520 "As a simple test of the CRC code": these words give CRC 0xB.
AN520_WORDS = (0x3132, 0x3334, 0x3536, 0x3738, 0x3940, 0x4142, 0x4344, 0x4500)


def calibration(coefficients: tuple[int, ...], word0: int = 0, word7: int = 0) -> Ms5611Prom:
    return Ms5611Prom.from_words((word0, *coefficients, word7))


MS5611_CAL = calibration(MS5611_EXAMPLE_C)
MS5607_CAL = calibration(MS5607_EXAMPLE_C)


# --- commands and timing ---


def test_command_bytes_follow_the_datasheet_command_table() -> None:
    assert [convert_command(Channel.D1, osr) for osr in OVERSAMPLING_RATIOS] == [
        0x40, 0x42, 0x44, 0x46, 0x48,
    ]  # fmt: skip
    assert [convert_command(Channel.D2, osr) for osr in OVERSAMPLING_RATIOS] == [
        0x50, 0x52, 0x54, 0x56, 0x58,
    ]  # fmt: skip
    assert [prom_read_command(n) for n in range(8)] == list(range(0xA0, 0xB0, 2))
    assert decode_convert(0x46) == (Channel.D1, 2048)
    assert decode_convert(0x58) == (Channel.D2, 4096)
    assert decode_convert(0x4A) is None  # OSR 8192 exists on the MS5637, not here
    assert decode_prom_read(0xAE) == 7
    assert decode_prom_read(0xA1) is None
    assert decode_prom_read(0xB0) is None


def test_conversion_times_are_the_datasheet_maxima() -> None:
    assert dict(CONVERSION_TIME_MAX_S) == pytest.approx(
        {256: 0.60e-3, 512: 1.17e-3, 1024: 2.28e-3, 2048: 4.54e-3, 4096: 9.04e-3}
    )
    with pytest.raises(ValueError, match="oversampling ratio 300"):
        conversion_time_s(300)
    with pytest.raises(ValueError, match="PROM word index 8"):
        prom_read_command(8)


def test_variants_by_name_and_their_noise() -> None:
    assert variant_by_name("MS5607") is MS5607
    assert variant_by_name("ms5611") is MS5611
    with pytest.raises(ValueError, match="ms5611, ms5607"):
        variant_by_name("ms5637")
    assert [MS5611.pressure_noise_rms_pa(osr) for osr in OVERSAMPLING_RATIOS] == [
        6.5, 4.2, 2.7, 1.8, 1.2,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="8192"):
        MS5611.pressure_noise_rms_pa(8192)


# --- first order: the datasheet examples ---


def test_ms5611_datasheet_example() -> None:
    terms = compensate_temperature(MS5611_EXAMPLE_D2, MS5611_CAL)
    # Datasheet example column: dT = 2366, OFF = 2420281617, SENS = 1315097036.
    assert (terms.dt, terms.off, terms.sens) == (2366, 2_420_281_617, 1_315_097_036)
    assert (terms.t2, terms.off2, terms.sens2) == (0, 0, 0)  # 20.07 °C: no second order
    assert compensate(MS5611_EXAMPLE_D1, MS5611_EXAMPLE_D2, MS5611_CAL) == (2007, 100_009)


def test_ms5607_datasheet_example() -> None:
    terms = compensate_temperature(MS5607_EXAMPLE_D2, MS5607_CAL, MS5607)
    # MS5607 datasheet page 8: dT = 68, OFF = 5764707214, SENS = 3039050829.
    assert (terms.dt, terms.off, terms.sens) == (68, 5_764_707_214, 3_039_050_829)
    assert compensate(MS5607_EXAMPLE_D1, MS5607_EXAMPLE_D2, MS5607_CAL, MS5607) == (2000, 110_002)


def test_the_two_variants_differ() -> None:
    # The MS5611 example read as an MS5607: OFF and SENS each double, so P about doubles.
    _, pressure = compensate(MS5611_EXAMPLE_D1, MS5611_EXAMPLE_D2, MS5611_CAL, MS5607)
    assert 199_000 < pressure < 201_000


# --- second order, worked by hand from datasheet Figure 3 ---
# C1..C6 = 40127, 36924, 23317, 23282, 33464, 28312; C5·2^8 = 8566784,
# C2·2^16 = 2419851264, C1·2^15 = 1314881536; ">> n" floors (toward −∞).
# Betaflight's baro_ms5611_unittest.cc publishes the same two results.


def test_ms5611_second_order_below_20_c() -> None:
    # D1 = 9085466, D2 = 8069150:
    # dT    = 8069150 − 8566784 = −497634
    # TEMP  = 2000 + (−497634·28312 = −14089013808) >> 23 = 2000 + (−1680) = 320
    # OFF   = 2419851264 + (23282·−497634 = −11585914788) >> 7 = 2419851264 − 90514960
    #       = 2329336304
    # SENS  = 1314881536 + (23317·−497634 = −11603331978) >> 8 = 1314881536 − 45325516
    #       = 1269556020
    # TEMP < 2000:
    # T2    = dT² >> 31 = 247639597956 >> 31 = 115
    # OFF2  = 5·(320 − 2000)²/2 = 5·2822400/2 = 7056000
    # SENS2 = 5·2822400/4 = 3528000
    # TEMP  = 320 − 115 = 205;  OFF = 2322280304;  SENS = 1266028020
    # P     = ((9085466·1266028020 = 11502454530757320) >> 21 = 5484797730
    #          − 2322280304 = 3162517426) >> 15 = 96512
    terms = compensate_temperature(8_069_150, MS5611_CAL)
    assert (terms.dt, terms.t2, terms.off2, terms.sens2) == (-497_634, 115, 7_056_000, 3_528_000)
    assert (terms.off, terms.sens) == (2_322_280_304, 1_266_028_020)
    assert compensate(9_085_466, 8_069_150, MS5611_CAL) == (205, 96_512)
    # Truncating division (C's "/") would give TEMP1 = 321 and TEMP = 206 here.


def test_ms5611_second_order_below_minus_15_c() -> None:
    # D1 = 9085466, D2 = 7369150:
    # dT    = 7369150 − 8566784 = −1197634
    # TEMP  = 2000 + (−1197634·28312 = −33907413808) >> 23 = 2000 + (−4043) = −2043
    # OFF   = 2419851264 + (−27883314788 >> 7 = −217838397) = 2202012867
    # SENS  = 1314881536 + (−27925231978 >> 8 = −109082938) = 1205798598
    # T2    = 1434327197956 >> 31 = 667
    # OFF2  = 5·(−4043)²/2 = 5·16345849/2 = 40864622
    # SENS2 = 5·16345849/4 = 20432311
    # TEMP < −1500: (−2043 + 1500)² = 294849
    # OFF2 += 7·294849 = 2063943   -> 42928565
    # SENS2 += 11·294849/2 = 1621669 -> 22053980
    # TEMP  = −2043 − 667 = −2710;  OFF = 2159084302;  SENS = 1183744618
    # P     = ((9085466·1183744618 = 10754871479521988) >> 21 = 5128322353
    #          − 2159084302 = 2969238051) >> 15 = 90613
    terms = compensate_temperature(7_369_150, MS5611_CAL)
    assert (terms.t2, terms.off2, terms.sens2) == (667, 42_928_565, 22_053_980)
    assert compensate(9_085_466, 7_369_150, MS5611_CAL) == (-2710, 90_613)


def test_first_order_only_when_asked() -> None:
    # Same D2 = 8069150 without Figure 3: TEMP = 320 and
    # P = ((9085466·1269556020) >> 21 = 5500082042 − 2329336304 = 3170745738) >> 15 = 96763.
    assert compensate(9_085_466, 8_069_150, MS5611_CAL, second_order=False) == (320, 96_763)


def test_ms5607_second_order_below_minus_15_c() -> None:
    # MS5607 example coefficients; C5·2^8 = 8077568, C2·2^17 = 5764677632, C1·2^16 = 3039035392.
    # D1 = 6465444, D2 = 6577636:
    # dT    = 6577636 − 8077568 = −1499932
    # TEMP  = 2000 + (−1499932·28165 = −42245584780) >> 23 = 2000 + (−5037) = −3037
    # OFF   = 5764677632 + (27842·dT = −41761106744) >> 6 = 5764677632 − 652517293 = 5112160339
    # SENS  = 3039035392 + (29059·dT = −43586523988) >> 7 = 3039035392 − 340519719 = 2698515673
    # T2    = 2249796004624 >> 31 = 1047
    # OFF2  = 61·(−5037)²/2^4 = 61·25371369/16 = 1547653509/16 = 96728344
    # SENS2 = 2·25371369 = 50742738
    # TEMP < −1500: (−3037 + 1500)² = 2362369
    # OFF2 += 15·2362369 = 35435535 -> 132163879
    # SENS2 += 8·2362369 = 18898952 -> 69641690
    # TEMP  = −3037 − 1047 = −4084;  OFF = 4979996460;  SENS = 2628873983
    # P     = ((6465444·2628873983 = 16996837520143452) >> 21 = 8104723701
    #          − 4979996460 = 3124727241) >> 15 = 95359
    terms = compensate_temperature(6_577_636, MS5607_CAL, MS5607)
    assert (terms.t2, terms.off2, terms.sens2) == (1047, 132_163_879, 69_641_690)
    assert compensate(6_465_444, 6_577_636, MS5607_CAL, MS5607) == (-4084, 95_359)


def test_raw_values_must_be_24_bit() -> None:
    with pytest.raises(ValueError, match="D2 = 16777216"):
        compensate(0, 1 << 24, MS5611_CAL)
    with pytest.raises(ValueError, match="D1 = -1"):
        compensate(-1, 0, MS5611_CAL)


@settings(max_examples=300, deadline=None)
@given(
    d1=st.integers(0, (1 << 24) - 1),
    d2=st.integers(0, (1 << 24) - 1),
    coefficients=st.tuples(*[st.integers(0, 0xFFFF)] * 6),
    variant=st.sampled_from(["MS5611", "MS5607"]),
)
def test_every_quantity_fits_the_width_the_datasheet_gives_it(
    d1: int, d2: int, coefficients: tuple[int, ...], variant: str
) -> None:
    v = variant_by_name(variant)
    cal = calibration(coefficients)
    terms = compensate_temperature(d2, cal, v)
    temperature, pressure = compensate(d1, d2, cal, v)
    int32, int64 = 1 << 31, 1 << 63
    assert -int32 <= terms.dt < int32
    assert -int32 <= temperature < int32
    assert -int64 <= terms.off < int64
    assert -int64 <= terms.sens < int64
    assert -int64 <= d1 * terms.sens < int64  # the 58-bit intermediate of P
    assert -int32 <= pressure < int32


# --- PROM and CRC4 ---


def test_crc4_reproduces_the_an520_example() -> None:
    assert crc4(AN520_WORDS) == 0xB
    assert prom_with_crc(AN520_WORDS)[7] == 0x450B
    parse_prom((*AN520_WORDS[:7], 0x450B))  # accepted


def test_crc4_ignores_the_crc_byte_itself() -> None:
    assert crc4((*AN520_WORDS[:7], 0x45FF)) == 0xB


def test_default_simulator_prom_is_accepted() -> None:
    prom = parse_prom(DEFAULT_PROM, bus="sim:/x.sock", address=0x77)
    assert (prom.c1, prom.c2, prom.c3, prom.c4, prom.c5, prom.c6) == MS5611_EXAMPLE_C
    assert prom.crc == crc4(DEFAULT_PROM) != 0
    assert prom.words == DEFAULT_PROM


def test_a_genuine_crc_of_zero_is_accepted() -> None:
    # The datasheet coefficients with words 0 and 7 zero have CRC 0. Linux's
    # ms5611_prom_is_valid refuses any stored 0; one part in sixteen has it.
    words = (0, *MS5611_EXAMPLE_C, 0)
    assert crc4(words) == 0
    assert parse_prom(words).crc == 0


def test_every_single_bit_flip_is_rejected() -> None:
    # All 16 bits of words 0..6, the upper byte of word 7, and the CRC nibble.
    positions = [(word, bit) for word in range(7) for bit in range(16)]
    positions += [(7, bit) for bit in (*range(8, 16), *range(4))]
    accepted = []
    for word, bit in positions:
        words = list(DEFAULT_PROM)
        words[word] ^= 1 << bit
        try:
            parse_prom(words)
        except CalibrationError:
            continue
        accepted.append((word, bit))
    assert accepted == []
    assert len(positions) == 124


@pytest.mark.parametrize(("fill", "why"), [(0x0000, "all 0x0000"), (0xFFFF, "all 0xFFFF")])
def test_blank_prom_is_rejected(fill: int, why: str) -> None:
    with pytest.raises(CalibrationError, match=why) as caught:
        parse_prom([fill] * 8, bus="/dev/i2c-1", address=0x76)
    assert caught.value.bus == "/dev/i2c-1"
    assert caught.value.address == 0x76
    assert not caught.value.retriable


def test_crc_mismatch_names_expected_and_stored_and_where() -> None:
    words = list(DEFAULT_PROM)
    words[7] = (words[7] & 0xFFF0) | 0x3  # stored 3, computed 7
    with pytest.raises(CalibrationError) as caught:
        parse_prom(words, bus="/dev/i2c-1", address=0x77)
    text = str(caught.value)
    assert "expected 0x7" in text
    assert "stored 0x3" in text
    assert text.endswith("(bus /dev/i2c-1, address 0x77)")


def test_prom_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="8 words, got 7"):
        parse_prom(DEFAULT_PROM[:7])
    with pytest.raises(ValueError, match="word 3"):
        parse_prom((*DEFAULT_PROM[:3], 0x10000, *DEFAULT_PROM[4:]))


# --- inverting the compensation (the simulator's raw values) ---


@settings(max_examples=400, deadline=None)
@given(
    pressure_pa=st.floats(1_000.0, 120_000.0),
    temperature_c=st.floats(-40.0, 85.0),
    variant=st.sampled_from(["MS5611", "MS5607"]),
)
# Found by this test in CI: no D2 gives TEMP = −5.09 °C with the MS5607 example PROM.
@example(pressure_pa=1000.0, temperature_c=-5.09375, variant="MS5607")
def test_inverting_then_compensating_gives_back_the_conditions(
    pressure_pa: float, temperature_c: float, variant: str
) -> None:
    v = variant_by_name(variant)
    cal = MS5611_CAL if v is MS5611 else MS5607_CAL
    d2 = raw_temperature_for(temperature_c, cal, v)
    d1 = raw_pressure_for(pressure_pa, d2, cal, v)
    assert 0 < d1 < 1 << 24
    assert 0 < d2 < 1 << 24
    temperature, pressure = compensate(d1, d2, cal, v)
    error = abs(temperature / 100 - temperature_c)
    if error > 0.005 + 1e-9:
        # TEMP and T2 are floored separately (datasheet, second-order compensation),
        # so TEMP can step by 0.02 °C and skip the value nearest the target: then
        # the simulator gives the nearest value the chip does reach.
        neighbours = [compensate_temperature(d, cal, v).temperature for d in (d2 - 1, d2 + 1)]
        assert round(temperature_c * 100) not in {temperature, *neighbours}
        assert all(error <= abs(n / 100 - temperature_c) + 1e-9 for n in neighbours)
    assert abs(pressure - pressure_pa) <= 1.0

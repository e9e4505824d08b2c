"""The driver descriptors: one per configuration `driver`, every fact from its driver."""

from __future__ import annotations

import typing

import pytest

from hullwatch.daemon.settings.chip_settings import ChipTuning, chip_settings
from hullwatch.daemon.settings.config import SensorSettings
from hullwatch.drivers.bmp3 import BMP388, BMP390, Bmp3Settings
from hullwatch.drivers.catalog import DRIVERS, names
from hullwatch.drivers.ms5611 import MS5607, MS5611, Ms5611Settings
from hullwatch.hil.scenario import SensorSpec, SerialSensorSpec


def _literal_values(annotation: object) -> set[object]:
    """The values of a Literal, looked for inside Annotated and unions."""
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    found: set[object] = set()
    for argument in typing.get_args(annotation):
        found |= _literal_values(argument)
    return found


def test_the_configuration_takes_exactly_the_described_drivers() -> None:
    annotation = SensorSettings.model_fields["driver"].annotation
    assert _literal_values(annotation) == set(DRIVERS)


def test_the_simulator_simulates_exactly_the_described_drivers() -> None:
    i2c = _literal_values(SensorSpec.model_fields["kind"].annotation)
    serial = _literal_values(SerialSensorSpec.model_fields["kind"].annotation)
    assert i2c == names("bmp3") | names("ms56xx")
    assert serial == names("serial")


def test_families() -> None:
    assert names("bmp3") == {"bmp388", "bmp390"}
    assert names("ms56xx") == {"ms5611", "ms5607"}
    assert names("serial") == {"serial_bridge", "ptb330"}


def test_i2c_facts_come_from_the_variant_tables() -> None:
    assert DRIVERS["bmp388"].addresses == BMP388.addresses == (0x76, 0x77)
    assert DRIVERS["bmp390"].chip_ids == (BMP388.chip_id, BMP390.chip_id)  # either is accepted
    assert DRIVERS["ms5611"].addresses == MS5611.addresses
    assert DRIVERS["ms5607"].addresses == MS5607.addresses
    assert DRIVERS["ms5611"].chip_ids == ()  # no identity register
    assert DRIVERS["ptb330"].addresses == ()


@pytest.mark.parametrize("driver", ["bmp388", "bmp390"])
def test_one_bmp3_default_for_the_driver_and_the_daemon(driver: str) -> None:
    defaults = {t.key: t.default for t in DRIVERS[driver].tunables}
    assert defaults == {
        "mode": "normal",
        "pressure_oversampling": 8,
        "temperature_oversampling": 1,
        "iir_coefficient": 0,
    }
    assert chip_settings(driver, ChipTuning(), 25.0) == Bmp3Settings(rate_hz=25.0)
    assert Bmp3Settings(rate_hz=25.0) == Bmp3Settings(rate_hz=25.0, **defaults)  # type: ignore[arg-type]


@pytest.mark.parametrize("driver", ["ms5611", "ms5607"])
def test_one_ms56xx_default_for_the_driver_and_the_daemon(driver: str) -> None:
    (tunable,) = DRIVERS[driver].tunables
    assert (tunable.key, tunable.default) == ("pressure_oversampling", 4096)
    assert chip_settings(driver, ChipTuning(), 10.0) == Ms5611Settings(rate_hz=10.0)


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_every_default_is_an_allowed_value_and_every_driver_has_a_factory(driver: str) -> None:
    descriptor = DRIVERS[driver]
    for tunable in descriptor.tunables:
        assert tunable.default in tunable.allowed, tunable.key
    if descriptor.is_serial:
        assert descriptor.open_serial is not None
        assert descriptor.probe_serial is not None
        assert descriptor.open_i2c is descriptor.probe_i2c is None
        assert descriptor.rate_keys == ()  # a fixed limit
    else:
        assert descriptor.open_i2c is not None
        assert descriptor.probe_i2c is not None
        assert descriptor.open_serial is descriptor.probe_serial is None
    assert set(descriptor.rate_keys) <= {t.key for t in descriptor.tunables}
    assert descriptor.fastest_rate_hz() > 0


def _rate_tunings(driver: str) -> list[dict[str, object]]:
    """Every combination of the values the driver's fastest rate depends on."""
    descriptor = DRIVERS[driver]
    tunings: list[dict[str, object]] = [{}]
    for key in descriptor.rate_keys:
        tunable = descriptor.tunable(key)
        assert tunable is not None
        tunings = [{**t, key: value} for t in tunings for value in tunable.allowed]
    return tunings


@pytest.mark.parametrize("driver", sorted(names("bmp3") | names("ms56xx")))
def test_the_fastest_rate_is_the_one_the_driver_settings_accept(driver: str) -> None:
    """The descriptor's limit and the driver's settings class are the same function:
    exactly at it the settings build, just above it they refuse, for every setting."""
    for chosen in _rate_tunings(driver):
        fastest_hz = DRIVERS[driver].fastest_rate_hz(chosen)
        tuning = ChipTuning(**chosen)  # type: ignore[arg-type]
        assert chip_settings(driver, tuning, fastest_hz).rate_hz == fastest_hz
        with pytest.raises(ValueError, match="cannot sample at"):
            chip_settings(driver, tuning, fastest_hz * 1.001)
        DRIVERS[driver].check_rate(fastest_hz, chosen)
        with pytest.raises(ValueError, match=f"^a {driver} cannot sample at"):
            DRIVERS[driver].check_rate(fastest_hz * 1.001, chosen)


def test_the_fastest_rates_from_the_timing_tables() -> None:
    """BMP3 x8/x1 measures for 18.969 ms (datasheet 3.9.2): normal mode ODR 50 Hz
    (period 20 ms, 4.3.19), forced 1/(18.969 ms x 1.15). x32/x1: 67.449 ms, ODR
    12.5 Hz. MS56xx OSR 4096: two conversions of 9.04 ms x 1.1 (datasheet
    "ELECTRICAL CHARACTERISTICS"); OSR 256: two of 0.60 ms x 1.1."""
    bmp390 = DRIVERS["bmp390"]
    assert bmp390.fastest_rate_hz() == 50.0
    assert bmp390.fastest_rate_hz({"mode": "forced"}) == pytest.approx(1 / (18.969e-3 * 1.15))
    assert bmp390.fastest_rate_hz({"pressure_oversampling": 32}) == 12.5
    assert bmp390.fastest_rate_hz({"pressure_oversampling": 1}) == 200.0
    ms5611 = DRIVERS["ms5611"]
    assert ms5611.fastest_rate_hz() == pytest.approx(1 / (2 * 9.04e-3 * 1.1))
    assert ms5611.fastest_rate_hz({"pressure_oversampling": 256}) == pytest.approx(
        1 / (2 * 0.60e-3 * 1.1)
    )


def test_a_serial_instrument_has_one_limit_whatever_its_line() -> None:
    ptb330 = DRIVERS["ptb330"]
    assert ptb330.fastest_rate_hz() == ptb330.fastest_rate_hz({"baudrate": 115200}) == 4.0
    assert DRIVERS["serial_bridge"].fastest_rate_hz() == 100.0
    with pytest.raises(ValueError, match=r"^a ptb330 is polled at 4 Hz at most, not 5 Hz$"):
        ptb330.check_rate(5.0)


def test_tuning_fills_in_the_defaults_and_refuses_other_keys() -> None:
    assert DRIVERS["ms5607"].tuning({"pressure_oversampling": None}) == {
        "pressure_oversampling": 4096
    }
    assert DRIVERS["bmp388"].tuning({"mode": "forced"})["mode"] == "forced"
    with pytest.raises(KeyError, match="iir_coefficient"):
        DRIVERS["ms5611"].tuning({"iir_coefficient": 3})


def test_a_scenario_refuses_a_rate_its_chip_cannot_reach_as_the_daemon_would() -> None:
    with pytest.raises(ValueError, match="a ms5611 cannot sample at 60 Hz"):
        SensorSpec(kind="ms5611", zone="z", address=0x77, rate_hz=60.0)
    SensorSpec(kind="ms5611", zone="z", address=0x77, rate_hz=60.0, pressure_oversampling=2048)
    with pytest.raises(ValueError, match="rate_hz"):
        SerialSensorSpec(kind="serial_bridge", zone="z", link="/dev/x", rate_hz=101.0)

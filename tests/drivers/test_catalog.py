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
        assert descriptor.open_i2c is None
        assert descriptor.max_rate_hz is not None
    else:
        assert descriptor.open_i2c is not None
        assert descriptor.open_serial is None

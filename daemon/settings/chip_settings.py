"""The driver settings a sensor's configuration asks for, built by the driver.

The configuration refuses a rate above the driver descriptor's
`fastest_rate_hz`, which is computed by the same function the driver's
settings class checks its rate with, so `check-config` and the daemon never
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from hullwatch.drivers.bmp3 import Bmp3Settings
from hullwatch.drivers.catalog import DRIVERS, DriverDescriptor, names
from hullwatch.drivers.ms5611 import Ms5611Settings
from hullwatch.drivers.serial_bridge import bridge_serial_settings
from hullwatch.drivers.transports.serial_port import SerialSettings
from hullwatch.drivers.vaisala_ptb import ptb_serial_settings

# Every fact below comes from the drivers' descriptors (drivers/catalog.py).
BMP3_DRIVERS: Final = names("bmp3")
MS56XX_DRIVERS: Final = names("ms56xx")
I2C_DRIVERS: Final = BMP3_DRIVERS | MS56XX_DRIVERS
SERIAL_DRIVERS: Final = names("serial")
# The I2C addresses each driver's chip answers at (docs/datasheets.md: BMP3 by SDO,
# MS56xx by CSB).
DRIVER_ADDRESSES: Final[dict[str, tuple[int, ...]]] = {
    name: d.addresses for name, d in DRIVERS.items() if not d.is_serial
}


def descriptor(driver: str) -> DriverDescriptor | None:
    return DRIVERS.get(driver)


def family(driver: str) -> str | None:
    found = DRIVERS.get(driver)
    return None if found is None else found.family


@dataclass(frozen=True, slots=True)
class ChipTuning:
    """The chip keys of one sensor, after defaults for its driver."""

    mode: Literal["normal", "forced"] | None = None
    pressure_oversampling: int | None = None
    temperature_oversampling: int | None = None
    iir_coefficient: int | None = None


def chip_settings(driver: str, tuning: ChipTuning, rate_hz: float) -> Bmp3Settings | Ms5611Settings:
    """The driver's settings object; ValueError (from the driver) when the chip cannot do it.

    A key the configuration leaves out takes the driver's own default.
    """
    kind = family(driver)
    if kind == "bmp3":
        keys = ("mode", "pressure_oversampling", "temperature_oversampling", "iir_coefficient")
        chosen = {key: value for key in keys if (value := getattr(tuning, key)) is not None}
        return Bmp3Settings(rate_hz=rate_hz, **chosen)
    if kind == "ms56xx":
        if tuning.pressure_oversampling is None:
            return Ms5611Settings(rate_hz=rate_hz)
        return Ms5611Settings(oversampling=tuning.pressure_oversampling, rate_hz=rate_hz)
    raise ValueError(f"driver {driver!r} has no chip settings")


# --- serial sensors -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineTuning:
    baudrate: int | None = None
    parity: Literal["N", "E", "O"] | None = None
    bytesize: int | None = None
    stopbits: int | None = None


def serial_settings(driver: str, port: str, tuning: LineTuning, timeout_s: float) -> SerialSettings:
    """The port settings: the instrument's defaults, with what the configuration changes."""
    if driver == "serial_bridge":
        if tuning.baudrate is None:
            return bridge_serial_settings(port, timeout_s=timeout_s)
        return bridge_serial_settings(port, baudrate=tuning.baudrate, timeout_s=timeout_s)
    # The bridge protocol is 8N1 by definition: only its baud rate can change.
    keys = ("baudrate", "parity", "bytesize", "stopbits")
    changed = {key: getattr(tuning, key) for key in keys if getattr(tuning, key)}
    return ptb_serial_settings(port, timeout_s=timeout_s, **changed)

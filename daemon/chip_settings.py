"""The driver settings a sensor's configuration asks for, built (and so checked) by the driver.

The configuration validates a sensor by building these: a rate the chip cannot
reach is refused by the same code that would run it, so `check-config` and the
daemon never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from hullwatch.drivers import bmp3, ms5611
from hullwatch.drivers.bmp3 import Bmp3Settings
from hullwatch.drivers.ms5611 import Ms5611Settings
from hullwatch.drivers.serial_bridge import bridge_serial_settings
from hullwatch.drivers.transports.serial_port import SerialSettings
from hullwatch.drivers.vaisala_ptb import ptb_serial_settings

BMP3_DRIVERS: Final = frozenset(v.name.lower() for v in bmp3.VARIANTS)
MS56XX_DRIVERS: Final = frozenset(v.name.lower() for v in ms5611.VARIANTS)
I2C_DRIVERS: Final = BMP3_DRIVERS | MS56XX_DRIVERS
# The I2C addresses each driver's chip answers at, from the drivers' variant tables
# (docs/datasheets.md: BMP3 by SDO, MS56xx by CSB).
DRIVER_ADDRESSES: Final[dict[str, tuple[int, ...]]] = {
    v.name.lower(): v.addresses for v in (*bmp3.VARIANTS, *ms5611.VARIANTS)
}

# Which chip-tuning keys each family takes, and the values allowed (defaults are in
# `chip_settings`).
BMP3_OVERSAMPLING: Final = (1, 2, 4, 8, 16, 32)
BMP3_IIR_COEFFICIENTS: Final = (0, 1, 3, 7, 15, 31, 63, 127)
MS56XX_OVERSAMPLING: Final = (256, 512, 1024, 2048, 4096)
ALLOWED: Final[dict[str, dict[str, tuple[object, ...]]]] = {
    "bmp3": {
        "mode": ("normal", "forced"),
        "pressure_oversampling": BMP3_OVERSAMPLING,
        "temperature_oversampling": BMP3_OVERSAMPLING,
        "iir_coefficient": BMP3_IIR_COEFFICIENTS,
    },
    "ms56xx": {"pressure_oversampling": MS56XX_OVERSAMPLING},
    "serial": {
        "baudrate": (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400),
        "parity": ("N", "E", "O"),
        "bytesize": (7, 8),
        "stopbits": (1, 2),
    },
}


def family(driver: str) -> str | None:
    if driver in BMP3_DRIVERS:
        return "bmp3"
    if driver in MS56XX_DRIVERS:
        return "ms56xx"
    if driver in SERIAL_DRIVERS:
        return "serial"
    return None


@dataclass(frozen=True, slots=True)
class ChipTuning:
    """The chip keys of one sensor, after defaults for its driver."""

    mode: Literal["normal", "forced"] | None = None
    pressure_oversampling: int | None = None
    temperature_oversampling: int | None = None
    iir_coefficient: int | None = None


def chip_settings(driver: str, tuning: ChipTuning, rate_hz: float) -> Bmp3Settings | Ms5611Settings:
    """The driver's settings object; ValueError (from the driver) when the chip cannot do it."""
    kind = family(driver)
    if kind == "bmp3":
        return Bmp3Settings(
            mode=tuning.mode or "normal",
            pressure_oversampling=tuning.pressure_oversampling or 8,
            temperature_oversampling=tuning.temperature_oversampling or 1,
            iir_coefficient=tuning.iir_coefficient or 0,
            rate_hz=rate_hz,
        )
    if kind == "ms56xx":
        return Ms5611Settings(oversampling=tuning.pressure_oversampling or 4096, rate_hz=rate_hz)
    raise ValueError(f"driver {driver!r} has no chip settings")


# --- serial sensors -------------------------------------------------------------

SERIAL_DRIVERS: Final = frozenset({"serial_bridge", "ptb330"})
# How often the daemon may ask. A bridge streams on its own; the PTB330 answers
# one SEND per request, and its reply takes ~70 ms at 4800 baud, 7E1.
SERIAL_MAX_RATE_HZ: Final = {"serial_bridge": 100.0, "ptb330": 4.0}


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
    changed = {key: getattr(tuning, key) for key in ALLOWED["serial"] if getattr(tuning, key)}
    return ptb_serial_settings(port, timeout_s=timeout_s, **changed)


def check_serial_rate(driver: str, rate_hz: float) -> None:
    limit_hz = SERIAL_MAX_RATE_HZ[driver]
    if rate_hz > limit_hz:
        raise ValueError(f"a {driver} is polled at {limit_hz:g} Hz at most, not {rate_hz:g} Hz")

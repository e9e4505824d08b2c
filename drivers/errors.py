"""One exception root for everything the hardware library raises.

Errors carry the bus and address they concern as fields, and say whether a
retry can help (`retriable`): an I2C NACK or a timeout may pass, a wrong chip
id will not. Callers (the daemon's pollers) decide the policy from that flag.
"""

from __future__ import annotations


class SensorError(Exception):
    """Root of all driver errors."""

    retriable: bool = False

    def __init__(self, message: str, *, bus: str | None = None, address: int | None = None) -> None:
        self.bus = bus
        self.address = address
        where = []
        if bus is not None:
            where.append(f"bus {bus}")
        if address is not None:
            where.append(f"address 0x{address:02x}")
        suffix = f" ({', '.join(where)})" if where else ""
        super().__init__(f"{message}{suffix}")
        self.message = message


class BusError(SensorError):
    """A transfer on the bus failed (NACK, EIO, a timeout, the device node vanished)."""

    retriable = True

    def __init__(
        self,
        message: str,
        *,
        bus: str | None = None,
        address: int | None = None,
        errno: int | None = None,
    ) -> None:
        super().__init__(message, bus=bus, address=address)
        self.errno = errno


class BusTimeoutError(BusError):
    """The bus did not complete a transfer within the allowed time."""


class WrongChipError(SensorError):
    """The device at the address is not the chip the configuration names."""


class CalibrationError(SensorError):
    """The calibration memory holds values no genuine part has (all zeros, all ones, bad CRC)."""


class MeasurementError(SensorError):
    """The chip reported a measurement that cannot be used (skipped, error flag, not ready)."""

    retriable = True


class OutOfRangeError(MeasurementError):
    """A compensated value lies outside the range the sensor is specified for."""


class ConfigurationRejectedError(SensorError):
    """The chip refused the requested configuration (for example BMP3 ERR_REG conf_err)."""

"""Bus transports: the only code that knows how bytes reach a chip."""

from __future__ import annotations

from typing import Protocol

from ..bus import I2CBus
from .sim import SCHEME as SIM_SCHEME
from .sim import SimSocketBus
from .smbus import Smbus2Bus


def open_i2c_bus(spec: str, *, timeout_s: float = 1.0) -> I2CBus:
    """The transport a sensor's `bus` value names.

    `/dev/i2c-N` is a Linux i2c-dev node; `sim:/path/to.sock` is the simulator.
    """
    if spec.startswith(SIM_SCHEME):
        return SimSocketBus(spec.removeprefix(SIM_SCHEME), timeout_s=timeout_s)
    if spec.startswith("/dev/"):
        return Smbus2Bus(spec, timeout_s=timeout_s)
    raise ValueError(f"unknown I2C bus {spec!r}: expected /dev/i2c-N or sim:/path/to.sock")


class I2CBusOpener(Protocol):
    """Makes the transport for a sensor's `bus` value; `open_i2c_bus` is the daemon's.

    An accelerated hardware-in-the-loop run hands the daemon another one that
    reaches the simulated bus in the same process, so `drivers/` and `daemon/`
    never import the simulator.
    """

    def __call__(self, spec: str, *, timeout_s: float = 1.0) -> I2CBus: ...


__all__ = ["I2CBus", "I2CBusOpener", "SimSocketBus", "Smbus2Bus", "open_i2c_bus"]

"""What a driver's probe finds: which chip answers, and the sensor ready to read it.

`hullwatch scan` asks each family's probe in turn (drivers/catalog.py) about a
device that acknowledges its I2C address, and each serial driver's probe about
a port. A probe identifies by what only its chip says (a chip id, a PROM
checksum, a `$HWP` frame, a VERS reply), then initialises the chip, which
resets a chip and puts a PTB330 in STOP mode: scan while the daemon is stopped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .bus import I2CBus
from .errors import SensorError
from .sensor import PressureSensor
from .transports.serial_port import SerialLine


@dataclass(frozen=True, slots=True)
class Identified:
    chip: str  # what to call it: the variant read ("BMP390"), or the family
    detail: str  # what identified it ("chip id 0x60")
    # Initialised and ready to read, or why it could not be made ready.
    sensor: PressureSensor | SensorError


@dataclass(frozen=True, slots=True)
class Unidentified:
    detail: str  # what the device said instead ("register 0x00 reads 0x58")
    final: bool = False  # the device takes no transfer at all: no other probe can learn more


# A family's probe at one I2C address; None when the family cannot be at that address.
I2CProbe = Callable[[I2CBus, int], Awaitable[Identified | Unidentified | None]]
# An instrument's probe on a serial line set to its default settings: the sensor,
# initialised (the instrument spoke its protocol), or the SensorError saying why not.
# A serial driver is one protocol, so it is named by its descriptor.
SerialProbe = Callable[[SerialLine], Awaitable[PressureSensor]]

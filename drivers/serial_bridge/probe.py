"""Is a `$HWP` bridge on this line? A valid frame within a few seconds says so (protocol.py)."""

from __future__ import annotations

from typing import Final

from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.transports.serial_port import SerialLine

from .device import SerialBridgeSensor

# Expect at least a frame a second: `initialise` waits `SILENT_PERIODS` of them (3 s),
# or the line's timeout if longer, for the first valid frame.
PROBE_RATE_HZ: Final = 1.0


async def probe(line: SerialLine) -> PressureSensor:
    """The bridge, initialised on its first valid frame; `SensorError` if none came."""
    sensor = SerialBridgeSensor(line, expected_rate_hz=PROBE_RATE_HZ)
    await sensor.initialise()
    return sensor

"""Is a PTB330 on this line? Its VERS reply names it (User's Guide, VERS; protocol.py).

`PtbSensor.initialise` ends RUN-mode output, sets SMODE STOP and the output
format, checks the VERS reply and takes one SEND: the instrument is left in
STOP mode, as the daemon sets it anyway.
"""

from __future__ import annotations

from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.transports.serial_port import SerialLine

from .device import PtbSensor


async def probe(line: SerialLine) -> PressureSensor:
    """The PTB330 alone on the line (no RS-485 address), initialised; `SensorError` if not."""
    sensor = PtbSensor(line)
    await sensor.initialise()
    return sensor

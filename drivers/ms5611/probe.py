"""Is an MS5611 or MS5607 at this address? It has no identity register: its PROM says.

After RESET the eight PROM words must pass the AN520 CRC4 (docs/datasheets.md,
"PROM and CRC4"), which random data does only once in sixteen tries and an
all-zero PROM never (`parse_prom` refuses it). The two chips share addresses,
commands and PROM layout, so the probe cannot tell them apart: it reads the
chip as an MS5611.
"""

from __future__ import annotations

from typing import Final

from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.errors import SensorError
from hullwatch.drivers.probe import Identified, Unidentified

from .device import Ms5611Sensor, Ms5611Settings
from .variants import MS5611, VARIANTS

FAMILY_NAME: Final = "/".join(v.name for v in VARIANTS)  # "MS5611/MS5607"
ADDRESSES: Final = tuple(sorted({a for v in VARIANTS for a in v.addresses}))


async def probe(bus: I2CBus, address: int) -> Identified | Unidentified | None:
    """RESET and read the PROM (`Ms5611Sensor.initialise`); None off the family's addresses."""
    if address not in ADDRESSES:
        return None
    sensor = Ms5611Sensor(bus, address, Ms5611Settings(), variant=MS5611)  # default OSR
    try:
        await sensor.initialise()
    except SensorError as exc:
        return Unidentified(str(exc))
    return Identified(FAMILY_NAME, f"PROM CRC4 ok; read as an {MS5611.name}", sensor)

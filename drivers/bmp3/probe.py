"""Is a BMP388 or BMP390 at this address? Its CHIP_ID register says (datasheet 4.3.1).

Register 0x00 reads 0x50 on a BMP388 and 0x60 on a BMP390 (docs/datasheets.md,
"Identity and bus"). Either configuration name accepts either chip; the probe
reports the variant whose id it read.
"""

from __future__ import annotations

from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.errors import BusError, SensorError
from hullwatch.drivers.probe import Identified, Unidentified

from . import registers as r
from .device import Bmp3Sensor, Bmp3Settings
from .variants import variant_for_chip_id


async def probe(bus: I2CBus, address: int) -> Identified | Unidentified:
    """Read CHIP_ID; a BMP3 id: initialise the chip for one forced measurement."""
    try:
        chip_id = (await bus.write_read(address, bytes([r.REG_CHIP_ID]), 1))[0]
    except BusError as exc:
        return Unidentified(f"answers, but not to a register read: {exc}", final=True)
    variant = variant_for_chip_id(chip_id)
    if variant is None:
        return Unidentified(f"register 0x{r.REG_CHIP_ID:02x} reads 0x{chip_id:02x}")
    # Forced: one measurement when asked, at the driver's default oversampling.
    sensor = Bmp3Sensor(bus, address, Bmp3Settings(mode="forced"))
    detail = f"chip id 0x{chip_id:02x}"
    try:
        await sensor.initialise()
    except SensorError as exc:
        return Identified(variant.name, detail, exc)
    return Identified(variant.name, detail, sensor)

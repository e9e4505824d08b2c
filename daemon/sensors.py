"""Build the driver objects a configuration names (one transport per bus, shared)."""

from __future__ import annotations

from hullwatch.drivers.bmp3 import Bmp3Sensor, Bmp3Settings
from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.ms5611 import Ms5611Sensor
from hullwatch.drivers.ms5611 import variant_by_name as ms56xx_variant
from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.transports import open_i2c_bus

from .chip_settings import chip_settings
from .config import SensorSettings


class SensorFactory:
    def __init__(self) -> None:
        self.buses: dict[str, I2CBus] = {}

    def build(self, settings: SensorSettings) -> PressureSensor:
        bus = self.buses.get(settings.bus)
        if bus is None:
            bus = open_i2c_bus(settings.bus, timeout_s=settings.timeout_s)
            self.buses[settings.bus] = bus
        chip = chip_settings(settings.driver, settings.tuning, settings.rate_hz)
        if isinstance(chip, Bmp3Settings):
            return Bmp3Sensor(bus, settings.address, chip, expected_chip=settings.driver)
        return Ms5611Sensor(bus, settings.address, chip, variant=ms56xx_variant(settings.driver))

    async def close(self) -> None:
        for bus in self.buses.values():
            await bus.close()

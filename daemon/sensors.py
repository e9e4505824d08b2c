"""Build the driver objects a configuration names (one transport per bus, shared)."""

from __future__ import annotations

from hullwatch.drivers.bmp3 import Bmp3Sensor, Bmp3Settings
from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.transports import open_i2c_bus

from .config import SensorSettings


class SensorFactory:
    def __init__(self) -> None:
        self.buses: dict[str, I2CBus] = {}

    def build(self, settings: SensorSettings) -> PressureSensor:
        bus = self.buses.get(settings.bus)
        if bus is None:
            bus = open_i2c_bus(settings.bus, timeout_s=settings.timeout_s)
            self.buses[settings.bus] = bus
        return Bmp3Sensor(
            bus,
            settings.address,
            Bmp3Settings(
                mode=settings.mode,
                pressure_oversampling=settings.pressure_oversampling,
                temperature_oversampling=settings.temperature_oversampling,
                iir_coefficient=settings.iir_coefficient,
                rate_hz=settings.rate_hz,
            ),
            expected_chip=settings.driver,
        )

    async def close(self) -> None:
        for bus in self.buses.values():
            await bus.close()

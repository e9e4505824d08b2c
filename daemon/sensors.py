"""Build the driver objects a configuration names: one transport per bus or port, shared."""

from __future__ import annotations

from collections.abc import Sequence

from hullwatch.drivers.bmp3 import Bmp3Sensor, Bmp3Settings
from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.ms5611 import Ms5611Sensor
from hullwatch.drivers.ms5611 import variant_by_name as ms56xx_variant
from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.serial_bridge import SerialBridgeSensor
from hullwatch.drivers.transports import I2CBusOpener, open_i2c_bus
from hullwatch.drivers.transports.serial_port import SerialLine
from hullwatch.drivers.vaisala_ptb import PtbSensor

from .chip_settings import SERIAL_DRIVERS, chip_settings, serial_settings
from .config import SensorSettings


class SensorFactory:
    def __init__(
        self,
        sensors: Sequence[SensorSettings] = (),
        *,
        open_bus: I2CBusOpener = open_i2c_bus,
    ) -> None:
        # `open_i2c_bus` everywhere but in accelerated hardware-in-the-loop runs.
        self._open_bus = open_bus
        self.buses: dict[str, I2CBus] = {}
        self.lines: dict[str, SerialLine] = {}
        # Sensors on one bus share its transport, and so its transfer timeout: the
        # longest any of them asks for, so no sensor's transfers are cut short.
        self._timeout_s: dict[str, float] = {}
        for sensor in sensors:
            self._timeout_s[sensor.bus] = max(
                sensor.timeout_s, self._timeout_s.get(sensor.bus, 0.0)
            )

    def build(self, settings: SensorSettings) -> PressureSensor:
        if settings.driver in SERIAL_DRIVERS:
            return self._serial(settings)
        bus = self.buses.get(settings.bus)
        if bus is None:
            timeout_s = self._timeout_s.get(settings.bus, settings.timeout_s)
            bus = self._open_bus(settings.bus, timeout_s=timeout_s)
            self.buses[settings.bus] = bus
        address = settings.address
        assert address is not None  # the configuration requires one for every I2C driver
        chip = chip_settings(settings.driver, settings.tuning, settings.rate_hz)
        if isinstance(chip, Bmp3Settings):
            return Bmp3Sensor(bus, address, chip, expected_chip=settings.driver)
        return Ms5611Sensor(bus, address, chip, variant=ms56xx_variant(settings.driver))

    def _serial(self, settings: SensorSettings) -> PressureSensor:
        line = self.lines.get(settings.bus)
        if line is None:
            line = SerialLine(
                serial_settings(
                    settings.driver,
                    settings.bus,
                    settings.line_tuning,
                    self._timeout_s.get(settings.bus, settings.timeout_s),
                )
            )
            self.lines[settings.bus] = line
        if settings.driver == "serial_bridge":
            return SerialBridgeSensor(line, expected_rate_hz=settings.rate_hz)
        return PtbSensor(line, address=settings.address)

    async def close(self) -> None:
        for bus in self.buses.values():
            await bus.close()
        for line in self.lines.values():
            await line.close()

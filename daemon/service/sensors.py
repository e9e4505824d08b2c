"""Build the driver objects a configuration names: one transport per bus or port, shared."""

from __future__ import annotations

from collections.abc import Sequence

from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.catalog import DRIVERS
from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.transports import I2CBusOpener, open_i2c_bus
from hullwatch.drivers.transports.serial_port import SerialLine

from ..settings.chip_settings import SERIAL_DRIVERS, chip_settings, serial_settings
from ..settings.config import SensorSettings


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
        open_i2c = DRIVERS[settings.driver].open_i2c
        assert open_i2c is not None  # every I2C driver's descriptor has a factory
        return open_i2c(bus, address, chip)

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
        open_serial = DRIVERS[settings.driver].open_serial
        assert open_serial is not None  # every serial driver's descriptor has a factory
        return open_serial(line, settings.address, settings.rate_hz)

    async def close(self) -> None:
        for bus in self.buses.values():
            await bus.close()
        for line in self.lines.values():
            await line.close()

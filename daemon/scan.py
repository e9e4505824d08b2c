"""`hullwatch scan`: what answers on I2C buses and serial ports, and which sensors they are.

Probing is the SMBus "quick write" i2cdetect uses (an address byte and a
STOP, no data), which no pressure sensor we know acts on. A device that
acknowledges is identified by what only its chip says:

- BMP388/BMP390: CHIP_ID (register 0x00) reads 0x50 or 0x60.
- MS5611/MS5607: it has no registers; after RESET its eight PROM words pass
  the AN520 CRC4, which random data does only once in sixteen tries and an
  all-zero PROM never.

A serial port is tried with each protocol we speak, at its instrument's
default line settings: a `$HWP` bridge (a valid frame within a few seconds),
then a PTB330 (`VERS` names it).

An identified sensor is then initialised and read once, which resets a chip
and puts a PTB330 in STOP mode: scan while the daemon is stopped.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TextIO

from hullwatch.drivers.bmp3 import Bmp3Sensor, Bmp3Settings, variant_for_chip_id
from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.errors import BusError, SensorError
from hullwatch.drivers.ms5611 import MS5611, Ms5611Sensor, Ms5611Settings
from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.serial_bridge import SerialBridgeSensor
from hullwatch.drivers.transports import open_i2c_bus
from hullwatch.drivers.transports.serial_port import SerialLine
from hullwatch.drivers.vaisala_ptb import PtbSensor

from .exit_codes import ExitCode
from .settings.chip_settings import LineTuning, serial_settings

FIRST_ADDRESS = 0x03  # 0x00-0x02 and 0x78-0x7F are reserved by the I2C specification
LAST_ADDRESS = 0x77
REG_CHIP_ID = 0x00
# errnos that mean the adapter itself is missing, not a device at an address.
NO_ADAPTER = frozenset({errno.ENOENT, errno.ENODEV, errno.EACCES, errno.ECONNREFUSED})


class ScanError(Exception):
    """The bus cannot be scanned at all."""


@dataclass(frozen=True, slots=True)
class Finding:
    bus: str
    address: str
    chip: str | None  # None: something answered that we do not know
    detail: str
    pressure_pa: float | None = None
    temperature_c: float | None = None

    def line(self) -> str:
        chip = self.chip or "unknown device"
        reading = ""
        if self.pressure_pa is not None and self.temperature_c is not None:
            reading = f"  {self.pressure_pa:.1f} Pa  {self.temperature_c:.2f} °C"
        return f"{self.bus}  {self.address}  {chip}: {self.detail}{reading}"


@dataclass(frozen=True, slots=True)
class _Where:
    bus: str
    address: str

    def finding(
        self,
        *,
        chip: str | None,
        detail: str,
        pressure_pa: float | None = None,
        temperature_c: float | None = None,
    ) -> Finding:
        return Finding(self.bus, self.address, chip, detail, pressure_pa, temperature_c)


async def scan_i2c(bus: I2CBus) -> list[Finding]:
    findings = []
    for address in range(FIRST_ADDRESS, LAST_ADDRESS + 1):
        try:
            await bus.write(address, b"")
        except BusError as exc:
            if exc.errno in NO_ADAPTER:
                raise ScanError(f"cannot open {bus.name}: {exc.message}") from exc
            continue  # no acknowledge: nothing there
        findings.append(await _identify(bus, address))
    return findings


async def _identify(bus: I2CBus, address: int) -> Finding:
    where = _Where(bus.name, f"0x{address:02x}")
    try:
        chip_id = (await bus.write_read(address, bytes([REG_CHIP_ID]), 1))[0]
    except BusError as exc:
        return where.finding(chip=None, detail=f"answers, but not to a register read: {exc}")
    variant = variant_for_chip_id(chip_id)
    if variant is not None:
        name = variant.name
        sensor: PressureSensor = Bmp3Sensor(
            bus,
            address,
            Bmp3Settings(mode="forced"),  # the driver's default oversampling, IIR off
        )
        return await _first_reading(sensor, name, f"chip id 0x{chip_id:02x}", where)
    if address not in MS5611.addresses:
        return where.finding(chip=None, detail=f"register 0x00 reads 0x{chip_id:02x}")
    ms5611 = Ms5611Sensor(bus, address, Ms5611Settings())  # the driver's default oversampling
    try:
        await ms5611.initialise()
    except SensorError as exc:
        return where.finding(chip=None, detail=f"register 0x00 reads 0x{chip_id:02x}; {exc}")
    return await _first_reading(
        ms5611, "MS5611/MS5607", "PROM CRC4 ok; read as an MS5611", where, initialised=True
    )


async def _first_reading(
    sensor: PressureSensor,
    chip: str,
    detail: str,
    where: _Where,
    *,
    initialised: bool = False,
) -> Finding:
    try:
        if not initialised:
            await sensor.initialise()
        reading = await sensor.read()
        for _ in range(3):  # a normal-mode chip may not have converted yet
            if reading is not None:
                break
            await asyncio.sleep(0.1)
            reading = await sensor.read()
    except SensorError as exc:
        return where.finding(chip=chip, detail=f"{detail}; no reading: {exc}")
    if reading is None:
        return where.finding(chip=chip, detail=f"{detail}; no reading yet")
    return where.finding(
        chip=chip,
        detail=detail,
        pressure_pa=round(reading.pressure_pa, 2),
        temperature_c=round(reading.temperature_c, 3),
    )


async def scan_serial(port: str, *, timeout_s: float) -> Finding:
    """Try each serial protocol we speak, with its instrument's default line settings."""
    where = _Where(port, "-")
    failures = []
    for driver in ("serial_bridge", "ptb330"):
        line = SerialLine(serial_settings(driver, port, LineTuning(), timeout_s))
        sensor: PressureSensor
        if driver == "serial_bridge":
            sensor = SerialBridgeSensor(line, expected_rate_hz=1.0)
        else:
            sensor = PtbSensor(line)
        try:
            await sensor.initialise()
            reading = await sensor.read()
        except SensorError as exc:
            failures.append(f"{driver}: {exc.message}")
            continue
        finally:
            await line.close()
        if reading is None:
            return where.finding(chip=driver, detail=f"{sensor.description}; no reading yet")
        return where.finding(
            chip=driver,
            detail=sensor.description,
            pressure_pa=round(reading.pressure_pa, 2),
            temperature_c=round(reading.temperature_c, 3),
        )
    return where.finding(chip=None, detail="; ".join(failures))


async def scan(
    buses: Sequence[str],
    *,
    serial_ports: Sequence[str] = (),
    timeout_s: float,
    out: TextIO,
    as_json: bool,
) -> int:
    found_any = False
    for spec in buses:
        try:
            bus = open_i2c_bus(spec, timeout_s=timeout_s)
        except ValueError as exc:
            print(f"hullwatch scan: {exc}", file=sys.stderr)
            return ExitCode.USAGE
        try:
            findings = await scan_i2c(bus)
        except ScanError as exc:
            print(f"hullwatch scan: {exc}", file=sys.stderr)
            continue
        finally:
            await bus.close()
        if not findings:
            print(f"{spec}: no device answered", file=sys.stderr)
        for finding in findings:
            found_any = found_any or finding.chip is not None
            print(json.dumps(asdict(finding)) if as_json else finding.line(), file=out)
    for port in serial_ports:
        finding = await scan_serial(port, timeout_s=max(timeout_s, 1.0))
        found_any = found_any or finding.chip is not None
        print(json.dumps(asdict(finding)) if as_json else finding.line(), file=out)
    return ExitCode.OK if found_any else ExitCode.FAILURE

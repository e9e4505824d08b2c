"""`hullwatch scan`: what answers on I2C buses and serial ports, and which sensors they are.

Probing is the SMBus "quick write" i2cdetect uses (an address byte and a
STOP, no data), which no pressure sensor we know acts on. A device that
acknowledges is identified by what only its chip says: each I2C family's probe
in the driver catalog is asked in turn (drivers/catalog.py; BMP388/BMP390 by
CHIP_ID, then MS5611/MS5607 by the PROM's CRC4), and what the ones that do not
recognise it saw is reported.

A serial port is tried with each serial driver's probe in catalog order, at its
instrument's default line settings: a `$HWP` bridge (a valid frame within a
few seconds), then a PTB330 (`VERS` names it).

An identified sensor is initialised by its probe and read once here, which
resets a chip and puts a PTB330 in STOP mode: scan while the daemon is stopped.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TextIO

from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.catalog import i2c_probes, serial_drivers
from hullwatch.drivers.errors import BusError, SensorError
from hullwatch.drivers.probe import Identified
from hullwatch.drivers.sensor import PressureSensor
from hullwatch.drivers.transports import open_i2c_bus
from hullwatch.drivers.transports.serial_port import SerialLine

from .exit_codes import ExitCode
from .settings.chip_settings import LineTuning, serial_settings

FIRST_ADDRESS = 0x03  # 0x00-0x02 and 0x78-0x7F are reserved by the I2C specification
LAST_ADDRESS = 0x77
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
    clues = []
    for probe in i2c_probes():
        found = await probe(bus, address)
        if found is None:
            continue  # the family cannot be at this address
        if isinstance(found, Identified):
            if isinstance(found.sensor, SensorError):
                return where.finding(
                    chip=found.chip, detail=f"{found.detail}; no reading: {found.sensor}"
                )
            return await _first_reading(found.sensor, found.chip, found.detail, where)
        clues.append(found.detail)
        if found.final:
            break
    return where.finding(chip=None, detail="; ".join(clues))


async def _first_reading(sensor: PressureSensor, chip: str, detail: str, where: _Where) -> Finding:
    """Read an initialised sensor once (a normal-mode chip may need a moment)."""
    try:
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
    """Try each serial driver's probe, with its instrument's default line settings."""
    where = _Where(port, "-")
    failures = []
    for driver in serial_drivers():
        assert driver.probe_serial is not None  # serial_drivers() lists those with a probe
        line = SerialLine(serial_settings(driver.name, port, LineTuning(), timeout_s))
        try:
            sensor = await driver.probe_serial(line)
            reading = await sensor.read()
        except SensorError as exc:
            failures.append(f"{driver.name}: {exc.message}")
            continue
        finally:
            await line.close()
        if reading is None:
            return where.finding(chip=driver.name, detail=f"{sensor.description}; no reading yet")
        return where.finding(
            chip=driver.name,
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

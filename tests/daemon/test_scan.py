"""`scan_i2c` in one process: the catalog's probes against the chip simulators.

The same bus the simulator process serves (tests/integration/test_scan.py runs
`hullwatch scan` against it), reached in-process: the probes' waits are real
sleeps and the simulators run on the real monotonic clock, so a chip has
always finished when the driver looks.
"""

from __future__ import annotations

import errno
import os
import random
import time

import pytest

from hullwatch.daemon.scan import Finding, scan_i2c
from hullwatch.drivers.bmp3 import BMP388, BMP390
from hullwatch.drivers.bmp3 import probe as bmp3_probe
from hullwatch.drivers.catalog import DRIVERS, i2c_probes, serial_drivers
from hullwatch.drivers.ms5611 import probe as ms56xx_probe
from hullwatch.hil.bmp3_sim import Bmp3Simulator
from hullwatch.hil.i2c_bus import I2CTransferError, SimulatedI2CBus
from hullwatch.hil.loopback import InProcessI2CBus
from hullwatch.hil.ms5611_sim import Ms5611Simulator

PRESSURE_PA = 99_000.0
TEMPERATURE_C = 20.0


def _conditions(_t_s: float) -> tuple[float, float]:
    return PRESSURE_PA, TEMPERATURE_C


class AcksOnly:
    """A device that acknowledges its address but fails every transfer with data."""

    def on_write(self, data: bytes) -> None:
        if data:
            raise I2CTransferError(errno.EIO, os.strerror(errno.EIO))

    def on_read(self, length: int) -> bytes:
        raise I2CTransferError(errno.EIO, os.strerror(errno.EIO))


async def _scan(wire: SimulatedI2CBus) -> dict[str, Finding]:
    findings = await scan_i2c(InProcessI2CBus(wire, name="sim:test"))
    return {f.address: f for f in findings}


def _bmp3(chip_id: int) -> Bmp3Simulator:
    return Bmp3Simulator(chip_id=chip_id, clock=time.monotonic, conditions=_conditions, noise=False)


def _ms5611() -> Ms5611Simulator:
    return Ms5611Simulator(
        clock=time.monotonic, conditions=_conditions, rng=random.Random(1), noise=False
    )


def test_scan_tries_the_families_in_catalog_order() -> None:
    assert i2c_probes() == (bmp3_probe.probe, ms56xx_probe.probe)
    assert [d.name for d in serial_drivers()] == ["serial_bridge", "ptb330"]
    assert all(d.probe_i2c is not None for d in DRIVERS.values() if not d.is_serial)


async def test_each_chip_is_named_by_what_it_says_and_read_once() -> None:
    wire = SimulatedI2CBus()
    wire.attach(0x40, _bmp3(BMP390.chip_id))
    wire.attach(0x41, _bmp3(BMP388.chip_id))
    wire.attach(0x77, _ms5611())
    findings = await _scan(wire)
    assert sorted(findings) == ["0x40", "0x41", "0x77"]
    assert (findings["0x40"].chip, findings["0x40"].detail) == ("BMP390", "chip id 0x60")
    assert (findings["0x41"].chip, findings["0x41"].detail) == ("BMP388", "chip id 0x50")
    assert (findings["0x77"].chip, findings["0x77"].detail) == (
        "MS5611/MS5607",
        "PROM CRC4 ok; read as an MS5611",
    )
    for finding in findings.values():
        assert finding.pressure_pa == pytest.approx(PRESSURE_PA, abs=2.0)
        assert finding.temperature_c == pytest.approx(TEMPERATURE_C, abs=0.05)


async def test_what_each_probe_saw_is_reported_for_a_device_none_recognises() -> None:
    wire = SimulatedI2CBus()
    blank = _ms5611()
    blank.blank_calibration()
    wire.attach(0x76, blank)  # an MS56xx address: both probes ask
    wire.attach(0x50, _ms5611())  # not an MS56xx address: the BMP3 probe only
    findings = await _scan(wire)
    assert findings["0x76"].chip is None
    assert findings["0x76"].detail.startswith("register 0x00 reads 0x00; PROM reads all 0x0000")
    assert (findings["0x50"].chip, findings["0x50"].detail) == (None, "register 0x00 reads 0x00")


async def test_a_device_that_takes_no_register_read_is_probed_no_further() -> None:
    wire = SimulatedI2CBus()
    wire.attach(0x77, AcksOnly())
    (finding,) = (await _scan(wire)).values()
    assert finding.chip is None
    assert finding.detail.startswith("answers, but not to a register read: I2C transfer failed")
    assert "PROM" not in finding.detail  # the MS56xx probe was not asked

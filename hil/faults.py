"""Faults a scenario injects into simulated sensors, on a schedule.

Bus-level faults wrap the device on the simulated bus and fail its transfers
as an adapter would report them: `nack` (the chip does not acknowledge:
EREMOTEIO on the Raspberry Pi's i2c-bcm2835), `eio` (a bus error: EIO),
`hang` (SCL held low: the transfer never completes, the client times out).
Chip-level faults act on the simulated silicon: `stuck` freezes its output
registers, `spike` adds a one-sample offset, `drift` adds a slowly growing
offset to what the sensor sees, `disappear` takes the chip off the bus (it
comes back powered-on-reset: calibration to be re-read, configuration to be
re-written), `corrupt_calibration` blanks its calibration memory.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .i2c_bus import I2CDevice, I2CTransferError


class SimulatedChip(I2CDevice, Protocol):
    """What chip-level faults act on; every sensor simulator has these, and counts the
    pressure readings it served."""

    pressure_reads: int

    def freeze_output(self, frozen: bool) -> None: ...

    def inject_spike(self, delta_pa: float) -> None: ...

    def blank_calibration(self) -> None: ...

    def restore_calibration(self) -> None: ...


BUS_FAULTS = frozenset({"nack", "eio", "hang"})


class BusHangError(I2CTransferError):
    """A transfer that never completes; a server holds the reply back for `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT))
        self.seconds = seconds


@dataclass
class ActiveWindow:
    start_s: float
    end_s: float  # inf for "until the end"

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


class FaultyDevice:
    """Wraps a device on the simulated bus; fails its transfers while a bus fault is active."""

    def __init__(self, device: I2CDevice, clock: Callable[[], float]) -> None:
        self.device = device
        self._clock = clock
        self._windows: list[tuple[str, ActiveWindow]] = []

    def add(self, kind: str, window: ActiveWindow) -> None:
        if kind not in BUS_FAULTS:
            raise ValueError(f"{kind!r} is not a bus fault")
        self._windows.append((kind, window))

    def on_write(self, data: bytes) -> None:
        if self._windows:
            self._check()
        self.device.on_write(data)

    def on_read(self, length: int) -> bytes:
        if self._windows:
            self._check()
        return self.device.on_read(length)

    def _check(self) -> None:
        now = self._clock()
        for kind, window in self._windows:
            if not window.covers(now):
                continue
            if kind == "nack":
                raise I2CTransferError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
            if kind == "eio":
                raise I2CTransferError(errno.EIO, os.strerror(errno.EIO))
            raise BusHangError(window.end_s - now)

"""What the daemon needs from any pressure sensor driver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Reading:
    """One compensated measurement."""

    pressure_pa: float
    temperature_c: float


class PressureSensor(Protocol):
    """A pressure sensor after construction; `initialise` may be called again after a fault."""

    @property
    def description(self) -> str:
        """Chip and where it sits, for logs: `BMP390 at 0x77 on /dev/i2c-1`."""
        ...

    async def initialise(self) -> None:
        """Probe (identity check), reset, read calibration, configure, start measuring."""
        ...

    async def read(self) -> Reading | None:
        """The newest measurement, or None when the chip has no new one since the last read."""
        ...

"""The I2C bus interface chip drivers are written against.

A transport moves bytes to and from a 7-bit address; it knows nothing about
registers or chips. Every transport serialises its transfers (one transfer on
a bus at a time, as on the wire) and never blocks the event loop.
"""

from __future__ import annotations

from typing import Protocol


class I2CBus(Protocol):
    """An I2C adapter, as seen by a chip driver."""

    @property
    def name(self) -> str:
        """Where the bus is, for messages: `/dev/i2c-1`, `sim:/run/hullwatch/sim.sock`."""
        ...

    async def write(self, address: int, data: bytes) -> None:
        """One write message: START, address+W, data, STOP."""
        ...

    async def write_read(self, address: int, data: bytes, read_length: int) -> bytes:
        """A write then a read with a repeated START between them (a combined transfer)."""
        ...

    async def close(self) -> None:
        """Release the adapter; safe to call twice."""
        ...

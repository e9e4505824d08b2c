"""An `I2CBus` that reaches a `SimulatedI2CBus` in the same process.

Used where the simulator and the driver share one process and one clock
(driver tests, accelerated hardware-in-the-loop runs). The bytes on the
"wire" are the same messages the socket transport carries.
"""

from __future__ import annotations

from hullwatch.drivers.errors import BusError
from hullwatch.drivers.transports.sim_wire import Message

from .i2c_bus import I2CTransferError, SimulatedI2CBus


class InProcessI2CBus:
    """Implements `hullwatch.drivers.bus.I2CBus` over a `SimulatedI2CBus`."""

    def __init__(self, bus: SimulatedI2CBus, name: str = "sim:in-process") -> None:
        self._bus = bus
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def write(self, address: int, data: bytes) -> None:
        self._transfer(address, [Message.write(address, data)])

    async def write_read(self, address: int, data: bytes, read_length: int) -> bytes:
        return self._transfer(
            address, [Message.write(address, data), Message.read_of(address, read_length)]
        )

    async def close(self) -> None:
        return None

    def _transfer(self, address: int, messages: list[Message]) -> bytes:
        try:
            return self._bus.transfer(messages)
        except I2CTransferError as exc:
            raise BusError(
                f"I2C transfer failed: {exc.strerror}",
                bus=self._name,
                address=address,
                errno=exc.errno,
            ) from exc

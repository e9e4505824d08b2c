"""`I2CBus` transports that reach a `SimulatedI2CBus` in the same process.

`InProcessI2CBus` is for driver tests, where the simulator and the driver share
one process and a `VirtualClock`: the bytes on the "wire" are the same
messages the socket transport carries, and a hung bus fails at once.

`SimulatedTimeI2CBus` is for accelerated hardware-in-the-loop runs on the
simulated-time event loop (`virtual_loop`): it behaves as `SimSocketBus`
talking to `hullwatch sim` does, errors and timeouts included, without the
socket round trip (about two thirds of the wall time of a sample).
"""

from __future__ import annotations

import asyncio
import errno
from typing import NoReturn

from hullwatch.drivers.errors import BusError
from hullwatch.drivers.transports.sim import no_answer_error, status_error
from hullwatch.drivers.transports.sim_wire import Message

from .faults import BusHangError
from .i2c_bus import I2CTransferError, SimulatedI2CBus
from .sim_server import MAX_HANG_S


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


class SimulatedTimeI2CBus:
    """`SimSocketBus` and `BusServer` folded into direct calls, for the simulated-time loop.

    What the daemon sees is what it sees over the socket: a NACK or bus error
    is a `BusError` with the adapter's errno and the same message; a hung bus
    (`hang` fault) answers ETIMEDOUT after the hang when that comes before
    `timeout_s`, otherwise the transfer times out at `timeout_s`, and other
    transfers on the bus wait meanwhile, as they wait for the socket client's
    lock. Those waits are `asyncio.sleep`, so they take simulated time.
    """

    def __init__(self, bus: SimulatedI2CBus, *, name: str, timeout_s: float) -> None:
        self._bus = bus
        self._name = name
        self._timeout_s = timeout_s
        # Held only while a transfer hangs; a transfer that does not hang never
        # suspends, so nothing can come between its write and its read.
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self._name

    async def write(self, address: int, data: bytes) -> None:
        if not self._lock.locked():
            try:
                self._bus.write(address, data)
            except BusHangError as hang:
                async with self._lock:
                    await self._hang(address, hang)
            except I2CTransferError as exc:
                raise self._failed(address, exc) from exc
            return
        await self._after_hang(address, data, None)

    async def write_read(self, address: int, data: bytes, read_length: int) -> bytes:
        if not self._lock.locked():
            try:
                return self._bus.write_read(address, data, read_length)
            except BusHangError as hang:
                async with self._lock:
                    await self._hang(address, hang)
            except I2CTransferError as exc:
                raise self._failed(address, exc) from exc
        return await self._after_hang(address, data, read_length)

    async def close(self) -> None:
        return None

    async def _after_hang(self, address: int, data: bytes, read_length: int | None) -> bytes:
        """A transfer that found the bus hung: it waits its turn, as on the socket."""
        async with self._lock:
            try:
                if read_length is None:
                    self._bus.write(address, data)
                    return b""
                return self._bus.write_read(address, data, read_length)
            except BusHangError as hang:
                await self._hang(address, hang)
            except I2CTransferError as exc:
                raise self._failed(address, exc) from exc

    def _failed(self, address: int, exc: I2CTransferError) -> BusError:
        return status_error(exc.errno or errno.EIO, bus=self._name, address=address)

    async def _hang(self, address: int, hang: BusHangError) -> NoReturn:
        # BusServer holds the reply back for the hang (at most MAX_HANG_S) and then
        # answers ETIMEDOUT; SimSocketBus gives up after its timeout.
        held_s = min(hang.seconds, MAX_HANG_S)
        if held_s < self._timeout_s:
            await asyncio.sleep(held_s)
            raise status_error(errno.ETIMEDOUT, bus=self._name, address=address) from hang
        await asyncio.sleep(self._timeout_s)
        raise no_answer_error(self._timeout_s, bus=self._name, address=address) from hang

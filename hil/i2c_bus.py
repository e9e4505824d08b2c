"""The simulated I2C bus: devices at 7-bit addresses, combined transfers, NACKs.

A device sees what a real I2C slave sees: the bytes master writes, and
requests for bytes to read. It keeps its own state (a register pointer, a
pending command) between transactions, as silicon does.
"""

from __future__ import annotations

import errno
import os
from typing import Protocol

from hullwatch.drivers.transports.sim_wire import Message


class I2CDevice(Protocol):
    """A slave on the simulated bus."""

    def on_write(self, data: bytes) -> None:
        """The master wrote `data` (after address+W) to this device."""
        ...

    def on_read(self, length: int) -> bytes:
        """The master reads `length` bytes (after address+R) from this device."""
        ...


class I2CTransferError(OSError):
    """What the adapter reports for a failed transfer: an errno, as i2c-dev does."""


class SimulatedI2CBus:
    """Devices by address; a transfer is the list of messages of one I2C_RDWR."""

    def __init__(self) -> None:
        self._devices: dict[int, I2CDevice] = {}

    def attach(self, address: int, device: I2CDevice) -> None:
        if address in self._devices:
            raise ValueError(f"address 0x{address:02x} already has a device")
        self._devices[address] = device

    def detach(self, address: int) -> I2CDevice:
        return self._devices.pop(address)

    def device_at(self, address: int) -> I2CDevice | None:
        return self._devices.get(address)

    @property
    def addresses(self) -> list[int]:
        return sorted(self._devices)

    def write(self, address: int, data: bytes) -> None:
        """One write message: what `transfer([Message.write(address, data)])` does,
        without building the message (the in-process transport's hot path)."""
        device = self._devices.get(address)
        if device is None:
            raise I2CTransferError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        device.on_write(data)

    def write_read(self, address: int, data: bytes, read_length: int) -> bytes:
        """A write then a read of `read_length` bytes in one transfer, as `transfer` runs
        those two messages."""
        device = self._devices.get(address)
        if device is None:
            raise I2CTransferError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        device.on_write(data)
        out = device.on_read(read_length)
        if len(out) != read_length:
            raise AssertionError("a simulated device returned the wrong length")
        return out

    def transfer(self, messages: list[Message]) -> bytes:
        """Run the messages in order; return the bytes of every read, concatenated.

        An address with no device does not acknowledge: the Linux i2c drivers
        report that as ENXIO (bcm2835 says EREMOTEIO), and the transfer stops there.
        """
        out = bytearray()
        for message in messages:
            device = self._devices.get(message.address)
            if device is None:
                raise I2CTransferError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
            if message.read:
                data = device.on_read(message.length)
                if len(data) != message.length:
                    raise AssertionError("a simulated device returned the wrong length")
                out += data
            else:
                device.on_write(message.data)
        return bytes(out)

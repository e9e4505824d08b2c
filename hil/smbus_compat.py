"""The simulated bus behind smbus2's `SMBus` method names, for scripts and third-party drivers.

    from smbus2 import i2c_msg
    from hullwatch.hil.smbus_compat import SimSMBus

    with SimSMBus("/tmp/hullwatch-demo/sim.sock") as bus:
        chip_id = bus.read_byte_data(0x77, 0x00)
        write, read = i2c_msg.write(0x77, [0x04]), i2c_msg.read(0x77, 6)
        bus.i2c_rdwr(write, read)
        data = bytes(read)

Failures raise OSError with the errno the Linux adapter would give, as smbus2 does.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable
from types import TracebackType

from smbus2 import i2c_msg

from hullwatch.drivers.transports.sim_wire import (
    LENGTH_HEADER_SIZE,
    Message,
    decode_response,
    encode_request,
    frame_length,
)

I2C_M_RD = 0x0001  # linux/i2c.h


class SimSMBus:
    """A blocking client of `hullwatch sim`'s socket with smbus2.SMBus's methods."""

    def __init__(self, socket_path: str, *, timeout_s: float = 1.0) -> None:
        self._socket_path = socket_path
        self._timeout_s = timeout_s
        self._socket: socket.socket | None = self._connect()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> SimSMBus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def i2c_rdwr(self, *messages: i2c_msg) -> None:
        """Run a combined transfer; read messages are filled in place, as smbus2 does."""
        wire = []
        for message in messages:
            if message.flags & I2C_M_RD:
                wire.append(Message.read_of(message.addr, message.len))
            else:
                wire.append(Message.write(message.addr, bytes(message)))
        data = self._exchange(wire)
        offset = 0
        for message in messages:
            if message.flags & I2C_M_RD:
                for index in range(message.len):
                    message.buf[index] = data[offset + index]
                offset += message.len

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        return self.read_i2c_block_data(i2c_addr, register, 1)[0]

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None:
        self.write_i2c_block_data(i2c_addr, register, [value])

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        if not 1 <= length <= 32:  # I2C_SMBUS_BLOCK_MAX, as smbus2 enforces
            raise ValueError("Desired block length over 32 bytes")
        data = self._exchange(
            [Message.write(i2c_addr, bytes([register])), Message.read_of(i2c_addr, length)]
        )
        return list(data)

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: Iterable[int], force: bool | None = None
    ) -> None:
        payload = bytes([register, *data])
        if len(payload) > 33:
            raise ValueError("Data length cannot exceed 32 bytes")
        self._exchange([Message.write(i2c_addr, payload)])

    def _connect(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self._timeout_s)
        try:
            connection.connect(self._socket_path)
        except OSError:
            connection.close()
            raise
        return connection

    def _exchange(self, messages: list[Message]) -> bytes:
        if self._socket is None:
            self._socket = self._connect()
        try:
            self._socket.sendall(encode_request(messages))
            header = self._receive(self._socket, LENGTH_HEADER_SIZE)
            status, data = decode_response(self._receive(self._socket, frame_length(header)))
        except TimeoutError as exc:
            # A late answer must not be taken for the reply to the next request:
            # drop the connection and open a new one next time.
            self.close()
            raise OSError(errno.ETIMEDOUT, "the simulated bus did not answer in time") from exc
        except OSError:
            self.close()
            raise
        if status:
            raise OSError(status, os.strerror(status))
        return data

    @staticmethod
    def _receive(connection: socket.socket, length: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < length:
            chunk = connection.recv(length - len(chunks))
            if not chunk:
                raise OSError(errno.ECONNRESET, "the simulator closed the bus socket")
            chunks += chunk
        return bytes(chunks)

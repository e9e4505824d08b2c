"""I2C transport to the hullwatch simulator over a local socket (`sim:/path/to.sock`).

The daemon uses this exactly where a Raspberry Pi uses `/dev/i2c-1`; the chip
driver above it cannot tell the difference. The socket is opened lazily and
re-opened after a failure, so a restarted simulator looks like a device that
came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno as errno_codes
import os

from ..errors import BusError, BusTimeoutError
from .sim_wire import (
    LENGTH_HEADER_SIZE,
    Message,
    WireFormatError,
    decode_response,
    encode_request,
    frame_length,
)

SCHEME = "sim:"


def status_error(status: int, *, bus: str, address: int) -> BusError:
    """What a transfer the simulated adapter answered with errno `status` raises."""
    return BusError(
        f"I2C transfer failed: {os.strerror(status)}", bus=bus, address=address, errno=status
    )


def no_answer_error(timeout_s: float, *, bus: str, address: int) -> BusTimeoutError:
    """What a transfer the simulated bus did not answer within `timeout_s` raises."""
    return BusTimeoutError(
        f"no answer from the simulated bus within {timeout_s} s",
        bus=bus,
        address=address,
        errno=errno_codes.ETIMEDOUT,
    )


class SimSocketBus:
    """An `I2CBus` whose wires are a Unix socket to `hullwatch sim`."""

    def __init__(self, socket_path: str, *, timeout_s: float = 1.0) -> None:
        self._socket_path = socket_path
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def name(self) -> str:
        return f"{SCHEME}{self._socket_path}"

    async def write(self, address: int, data: bytes) -> None:
        await self._transfer(address, [Message.write(address, data)])

    async def write_read(self, address: int, data: bytes, read_length: int) -> bytes:
        return await self._transfer(
            address, [Message.write(address, data), Message.read_of(address, read_length)]
        )

    async def close(self) -> None:
        async with self._lock:
            await self._drop_connection()

    async def _transfer(self, address: int, messages: list[Message]) -> bytes:
        request = encode_request(messages)
        async with self._lock:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                # cancellation that lands as the read completes, and a poller being
                # stopped would then go on sampling.
                async with asyncio.timeout(self._timeout_s):
                    status, data = await self._exchange(request)
            except TimeoutError as exc:
                await self._drop_connection()
                raise no_answer_error(self._timeout_s, bus=self.name, address=address) from exc
            except (OSError, EOFError, asyncio.IncompleteReadError, WireFormatError) as exc:
                await self._drop_connection()
                raise BusError(
                    f"simulated bus connection failed: {exc}",
                    bus=self.name,
                    address=address,
                    errno=getattr(exc, "errno", None) or errno_codes.EIO,
                ) from exc
        if status != 0:
            # The adapter answered but the device did not (NACK) or the bus
            # faulted; the connection itself is fine and stays open.
            raise status_error(status, bus=self.name, address=address)
        return data

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_unix_connection(self._socket_path)
        assert self._reader is not None
        self._writer.write(request)
        await self._writer.drain()
        header = await self._reader.readexactly(LENGTH_HEADER_SIZE)
        payload = await self._reader.readexactly(frame_length(header))
        return decode_response(payload)

    async def _drop_connection(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

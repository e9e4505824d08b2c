"""Serves a simulated I2C bus on a Unix socket (the format of `sim_wire`)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from pathlib import Path

import structlog

from hullwatch.drivers.transports.sim_wire import (
    LENGTH_HEADER_SIZE,
    WireFormatError,
    decode_request,
    encode_response,
    frame_length,
)

from .faults import BusHangError
from .i2c_bus import I2CTransferError, SimulatedI2CBus

log = structlog.get_logger("hullwatch.sim")

CLOSE_TIMEOUT_S = 2.0
MAX_HANG_S = 60.0


class BusServer:
    """One bus, any number of clients; transfers run one at a time, as on a wire."""

    def __init__(self, bus: SimulatedI2CBus, socket_path: Path) -> None:
        self._bus = bus
        self._socket_path = socket_path
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._socket_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self._socket_path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self._socket_path))
        os.chmod(self._socket_path, 0o660)

    async def close(self) -> None:
        """Stop listening and hang up on every client, as a simulator that exits would."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            if self._handlers:
                await asyncio.wait(self._handlers, timeout=CLOSE_TIMEOUT_S)
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self._socket_path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._clients.add(writer)
        self._handlers.add(handler)
        try:
            while True:
                try:
                    header = await reader.readexactly(LENGTH_HEADER_SIZE)
                    payload = await reader.readexactly(frame_length(header))
                except asyncio.IncompleteReadError:
                    return
                try:
                    answer = self._answer(payload)
                except BusHangError as hang:
                    # SCL held low: nothing comes back until the fault clears, and by
                    # then the client has long given up.
                    await asyncio.sleep(min(hang.seconds, MAX_HANG_S))
                    answer = encode_response(errno.ETIMEDOUT)
                writer.write(answer)
                await writer.drain()
        except ConnectionError:
            return
        finally:
            self._clients.discard(writer)
            self._handlers.discard(handler)
            writer.close()

    def _answer(self, payload: bytes) -> bytes:
        try:
            messages = decode_request(payload)
        except WireFormatError as exc:
            log.warning("malformed request", error=str(exc))
            return encode_response(errno.EINVAL)
        try:
            return encode_response(0, self._bus.transfer(messages))
        except BusHangError:
            raise
        except I2CTransferError as exc:
            return encode_response(exc.errno or errno.EIO)

"""BusServer on a Unix socket in the test's event loop, and SimSocketBus as its client."""

from __future__ import annotations

import asyncio
import errno
import os
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hullwatch.drivers.bmp3 import registers as r
from hullwatch.drivers.errors import BusError, BusTimeoutError
from hullwatch.drivers.transports.sim import SimSocketBus
from hullwatch.drivers.transports.sim_wire import (
    LENGTH_HEADER_SIZE,
    WIRE_VERSION,
    Message,
    encode_request,
    frame_length,
)
from hullwatch.hil.bmp3_sim import Bmp3Simulator
from hullwatch.hil.i2c_bus import SimulatedI2CBus
from hullwatch.hil.sim_server import BusServer
from hullwatch.hil.virtual_clock import VirtualClock

ADDRESS = 0x77
NO_DEVICE_ADDRESS = 0x42
BMP388_ID, BMP390_ID = 0x50, 0x60
TIMEOUT_S = 0.3


def _wire_with_chip(chip_id: int) -> SimulatedI2CBus:
    clock = VirtualClock()
    wire = SimulatedI2CBus()
    wire.attach(
        ADDRESS,
        Bmp3Simulator(chip_id=chip_id, clock=clock.now, conditions=lambda _t: (101_325.0, 22.0)),
    )
    clock.advance(1.0)  # past the chip's start-up time, so that it takes writes
    return wire


StartServer = Callable[[int], Awaitable[BusServer]]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Starts BusServers on `tmp_path/sim.sock` (one chip at 0x77); closes them at the end."""
    servers: list[BusServer] = []

    async def start(chip_id: int = BMP388_ID) -> BusServer:
        server = BusServer(_wire_with_chip(chip_id), tmp_path / "sim.sock")
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()
    # Let the server's connection handlers see their clients go before the loop closes.
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=2.0)


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "sim.sock"


@pytest.fixture
async def sim_bus(socket_path: Path) -> AsyncIterator[SimSocketBus]:
    bus = SimSocketBus(str(socket_path), timeout_s=TIMEOUT_S)
    yield bus
    await bus.close()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, frame: bytes
) -> tuple[int, bytes]:
    writer.write(frame)
    await writer.drain()
    header = await asyncio.wait_for(reader.readexactly(LENGTH_HEADER_SIZE), 2.0)
    payload = await asyncio.wait_for(reader.readexactly(frame_length(header)), 2.0)
    return payload[0], payload[1:]


def _frame(payload: bytes) -> bytes:
    return struct.pack(">H", len(payload)) + payload


READ_CHIP_ID = encode_request(
    [Message.write(ADDRESS, bytes([r.REG_CHIP_ID])), Message.read_of(ADDRESS, 1)]
)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(bytes([WIRE_VERSION + 1, 1, ADDRESS, 1, 0, 1]), id="bad-version"),
        pytest.param(bytes([WIRE_VERSION, 0]), id="no-messages"),
        pytest.param(bytes([WIRE_VERSION, 1, ADDRESS, 0, 0, 4, 0x00]), id="truncated-write"),
        pytest.param(bytes([WIRE_VERSION]), id="short-header"),
    ],
)
async def test_malformed_frame_gets_einval_and_the_connection_keeps_working(
    start_server: StartServer, socket_path: Path, payload: bytes
) -> None:
    await start_server(BMP388_ID)
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    try:
        status, data = await _exchange(reader, writer, _frame(payload))
        assert (status, data) == (errno.EINVAL, b"")

        status, data = await _exchange(reader, writer, READ_CHIP_ID)
        assert (status, data) == (0, bytes([BMP388_ID]))
    finally:
        writer.close()
        await writer.wait_closed()


async def test_nack_is_a_bus_error_and_keeps_the_connection(
    start_server: StartServer, socket_path: Path, sim_bus: SimSocketBus
) -> None:
    await start_server(BMP388_ID)
    assert await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1) == bytes([BMP388_ID])

    with pytest.raises(BusError) as raised:
        await sim_bus.write_read(NO_DEVICE_ADDRESS, bytes([r.REG_CHIP_ID]), 1)
    assert type(raised.value) is BusError
    assert raised.value.errno == errno.EREMOTEIO
    assert raised.value.retriable
    assert raised.value.address == NO_DEVICE_ADDRESS
    assert raised.value.bus == f"sim:{socket_path}"

    # Nobody can connect any more; only the connection opened before the NACK works.
    os.unlink(socket_path)
    await sim_bus.write(ADDRESS, bytes([r.REG_PWR_CTRL, r.PWR_CTRL_PRESS_EN]))
    assert await sim_bus.write_read(ADDRESS, bytes([r.REG_PWR_CTRL]), 1) == bytes(
        [r.PWR_CTRL_PRESS_EN]
    )


async def test_closed_server_is_a_bus_error_and_a_restarted_one_is_found_again(
    start_server: StartServer, sim_bus: SimSocketBus
) -> None:
    first = await start_server(BMP388_ID)
    await first.close()

    with pytest.raises(BusError) as raised:
        await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1)
    assert raised.value.errno in (errno.ENOENT, errno.ECONNREFUSED)
    assert raised.value.retriable

    # The same bus object reconnects on its next transfer, to the new server.
    await start_server(BMP390_ID)
    assert await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1) == bytes([BMP390_ID])


async def test_connection_dropped_by_the_peer_is_a_bus_error_then_reconnects(
    start_server: StartServer, socket_path: Path, sim_bus: SimSocketBus
) -> None:
    """A simulator that dies mid-transfer: its end of the socket closes without an answer."""
    requests = 0

    async def crash(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await reader.readexactly(LENGTH_HEADER_SIZE)
        requests += 1
        writer.close()

    dying = await asyncio.start_unix_server(crash, path=str(socket_path))
    try:
        with pytest.raises(BusError) as raised:
            await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1)
    finally:
        dying.close()
        await dying.wait_closed()
    assert requests == 1
    assert not isinstance(raised.value, BusTimeoutError)  # an answer of EOF, not silence
    assert raised.value.errno == errno.EIO

    await start_server(BMP390_ID)
    assert await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1) == bytes([BMP390_ID])


async def test_closing_the_server_drops_connections_already_open(
    start_server: StartServer, sim_bus: SimSocketBus
) -> None:
    first = await start_server(BMP388_ID)
    assert await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1) == bytes([BMP388_ID])
    await first.close()

    with pytest.raises(BusError):
        await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1)
    await start_server(BMP390_ID)
    assert await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1) == bytes([BMP390_ID])


async def test_silent_server_is_a_timeout_within_the_configured_time(
    socket_path: Path, sim_bus: SimSocketBus
) -> None:
    received = asyncio.Event()
    client_gone = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(LENGTH_HEADER_SIZE)
        received.set()
        await reader.read()  # until the client hangs up; never a byte back
        client_gone.set()
        writer.close()

    silent = await asyncio.start_unix_server(never_answer, path=str(socket_path))
    try:
        started = time.monotonic()
        with pytest.raises(BusTimeoutError) as raised:
            await sim_bus.write_read(ADDRESS, bytes([r.REG_CHIP_ID]), 1)
        elapsed_s = time.monotonic() - started

        assert received.is_set()
        assert TIMEOUT_S <= elapsed_s < TIMEOUT_S + 0.5
        assert raised.value.errno == errno.ETIMEDOUT
        assert raised.value.retriable
        assert str(TIMEOUT_S) in str(raised.value)
        # The bus hung up on the silent connection rather than reuse it.
        await asyncio.wait_for(client_gone.wait(), 2.0)
    finally:
        silent.close()
        await silent.wait_closed()

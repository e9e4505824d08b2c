"""SerialLine on real pseudo-terminals: lines, limits, timeouts, errors, unplug and replug."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import struct
import termios
import threading
import time
import tty
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from hullwatch.drivers.errors import BusError, BusTimeoutError
from hullwatch.drivers.transports.serial_port import (
    LineTooLongError,
    SerialLine,
    SerialSettings,
)
from hullwatch.hil.serial_sims import PtyLink

TIMEOUT_S = 0.3
# Generous: a pty crossing on a loaded Raspberry Pi, many times over; only a hang reaches it.
WAIT_S = 10.0


def queued_bytes(path: str) -> int:
    """Bytes the pty has delivered to the terminal at `path` and nobody has read yet."""
    fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        count: int = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
    finally:
        os.close(fd)
    return count


async def delivered(path: str, count: int) -> None:
    """Wait until `count` bytes written to the master are readable at `path`: the pty
    hands them over asynchronously (a kernel work item), so a write is not yet a delivery."""
    deadline = time.monotonic() + WAIT_S
    while (queued := queued_bytes(path)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{queued} of {count} bytes delivered after {WAIT_S} s")
        await asyncio.sleep(0.005)


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """(master fd, slave path) of a raw pty; the test plays the device on the master."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        os.close(fd)


@pytest.fixture
async def line_factory() -> AsyncIterator[Callable[..., SerialLine]]:
    lines: list[SerialLine] = []

    def make(port: str, **overrides: object) -> SerialLine:
        settings: dict[str, object] = {"timeout_s": TIMEOUT_S, **overrides}
        line = SerialLine(SerialSettings(port, **settings))  # type: ignore[arg-type]
        lines.append(line)
        return line

    yield make
    for line in lines:
        await line.close()


class Responder:
    """Plays a device on the master side: answers each CR-terminated command."""

    def __init__(self, master: int, answer: Callable[[bytes], bytes]) -> None:
        self.master = master
        self.answer = answer
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Responder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        import select

        pending = b""
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master], [], [], 0.02)
            if not readable:
                continue
            pending += os.read(self.master, 4096)
            while b"\r" in pending:
                command, _, pending = pending.partition(b"\r")
                self.received.append(command)
                os.write(self.master, self.answer(command))


# --- settings ---


@pytest.mark.parametrize(
    "overrides",
    [
        {"port": ""},
        {"baudrate": 0},
        {"bytesize": 9},
        {"parity": "M"},
        {"stopbits": 3},
        {"terminator": b""},
        {"write_terminator": b""},
        {"timeout_s": 0},
        {"max_line_bytes": 2},
    ],
)
def test_settings_reject_impossible_values(overrides: dict[str, object]) -> None:
    values: dict[str, object] = {"port": "/dev/ttyUSB0", **overrides}
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        SerialSettings(**values)  # type: ignore[arg-type]


def test_write_terminator_defaults_to_the_line_terminator() -> None:
    assert SerialSettings("/dev/x").line_ending_out == b"\r\n"
    assert SerialSettings("/dev/x", write_terminator=b"\r").line_ending_out == b"\r"


# --- lines ---


async def test_read_line_joins_pieces_and_keeps_the_terminator(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path)
    await line.open()
    os.write(master, b"$AB")
    os.write(master, b"C\r\nsecond\r\nthi")
    assert await line.read_line() == b"$ABC\r\n"
    assert await line.read_line() == b"second\r\n"
    os.write(master, b"rd\r\n")
    assert await line.read_line() == b"third\r\n"


async def test_silence_is_a_timeout_that_keeps_the_port_and_the_partial_line(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path)
    await line.open()
    os.write(master, b"abc")
    await delivered(path, 3)
    started = time.monotonic()
    with pytest.raises(BusTimeoutError) as caught:
        async with asyncio.timeout(WAIT_S):  # a read that never gives up fails here
            await line.read_line(0.2)
    assert time.monotonic() - started >= 0.2  # it waited its timeout, no less
    assert caught.value.bus == path
    assert caught.value.errno == errno.ETIMEDOUT
    assert "3 bytes of an unfinished line" in str(caught.value)
    assert line.is_open
    os.write(master, b"def\r\n")
    assert await line.read_line() == b"abcdef\r\n"


async def test_zero_timeout_returns_a_line_already_received(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path)
    await line.open()
    os.write(master, b"ready\r\n")
    await delivered(path, 7)  # the read itself must not wait
    assert await line.read_line(0) == b"ready\r\n"
    with pytest.raises(BusTimeoutError):
        await line.read_line(0)


async def test_garbage_without_terminator_is_dropped_with_bounded_memory(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path, max_line_bytes=64)
    await line.open()

    writer = threading.Thread(
        target=lambda: [os.write(master, b"\xff" * 1000) for _ in range(200)], daemon=True
    )
    writer.start()  # 200 kB without a terminator, while the driver reads
    with pytest.raises(LineTooLongError) as caught:
        await line.read_line(2.0)
    assert "64 bytes" in str(caught.value)
    assert caught.value.retriable
    # While the run lasts, the buffer holds less than one line between reads.
    deadline = time.monotonic() + WAIT_S
    while writer.is_alive() and time.monotonic() < deadline:
        with pytest.raises(BusTimeoutError):
            await line.read_line(0.01)
        assert len(line._buffer) < 64  # the memory bound under test
    assert not writer.is_alive()
    os.write(master, b"tail of the run\r\nGOOD\r\n")
    assert await line.read_line() == b"GOOD\r\n"
    assert line.overlong_lines == 1


async def test_a_line_exactly_at_the_limit_passes_and_one_byte_more_does_not(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path, max_line_bytes=10)
    await line.open()
    os.write(master, b"12345678\r\n" + b"123456789\r\nok\r\n")
    assert await line.read_line() == b"12345678\r\n"
    with pytest.raises(LineTooLongError):
        await line.read_line()
    assert await line.read_line() == b"ok\r\n"


async def test_drain_lines_takes_complete_lines_without_waiting(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    # A line timeout far beyond the test's patience: a drain that waited would fail.
    line = line_factory(path, max_line_bytes=16, timeout_s=10 * WAIT_S)
    await line.open()
    async with asyncio.timeout(WAIT_S):
        assert await line.drain_lines() == []
    received = b"A\r\nB\r\n" + b"x" * 40 + b"\r\nC"
    os.write(master, received)
    await delivered(path, len(received))
    assert await line.drain_lines() == [b"A\r\n", b"B\r\n"]
    assert line.overlong_lines == 1  # counted, not raised
    os.write(master, b"\r\n")
    await delivered(path, 2)
    assert await line.drain_lines() == [b"C\r\n"]


# --- requests ---


async def test_request_drops_stale_input_and_returns_the_reply(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path, write_terminator=b"\r")
    await line.open()
    os.write(master, b"STALE LINE\r\n")
    await delivered(path, 12)
    with Responder(master, lambda command: b"reply to " + command + b"\r\n") as device:
        assert await line.request("PING") == b"reply to PING\r\n"
    assert device.received == [b"PING"]


async def test_concurrent_requests_take_turns(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path, write_terminator=b"\r")

    def slow_answer(command: bytes) -> bytes:
        time.sleep(0.02)
        return b"=" + command + b"\r\n"

    with Responder(master, slow_answer):
        replies = await asyncio.gather(*(line.request(f"Q{i}") for i in range(5)))
    assert replies == [f"=Q{i}\r\n".encode() for i in range(5)]


async def test_request_lines_collects_until_the_line_goes_quiet(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    # A line timeout far beyond the test's patience: only the quiet period can end the
    # collection within it.
    line = line_factory(path, write_terminator=b"\r", timeout_s=10 * WAIT_S)

    def answer(command: bytes) -> bytes:
        return b"one\r\ntwo\r\nthree\r\n" if command == b"MANY" else b""

    with Responder(master, answer) as device:
        async with asyncio.timeout(WAIT_S):
            assert await line.request_lines("MANY", quiet_s=0.1) == [
                b"one\r\n",
                b"two\r\n",
                b"three\r\n",
            ]
            assert await line.request_lines("NOTHING", quiet_s=0.1) == []
    assert device.received == [b"MANY", b"NOTHING"]


async def test_write_line_sends_ascii_with_the_write_terminator(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path, write_terminator=b"\r")
    await line.write_line("SEND 3")
    assert os.read(master, 100) == b"SEND 3\r"
    with pytest.raises(UnicodeEncodeError):
        await line.write_line("SEND°")


# --- errors and reconnection ---


async def test_a_missing_port_is_a_bus_error_with_errno(
    tmp_path: Path, line_factory: Callable[..., SerialLine]
) -> None:
    path = str(tmp_path / "ttyUSB9")
    line = line_factory(path)
    with pytest.raises(BusError) as caught:
        await line.open()
    assert not isinstance(caught.value, BusTimeoutError)
    assert caught.value.errno == errno.ENOENT
    assert caught.value.bus == path
    assert caught.value.retriable
    assert not line.is_open


async def test_a_port_held_by_another_line_is_refused(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    _, path = pty_pair
    await line_factory(path).open()
    with pytest.raises(BusError) as caught:
        await line_factory(path).open()
    assert caught.value.errno == errno.EAGAIN


async def test_close_is_safe_before_open_and_twice(
    pty_pair: tuple[int, str], line_factory: Callable[..., SerialLine]
) -> None:
    master, path = pty_pair
    line = line_factory(path, write_terminator=b"\r")
    await line.close()
    await line.open()
    await line.close()
    await line.close()
    assert not line.is_open
    await line.write_line("again")  # opens on use after a close
    assert line.is_open
    assert os.read(master, 100) == b"again\r"


async def test_unplug_is_a_bus_error_and_the_same_line_reads_after_replug(
    tmp_path: Path, line_factory: Callable[..., SerialLine]
) -> None:
    link = PtyLink(tmp_path / "usb-FTDI_FT232R-if00-port0")
    link.plug()
    try:
        line = line_factory(str(link.path))
        await line.open()  # opening flushes input: write only after it
        assert link.master_fd is not None
        os.write(link.master_fd, b"before\r\n")
        assert await line.read_line() == b"before\r\n"

        link.unplug()
        with pytest.raises(BusError) as unplugged:
            await line.read_line()
        assert not isinstance(unplugged.value, BusTimeoutError)
        assert unplugged.value.errno in (errno.EIO, None)  # pyserial loses it in one path
        assert not line.is_open
        with pytest.raises(BusError) as gone:
            await line.read_line()
        assert gone.value.errno == errno.ENOENT

        link.plug()  # a new pty pair (maybe a new /dev/pts/N) behind the same link
        await line.open()
        assert link.master_fd is not None
        os.write(link.master_fd, b"after\r\n")
        assert await line.read_line() == b"after\r\n"
    finally:
        link.unplug()

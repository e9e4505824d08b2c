"""Line-oriented serial transport on a TTY through pyserial.

A TTY is `/dev/ttyUSB0`, a udev link such as `/dev/serial/by-id/...`, or a
pty (the HIL simulators). pyserial is blocking, so every port operation runs
on one worker thread owned by this line (as `Smbus2Bus` does for i2c-dev):
operations stay in order, the event loop never waits on the kernel, and an
asyncio lock keeps one request/response exchange on the wire at a time.

Lines are byte strings that end with `SerialSettings.terminator`. A line may be
at most `max_line_bytes` long, terminator included: a longer run (noise on an
idle line, a wrong baud rate, a device that never sends the terminator) is
dropped up to the next terminator and counted in `overlong_lines`, so memory
stays bounded whatever arrives.

Errors: `serial.SerialException` and `OSError` (ENOENT when the device node is
gone, EIO after a USB adapter or pty was unplugged, EBUSY when another process
holds the port) become `BusError` with the port as `bus` and the errno when
there is one; no line within the timeout is `BusTimeoutError`. After any error
other than a timeout the port is closed, and the next call opens it again, so
an adapter that was unplugged and plugged back in (same path, for example a
udev `/dev/serial/by-id/` link) works without a new `SerialLine`. A timeout
leaves the port open: silence is not a broken port, and bytes of an unfinished
line stay buffered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno as errno_codes
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal, Protocol, TypeVar

import serial  # type: ignore[import-untyped,unused-ignore]  # pyserial ships no type hints

from ..errors import BusError, BusTimeoutError, MeasurementError

Parity = Literal["N", "E", "O"]

# Blocking reads wait at most this long per call, so that a deadline is
# checked often and the worker thread is never stuck past it.
READ_SLICE_S: Final = 0.02
_READ_CHUNK_BYTES: Final = 4096
_DRAIN_MAX_CHUNKS: Final = 64
# Safety margin for the asyncio side: the worker enforces the real deadline.
_WORKER_GRACE_S: Final = 2.0
_VALID_BYTESIZES: Final = frozenset({5, 6, 7, 8})
_VALID_STOPBITS: Final = frozenset({1, 1.5, 2})

_T = TypeVar("_T")


class LineTooLongError(MeasurementError):
    """More than `max_line_bytes` arrived without a terminator; they were dropped."""


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """How to open a port and where its lines end.

    `terminator` ends every received line. `write_terminator` is appended by
    `write_line`; it defaults to `terminator` (Vaisala instruments, for example,
    take commands ending in CR and answer with lines ending in CR LF).
    `timeout_s` is the default for `read_line` and `request`, and pyserial's
    write timeout.
    """

    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: Parity = "N"
    stopbits: float = 1
    terminator: bytes = b"\r\n"
    write_terminator: bytes | None = None
    timeout_s: float = 1.0
    max_line_bytes: int = 256

    def __post_init__(self) -> None:
        if not self.port:
            raise ValueError("serial port path is empty")
        if self.baudrate <= 0:
            raise ValueError(f"baud rate must be positive, got {self.baudrate}")
        if self.bytesize not in _VALID_BYTESIZES:
            raise ValueError(f"byte size must be 5, 6, 7 or 8, got {self.bytesize}")
        if self.parity not in ("N", "E", "O"):
            raise ValueError(f"parity must be 'N', 'E' or 'O', got {self.parity!r}")
        if self.stopbits not in _VALID_STOPBITS:
            raise ValueError(f"stop bits must be 1, 1.5 or 2, got {self.stopbits}")
        if not self.terminator:
            raise ValueError("line terminator is empty")
        if self.write_terminator is not None and not self.write_terminator:
            raise ValueError("write terminator is empty (use None for the line terminator)")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout must be positive, got {self.timeout_s}")
        if self.max_line_bytes <= len(self.terminator):
            raise ValueError(
                f"max line length {self.max_line_bytes} leaves no room for data "
                f"after the {len(self.terminator)}-byte terminator"
            )

    @property
    def line_ending_out(self) -> bytes:
        """What `write_line` appends."""
        return self.write_terminator if self.write_terminator is not None else self.terminator


class _Port(Protocol):
    """The part of `serial.Serial` this module uses."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def flush(self) -> None: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


class _DeadlineError(Exception):
    """Raised on the worker thread when a deadline passes; never leaves this module."""


class _Overlong:
    """Marker for a dropped over-long run in the line splitter."""


_OVERLONG: Final = _Overlong()


class SerialLine:
    """An async line-oriented serial port; opens on first use and again after an error."""

    def __init__(self, settings: SerialSettings) -> None:
        self._settings = settings
        self._lock = asyncio.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        # Worker-thread state: touched only by functions that run on the executor.
        self._port: _Port | None = None
        self._buffer = bytearray()
        self._discarding = False  # inside an over-long run: drop bytes up to the next terminator
        self._overlong_lines = 0

    @property
    def name(self) -> str:
        """The port path, for messages."""
        return self._settings.port

    @property
    def settings(self) -> SerialSettings:
        return self._settings

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @property
    def overlong_lines(self) -> int:
        """How many over-long runs were dropped since this line was made."""
        return self._overlong_lines

    async def __aenter__(self) -> SerialLine:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the port now (every other call opens it when needed)."""
        await self._run("open", self._open_now)

    async def close(self) -> None:
        """Close the port and stop the worker thread; safe to call twice or before `open`."""
        async with self._lock:
            executor, self._executor = self._executor, None
            if executor is None:
                return
            loop = asyncio.get_running_loop()
            try:
                # A worker stuck in a syscall must not hang the caller's shutdown.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        loop.run_in_executor(executor, self._close_port), _WORKER_GRACE_S
                    )
            finally:
                executor.shutdown(wait=False)

    async def write_line(self, text: str | bytes) -> None:
        """Send `text` (ASCII) followed by the write terminator."""
        data = _to_bytes(text) + self._settings.line_ending_out
        await self._run("write", self._write_now, data)

    async def read_line(self, timeout_s: float | None = None) -> bytes:
        """The next line, terminator included.

        Raises `BusTimeoutError` when no complete line arrives within
        `timeout_s` (default: the settings' timeout) and `LineTooLongError`
        when an over-long run was dropped instead.
        """
        timeout = self._timeout(timeout_s)
        return await self._run("read", self._read_line_now, timeout, timeout_s=timeout)

    async def drain_lines(self) -> list[bytes]:
        """Every complete line received so far, without waiting for more.

        An unfinished line stays buffered for the next call. Over-long runs
        are dropped and counted in `overlong_lines`, not raised.
        """
        return await self._run("read", self._drain_now)

    async def flush_input(self) -> None:
        """Forget everything received so far (the OS buffer and partial lines)."""
        await self._run("flush", self._flush_now)

    async def request(self, text: str | bytes, timeout_s: float | None = None) -> bytes:
        """Flush input, send `text` as a line and return the first line that comes back."""
        timeout = self._timeout(timeout_s)
        data = _to_bytes(text) + self._settings.line_ending_out
        return await self._run("request", self._request_now, data, timeout, timeout_s=timeout)

    async def request_lines(
        self,
        text: str | bytes,
        *,
        quiet_s: float,
        max_lines: int = 64,
        timeout_s: float | None = None,
    ) -> list[bytes]:
        """Flush input, send a line, and collect the reply lines until `quiet_s` passes without one.

        For commands whose reply has no fixed number of lines (or none at all).
        Stops after `max_lines` lines or `timeout_s` in total (default: the
        settings' timeout); returns what came, possibly nothing. Over-long runs
        are dropped and counted, not raised.
        """
        if not quiet_s > 0:
            raise ValueError(f"quiet period must be positive, got {quiet_s}")
        timeout = self._timeout(timeout_s)
        data = _to_bytes(text) + self._settings.line_ending_out
        return await self._run(
            "request",
            self._request_lines_now,
            data,
            quiet_s,
            max_lines,
            timeout,
            timeout_s=timeout,
        )

    # --- asyncio side ---

    def _timeout(self, timeout_s: float | None) -> float:
        timeout = self._settings.timeout_s if timeout_s is None else timeout_s
        if not timeout >= 0:
            raise ValueError(f"timeout must not be negative, got {timeout}")
        return timeout

    async def _run(
        self,
        action: str,
        function: Callable[..., _T],
        *args: object,
        timeout_s: float | None = None,
    ) -> _T:
        loop = asyncio.get_running_loop()
        async with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"serial:{self.name}"
                )
            future = loop.run_in_executor(self._executor, self._guarded, function, *args)
            budget = (timeout_s if timeout_s is not None else self._settings.timeout_s) * 2
            try:
                # asyncio.timeout, not wait_for, which on 3.11 can swallow a cancellation.
                async with asyncio.timeout(budget + _WORKER_GRACE_S):
                    return await future
            except _DeadlineError as exc:
                raise self._timeout_error(action, timeout_s, str(exc)) from exc
            except TimeoutError as exc:  # the worker itself hung (a driver stuck in a syscall)
                raise self._timeout_error(
                    action, timeout_s, "worker thread did not return"
                ) from exc
            except serial.SerialTimeoutException as exc:  # write timeout
                raise self._timeout_error(action, self._settings.timeout_s, str(exc)) from exc
            except (OSError, termios.error) as exc:  # SerialException is an OSError
                raise BusError(
                    f"serial {action} failed: {_reason(exc)}",
                    bus=self.name,
                    errno=_errno_of(exc),
                ) from exc

    def _timeout_error(self, action: str, timeout_s: float | None, detail: str) -> BusTimeoutError:
        limit = f" within {timeout_s:g} s" if timeout_s is not None else ""
        suffix = f": {detail}" if detail else ""
        return BusTimeoutError(
            f"serial {action} did not complete{limit}{suffix}",
            bus=self.name,
            errno=errno_codes.ETIMEDOUT,
        )

    # --- worker thread ---

    def _guarded(self, function: Callable[..., _T], *args: object) -> _T:
        """Run a port operation; on any error but a timeout, close the port so it re-opens."""
        try:
            return function(*args)
        except (_DeadlineError, LineTooLongError):
            raise
        except (OSError, termios.error):
            self._close_port()
            raise

    def _ensure_open(self) -> _Port:
        if self._port is None:
            s = self._settings
            port: _Port = serial.Serial(
                s.port,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=min(READ_SLICE_S, s.timeout_s),
                write_timeout=s.timeout_s,
                exclusive=True,  # flock(LOCK_EX): a second process on this port fails to open
            )
            self._port = port
            self._buffer.clear()
            self._discarding = False
        return self._port

    def _open_now(self) -> None:
        self._ensure_open()

    def _close_port(self) -> None:
        port, self._port = self._port, None
        self._buffer.clear()
        self._discarding = False
        if port is not None:
            # Closing a port whose device vanished can fail; it is closed either way.
            with contextlib.suppress(OSError, termios.error):
                port.close()

    def _write_now(self, data: bytes) -> None:
        port = self._ensure_open()
        port.write(data)
        port.flush()

    def _flush_now(self) -> None:
        port = self._ensure_open()
        port.reset_input_buffer()
        self._buffer.clear()
        self._discarding = False

    def _read_line_now(self, timeout_s: float) -> bytes:
        port = self._ensure_open()
        deadline = time.monotonic() + timeout_s
        last_look_done = False
        while True:
            line = self._take_line()
            if isinstance(line, bytes):
                return line
            if line is _OVERLONG:
                raise LineTooLongError(
                    f"dropped more than {self._settings.max_line_bytes} bytes without a "
                    f"line terminator {self._settings.terminator!r}",
                    bus=self.name,
                )
            if time.monotonic() >= deadline:
                # One last look at what the OS holds (this is all a zero timeout does).
                if not last_look_done and self._fill(port, wait=False):
                    last_look_done = True
                    continue
                pending = len(self._buffer)
                raise _DeadlineError(
                    f"{pending} bytes of an unfinished line buffered" if pending else ""
                )
            self._fill(port, wait=True)

    def _drain_now(self) -> list[bytes]:
        port = self._ensure_open()
        lines: list[bytes] = []
        # Bounded, so that a sender faster than this loop cannot keep it here.
        for _ in range(_DRAIN_MAX_CHUNKS):
            received = self._fill(port, wait=False)
            while True:
                line = self._take_line()
                if line is None:
                    break
                if isinstance(line, bytes):
                    lines.append(line)
            if not received:
                break
        return lines

    def _request_now(self, data: bytes, timeout_s: float) -> bytes:
        self._flush_now()
        self._write_now(data)
        return self._read_line_now(timeout_s)

    def _request_lines_now(
        self, data: bytes, quiet_s: float, max_lines: int, timeout_s: float
    ) -> list[bytes]:
        self._flush_now()
        self._write_now(data)
        end = time.monotonic() + timeout_s
        lines: list[bytes] = []
        while len(lines) < max_lines:
            wait_s = min(quiet_s, end - time.monotonic())
            if wait_s <= 0:
                break
            try:
                lines.append(self._read_line_now(wait_s))
            except LineTooLongError:
                continue
            except _DeadlineError:
                break
        return lines

    def _fill(self, port: _Port, *, wait: bool) -> int:
        """Move received bytes into the line buffer; returns how many arrived.

        With `wait`, block up to one read slice for the first byte.
        """
        waiting = port.in_waiting
        if waiting == 0 and not wait:
            return 0
        chunk = port.read(min(max(waiting, 1), _READ_CHUNK_BYTES))
        if chunk:
            more = port.in_waiting
            if more:
                chunk += port.read(min(more, _READ_CHUNK_BYTES))
            self._buffer += chunk
        return len(chunk)

    def _take_line(self) -> bytes | _Overlong | None:
        """Split one line off the buffer.

        Returns the line, `_OVERLONG` for a dropped over-long run, or None for "not yet".
        """
        terminator = self._settings.terminator
        limit = self._settings.max_line_bytes
        buffer = self._buffer
        if self._discarding and not self._skip_to_terminator():
            return None
        end = buffer.find(terminator, 0, limit)
        if end >= 0:
            size = end + len(terminator)
            line = bytes(buffer[:size])
            del buffer[:size]
            return line
        if len(buffer) < limit:
            return None
        # `limit` bytes hold no complete terminator: this line is longer than allowed.
        self._overlong_lines += 1
        self._discarding = True
        self._skip_to_terminator()
        return _OVERLONG

    def _skip_to_terminator(self) -> bool:
        """Drop bytes through the next terminator; False when none has arrived yet."""
        terminator = self._settings.terminator
        buffer = self._buffer
        end = buffer.find(terminator)
        if end < 0:
            # Keep a possible partial terminator at the end for the next chunk.
            del buffer[: max(0, len(buffer) - (len(terminator) - 1))]
            return False
        del buffer[: end + len(terminator)]
        self._discarding = False
        return True


def _to_bytes(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    return text.encode("ascii")


def _errno_of(exc: BaseException) -> int | None:
    """The errno behind an exception, looking through pyserial's re-raises.

    pyserial turns some `OSError`s into a `SerialException` without an errno
    (`write failed: [Errno 5] ...`); the original is its `__context__`.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and isinstance(current.errno, int):
            return current.errno
        if isinstance(current, termios.error) and current.args and isinstance(current.args[0], int):
            code: int = current.args[0]
            return code
        current = current.__cause__ or current.__context__
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, serial.SerialException):
        return exc.strerror
    return str(exc) or type(exc).__name__


__all__ = [
    "READ_SLICE_S",
    "LineTooLongError",
    "Parity",
    "SerialLine",
    "SerialSettings",
]

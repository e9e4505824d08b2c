"""Serial instruments on pseudo-terminals: a `$HWP` bridge and a Vaisala PTB330.

Each simulator owns a pty pair (`os.openpty`) and serves the master side on a
background thread; the driver opens the slave side by path, exactly as it
opens `/dev/ttyUSB0`. The path handed out is a symlink in a temporary
directory that points at the current slave (`/dev/pts/N`), like a udev
`/dev/serial/by-id/...` link: `unplug()` closes the pair and removes the link
(the driver sees EIO, then ENOENT), `replug()` makes a new pair, whose slave
has a new number, and points the link at it.

The master is written without blocking: when nobody reads the slave and its
buffer fills, bytes are dropped, as a UART drops them with nobody listening.
All fd handling happens on the serving thread; the public methods hand work
to it and wait for it, so they are safe to call from a test's event loop.

`conditions(t_s)` gives the true (pressure_pa, temperature_c) at time `t_s`
of `clock`; frame pacing uses the real monotonic clock, because the driver on
the other side of the pty waits in real time.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import re
import select
import shutil
import tempfile
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self, TypeVar

from hullwatch.drivers.serial_bridge.protocol import (
    SEQ_MODULUS,
    STATUS_OK,
    encode_frame,
)
from hullwatch.drivers.vaisala_ptb.protocol import PRESSURE_UNITS_PA

Conditions = Callable[[float], tuple[float, float]]
_T = TypeVar("_T")

CALL_TIMEOUT_S: Final = 5.0
_IDLE_WAIT_S: Final = 0.05
_READ_BYTES: Final = 4096


class PtyLink:
    """A pty pair behind a stable symlink: a USB serial adapter that can be pulled out.

    Not thread-safe; a simulator uses it from its serving thread only.
    """

    def __init__(self, link_path: Path) -> None:
        self._link_path = link_path
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_name: str | None = None

    @property
    def path(self) -> Path:
        """The stable path (the symlink) a driver opens."""
        return self._link_path

    @property
    def slave_name(self) -> str | None:
        """The current `/dev/pts/N`, None while unplugged."""
        return self._slave_name

    @property
    def master_fd(self) -> int | None:
        return self._master

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        if self._master is not None:
            return
        master, slave = os.openpty()
        # Raw mode before anyone writes: no echo, no CR/LF translation (pyserial
        # sets raw mode again when the driver opens the slave).
        tty.setraw(slave)
        os.set_blocking(master, False)
        # Keep a slave fd open ourselves: with no slave open, reading the master gives EIO.
        self._master, self._slave, self._slave_name = master, slave, os.ttyname(slave)
        temporary = self._link_path.with_name(f".{self._link_path.name}.new")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        temporary.symlink_to(self._slave_name)
        os.replace(temporary, self._link_path)  # atomic, as udev re-points a by-id link

    def unplug(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._link_path.unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._slave_name = None


class _Call:
    """A function to run on the serving thread, and its outcome."""

    def __init__(self, function: Callable[[], object]) -> None:
        self.function = function
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.function()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()


class SerialDeviceSimulator:
    """What both simulators share: the pty link, the serving thread, raw output."""

    def __init__(self, *, link_path: Path | None, link_name: str) -> None:
        self._temporary_dir: Path | None = None
        if link_path is None:
            self._temporary_dir = Path(tempfile.mkdtemp(prefix="hullwatch-serial-"))
            link_path = self._temporary_dir / link_name
        self._link = PtyLink(link_path)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=f"sim:{link_name}", daemon=True)
        self._stopping = False
        self._closed = False
        self._lock = threading.Lock()  # guards state shared with the test's thread
        self.bytes_dropped = 0

    # --- lifecycle ---

    @property
    def path(self) -> str:
        """The stable device path for `SerialSettings.port`."""
        return str(self._link.path)

    @property
    def plugged(self) -> bool:
        return self._link.plugged

    def start(self) -> None:
        self._link.plug()
        self._thread.start()

    def close(self) -> None:
        """Stop serving and remove the pty and the link; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._call(self._stop)
            self._thread.join(CALL_TIMEOUT_S)
        self._link.unplug()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._temporary_dir is not None:
            shutil.rmtree(self._temporary_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def unplug(self) -> None:
        """Pull the cable: close the pty pair and remove the link."""
        self._call(self._link.unplug)

    def replug(self) -> None:
        """Plug back in: a new pty pair (a new /dev/pts/N) behind the same link."""
        self._call(self._replug)

    # --- serving thread ---

    def _call(self, function: Callable[[], _T]) -> _T:
        """Run `function` on the serving thread (here, before it starts); return its result."""
        if threading.current_thread() is self._thread or not self._thread.is_alive():
            return function()
        call = _Call(function)
        self._calls.put(call)
        self._wake()
        if not call.done.wait(CALL_TIMEOUT_S):
            raise RuntimeError(f"simulator thread {self._thread.name} did not answer")
        if call.error is not None:
            raise call.error
        result: _T = call.result  # type: ignore[assignment]  # set by `function`
        return result

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"w")

    def _stop(self) -> None:
        self._stopping = True

    def _replug(self) -> None:
        self._link.plug()
        self._on_replug()

    def _serve(self) -> None:
        while not self._stopping:
            while True:
                try:
                    self._calls.get_nowait().run()
                except queue.Empty:
                    break
            if self._stopping:
                break
            now = time.monotonic()
            due = self._tick(now)
            wait_s = _IDLE_WAIT_S if due is None else min(_IDLE_WAIT_S, max(0.0, due - now))
            master = self._link.master_fd
            watched = [self._wake_read] if master is None else [self._wake_read, master]
            readable, _, _ = select.select(watched, [], [], wait_s)
            if self._wake_read in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_read, _READ_BYTES)
            if master is not None and master in readable:
                try:
                    data = os.read(master, _READ_BYTES)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    continue  # EIO: no slave open right now
                if data:
                    self._on_bytes(data)

    def _send(self, data: bytes) -> None:
        """Write to the master without blocking; what does not fit is dropped."""
        master = self._link.master_fd
        if master is None:
            self.bytes_dropped += len(data)
            return
        try:
            written = os.write(master, data)
        except (BlockingIOError, OSError):
            written = 0
        self.bytes_dropped += len(data) - written

    # --- for subclasses (serving thread) ---

    def _tick(self, now: float) -> float | None:
        """Do what is due at `now`; return when to be called next (None: only on input)."""
        return None

    def _on_bytes(self, data: bytes) -> None:
        """Bytes the driver wrote."""

    def _on_replug(self) -> None:
        """The pair was just re-created (a power cycle of the device, for a bridge)."""


# --- $HWP bridge ---

FrameKind = Literal["good", "fault", "corrupted", "truncated"]


@dataclass(frozen=True, slots=True)
class SentFrame:
    """A frame the bridge simulator put on the wire, and what it did to it."""

    seq: int
    pressure_pa: float
    temperature_c: float
    status: int
    kind: FrameKind
    sent_at_s: float  # `clock` time


class BridgeSimulator(SerialDeviceSimulator):
    """A microcontroller bridge streaming `$HWP` frames at `rate_hz`.

    Fault hooks (each applies to the next frame unless said otherwise):
    `inject_corrupted_line` (a digit changed, checksum left as it was),
    `inject_truncated_line` (cut in the middle; the next frame runs into it),
    `inject_garbage` (raw bytes now), `pause`/`resume` (silence),
    `set_sensor_fault` (status bits on every frame until cleared),
    `skip_sequence` (frames lost), `unplug`/`replug` (the bridge restarts at
    sequence 0 when plugged back in, as after a power cycle).
    """

    def __init__(
        self,
        conditions: Conditions,
        clock: Callable[[], float] = time.monotonic,
        rate_hz: float = 10.0,
        *,
        link_path: Path | None = None,
        rng: random.Random | None = None,
        history: int = 10_000,
    ) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate must be positive, got {rate_hz}")
        super().__init__(link_path=link_path, link_name="bridge")
        self._conditions = conditions
        self._clock = clock
        self._period_s = 1.0 / rate_hz
        self._rng = rng if rng is not None else random.Random(0)
        self._seq = 0
        self._next_due_s = 0.0
        self._paused = False
        self._fault_status = STATUS_OK
        self._one_shot: deque[Literal["corrupt", "truncate"]] = deque()
        self._sent: deque[SentFrame] = deque(maxlen=history)
        self._frames_sent = 0

    @property
    def frames_sent(self) -> int:
        """Frames put on the wire (of every kind) since start."""
        with self._lock:
            return self._frames_sent

    def sent_frames(self) -> list[SentFrame]:
        with self._lock:
            return list(self._sent)

    def last_frame(self, kind: FrameKind | None = "good") -> SentFrame | None:
        with self._lock:
            for frame in reversed(self._sent):
                if kind is None or frame.kind == kind:
                    return frame
        return None

    def pause(self) -> None:
        """Go silent (the bridge hangs, or its TX wire is cut) until `resume`."""
        self._call(self._set_paused_true)

    def resume(self) -> None:
        self._call(self._set_paused_false)

    def inject_corrupted_line(self) -> None:
        with self._lock:
            self._one_shot.append("corrupt")

    def inject_truncated_line(self) -> None:
        with self._lock:
            self._one_shot.append("truncate")

    def inject_garbage(self, data: bytes | None = None) -> None:
        """Send raw bytes now; by default 32 bytes of non-ASCII noise ended by CR LF."""
        if data is None:
            data = bytes(self._rng.randrange(0x80, 0x100) for _ in range(32)) + b"\r\n"
        payload = data
        self._call(lambda: self._send(payload))

    def set_sensor_fault(self, status: int) -> None:
        """Report this status on every frame (empty values) until set back to 0."""
        if not 0 <= status <= 0xFF:
            raise ValueError(f"status 0x{status:X} is not one byte")
        with self._lock:
            self._fault_status = status

    def skip_sequence(self, count: int) -> None:
        """Lose `count` frames: the next frame's sequence number jumps by that much."""
        with self._lock:
            self._seq = (self._seq + count) % SEQ_MODULUS

    # serving thread

    def _set_paused_true(self) -> None:
        self._paused = True

    def _set_paused_false(self) -> None:
        self._paused = False
        self._next_due_s = time.monotonic()

    def _on_replug(self) -> None:
        with self._lock:
            self._seq = 0
        self._next_due_s = time.monotonic()

    def _tick(self, now: float) -> float | None:
        if self._paused or not self._link.plugged:
            return None
        if now >= self._next_due_s:
            self._emit()
            self._next_due_s += self._period_s
            if self._next_due_s < now:  # fell behind (a stalled thread): do not burst
                self._next_due_s = now + self._period_s
        return self._next_due_s

    def _emit(self) -> None:
        t_s = self._clock()
        pressure_pa, temperature_c = self._conditions(t_s)
        with self._lock:
            seq, status = self._seq, self._fault_status
            fault = self._one_shot.popleft() if self._one_shot else None
            self._seq = (self._seq + 1) % SEQ_MODULUS
        if status == STATUS_OK:
            frame = encode_frame(seq, pressure_pa, temperature_c)
        else:
            frame = encode_frame(seq, None, None, status)
        kind: FrameKind = "good" if status == STATUS_OK else "fault"
        if fault == "corrupt":
            frame, kind = _change_a_digit(frame), "corrupted"
        elif fault == "truncate":
            frame, kind = frame[: len(frame) // 2], "truncated"
        self._send(frame)
        with self._lock:
            self._frames_sent += 1
            self._sent.append(
                SentFrame(seq, pressure_pa, temperature_c, status, kind, sent_at_s=t_s)
            )


def _change_a_digit(frame: bytes) -> bytes:
    """The frame with the first digit after the sequence number changed; checksum untouched."""
    start = frame.index(b",", frame.index(b",") + 1) + 1  # first byte of the pressure field
    for i in range(start, len(frame)):
        if frame[i : i + 1].isdigit():
            digit = (frame[i] - 0x30 + 1) % 10
            return frame[:i] + bytes([0x30 + digit]) + frame[i + 1 :]
    return frame.replace(b"*", b"#", 1)  # a fault frame has no digits there


# --- Vaisala PTB330 ---

# Texts the simulator prints where the manual excerpts available to us do not
# spell the instrument's own: the driver never depends on them.
UNKNOWN_COMMAND_REPLY: Final = "Unknown command"
BAD_ARGUMENT_REPLY: Final = "Invalid argument"
DEFAULT_FORM: Final = '4.2 P " " U #r #n'

# Display spelling of each pressure unit (Table 13), keyed like PRESSURE_UNITS_PA.
_PRESSURE_SYMBOLS: Final = {
    "pa": "Pa",
    "hpa": "hPa",
    "mbar": "mbar",
    "kpa": "kPa",
    "bar": "bar",
    "psi": "psi",
    "psia": "psia",
    "inhg": "inHg",
    "mmhg": "mmHg",
    "torr": "torr",
    "mmh2o": "mmH2O",
    "inh2o": "inH2O",
}
_TEMPERATURE_SYMBOLS: Final = {"c": "'C", "'c": "'C", "f": "'F", "'f": "'F", "k": "K"}
_PRESSURE_QUANTITIES: Final = ("P", "P1", "P2", "P3")
_TEMPERATURE_QUANTITIES: Final = ("TP1", "TP2", "TP3")
_FORM_TOKEN: Final = re.compile(
    r'"[^"]*"|[#\\](?:RN|R|N|T|\d{1,3})\b|\d\.\d|[A-Za-z][A-Za-z0-9]*|/',
    re.IGNORECASE,
)
_INPUT_LIMIT: Final = 256
SerialMode = Literal["STOP", "RUN", "POLL", "SEND"]
_SERIAL_MODES: Final[dict[str, SerialMode]] = {
    "STOP": "STOP",
    "RUN": "RUN",
    "POLL": "POLL",
    "SEND": "SEND",
}


class PtbSimulator(SerialDeviceSimulator):
    """A PTB330 answering the serial commands `hullwatch.drivers.vaisala_ptb` uses.

    Implemented (PTB330 User's Guide M210855EN, chapter 4): SEND [aa], R, S,
    SMODE [STOP|RUN|POLL|SEND], ECHO [ON|OFF], UNIT [x] [y], FORM [string|/],
    VERS, ?, ??, ADDR [aa], INTV [n [s|min|h]], OPEN aa, CLOSE. ECHO ON echoes
    each command line and prints a `>` prompt after the reply. In RUN mode
    only S is taken. In POLL mode only `SEND aa`, `OPEN aa` (this instrument's
    address) and `??` are answered, without echo; after `OPEN aa` it acts as
    in STOP mode until CLOSE. Anything else gets `unknown_command_reply`.
    FORM strings are interpreted (x.y, P, P1..P3, TP1..TP3, U, U1..U9,
    "text", #r #n #t #rn, #nnn, ERR, ADDR, SN, CS2), so the driver's FORM is
    tested for real.

    Fault hooks, for the next measurement reply: `inject_corrupted_reply`
    (a digit becomes 'x'), `inject_truncated_reply` (cut in half),
    `inject_garbage_reply` (noise instead); `inject_garbage` sends raw bytes
    now; `pause`/`resume` (no answers at all); `set_transducer_error`
    (values as `*`, ERR flag 1); `unplug`/`replug`.
    """

    def __init__(
        self,
        conditions: Conditions,
        clock: Callable[[], float] = time.monotonic,
        *,
        link_path: Path | None = None,
        model: str = "PTB330",
        version: str = "1.12",
        serial_number: str = "K1230001",
        address: int = 0,
        smode: SerialMode = "STOP",
        echo: bool = True,
        pressure_unit: str = "hPa",
        temperature_unit: str = "'C",
        form: str = DEFAULT_FORM,
        transducers: int = 1,
        run_interval_s: float = 1.0,
        unknown_command_reply: str = UNKNOWN_COMMAND_REPLY,
        bad_argument_reply: str = BAD_ARGUMENT_REPLY,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= transducers <= 3:
            raise ValueError(f"a PTB330 has 1 to 3 barometer modules, not {transducers}")
        super().__init__(link_path=link_path, link_name="ptb330")
        self._conditions = conditions
        self._clock = clock
        self.model = model
        self.version = version
        self.serial_number = serial_number
        self.address = address
        self.smode: SerialMode = smode
        self.echo = echo
        self.pressure_unit = _PRESSURE_SYMBOLS[pressure_unit.lower()]
        self.temperature_unit = _TEMPERATURE_SYMBOLS[temperature_unit.lower()]
        self._form_tokens = _tokenize_form(form)
        self.form = " ".join(self._form_tokens)
        self._default_form = self.form
        self.transducers = transducers
        self.run_interval_s = run_interval_s
        self._unknown_reply = unknown_command_reply
        self._bad_argument_reply = bad_argument_reply
        self._rng = rng if rng is not None else random.Random(0)
        self._running = smode == "RUN"
        self._next_run_s = 0.0
        self._opened = False  # POLL mode, temporarily opened with OPEN aa
        self._input = bytearray()
        self._paused = False
        self._transducer_error = False
        self._one_shot: deque[Literal["corrupt", "truncate", "garbage"]] = deque()
        self._commands: list[str] = []

    # --- test controls ---

    @property
    def commands(self) -> list[str]:
        """Every command line received, in order."""
        with self._lock:
            return list(self._commands)

    @property
    def running(self) -> bool:
        """Continuous (RUN) output is on."""
        return self._running

    def pause(self) -> None:
        """Stop answering (the instrument hangs or its TX wire is cut) until `resume`."""
        self._call(self._set_paused_true)

    def resume(self) -> None:
        self._call(self._set_paused_false)

    def set_transducer_error(self, active: bool) -> None:
        with self._lock:
            self._transducer_error = active

    def inject_corrupted_reply(self) -> None:
        with self._lock:
            self._one_shot.append("corrupt")

    def inject_truncated_reply(self) -> None:
        with self._lock:
            self._one_shot.append("truncate")

    def inject_garbage_reply(self) -> None:
        with self._lock:
            self._one_shot.append("garbage")

    def inject_garbage(self, data: bytes) -> None:
        """Send raw bytes now."""
        self._call(lambda: self._send(data))

    # --- serving thread ---

    def _set_paused_true(self) -> None:
        self._paused = True

    def _set_paused_false(self) -> None:
        self._paused = False

    def _on_replug(self) -> None:
        self._input.clear()
        self._opened = False
        self._running = self.smode == "RUN"

    def _tick(self, now: float) -> float | None:
        if not self._running or self._paused or not self._link.plugged:
            return None
        if now >= self._next_run_s:
            self._send(self._measurement())
            self._next_run_s = now + self.run_interval_s
        return self._next_run_s

    def _on_bytes(self, data: bytes) -> None:
        for byte in data:
            if byte == 0x0D:  # CR ends a command
                line = self._input.decode("ascii", errors="replace").strip()
                self._input.clear()
                self._command(line)
            elif byte == 0x0A:  # LF after CR: ignored
                continue
            elif len(self._input) < _INPUT_LIMIT:
                self._input.append(byte)

    def _command(self, line: str) -> None:
        with self._lock:
            self._commands.append(line)
        if self._paused:
            return
        words = line.split()
        verb = words[0].upper() if words else ""
        args = words[1:]
        if self._running:  # RUN mode: only S is taken
            if verb == "S":
                self._running = False
                self._finish(line, [])
            return
        if self.smode == "POLL" and not self._opened:
            self._poll_mode_command(verb, args)
            return
        if verb == "":
            self._finish(line, [])
            return
        handler = self._handlers().get(verb)
        if handler is None:
            self._finish(line, [self._unknown_reply])
            return
        rest = line[len(words[0]) :].strip()
        self._finish(line, handler(args, rest))

    def _finish(self, line: str, reply: list[str] | bytes) -> None:
        """Echo the command (ECHO ON, STOP mode), send the reply, then the prompt."""
        echo = self.echo and not (self.smode == "POLL" and not self._opened)
        out = bytearray()
        if echo:
            out += line.encode("ascii", errors="replace") + b"\r\n"
        if isinstance(reply, bytes):
            out += reply
        else:
            for text in reply:
                out += text.encode("ascii", errors="replace") + b"\r\n"
        if echo:
            out += b">"
        if out:
            self._send(bytes(out))

    def _poll_mode_command(self, verb: str, args: list[str]) -> None:
        addressed = len(args) == 1 and args[0].isdigit() and int(args[0]) == self.address
        if verb == "SEND" and addressed:
            self._send(self._measurement())
        elif verb == "OPEN" and addressed:
            self._opened = True
            # The reply of the OPEN example in the User's Guide (p. 101).
            opened = f"{self.model}: {self.address} line opened for operator commands\r\n"
            self._send(opened.encode())
        elif verb == "??":
            self._send(b"".join(text.encode() + b"\r\n" for text in self._settings_report()))

    def _handlers(self) -> dict[str, Callable[[list[str], str], list[str] | bytes]]:
        return {
            "SEND": self._cmd_send,
            "R": self._cmd_run,
            "S": lambda _a, _r: [],
            "SMODE": self._cmd_smode,
            "ECHO": self._cmd_echo,
            "UNIT": self._cmd_unit,
            "FORM": self._cmd_form,
            "VERS": lambda _a, _r: [f"{self.model} / {self.version}"],
            "?": lambda _a, _r: self._settings_report(),
            "??": lambda _a, _r: self._settings_report(),
            "ADDR": self._cmd_addr,
            "INTV": self._cmd_intv,
            "OPEN": lambda _a, _r: [],
            "CLOSE": self._cmd_close,
        }

    def _cmd_send(self, args: list[str], _rest: str) -> list[str] | bytes:
        if args and not (len(args) == 1 and args[0].isdigit() and int(args[0]) == self.address):
            return []  # addressed to another instrument
        return self._measurement()

    def _cmd_run(self, _args: list[str], _rest: str) -> list[str]:
        self._running = True
        self._next_run_s = time.monotonic()
        return []

    def _cmd_smode(self, args: list[str], _rest: str) -> list[str]:
        if args:
            mode = _SERIAL_MODES.get(args[0].upper())
            if mode is None:
                return [self._bad_argument_reply]
            self.smode = mode
            self._running = self.smode == "RUN"
            self._next_run_s = time.monotonic() + self.run_interval_s
            self._opened = False
        return [f"Serial mode : {self.smode}"]

    def _cmd_echo(self, args: list[str], _rest: str) -> list[str]:
        if args:
            value = args[0].upper()
            if value not in ("ON", "OFF"):
                return [self._bad_argument_reply]
            self.echo = value == "ON"
        return [f"Echo : {'ON' if self.echo else 'OFF'}"]

    def _cmd_unit(self, args: list[str], _rest: str) -> list[str]:
        if len(args) == 1:
            symbol = _PRESSURE_SYMBOLS.get(args[0].lower())
            if symbol is None:
                return [self._bad_argument_reply]
            self.pressure_unit = symbol
        elif len(args) == 2:
            quantity = args[0].upper()
            if quantity in _PRESSURE_QUANTITIES and args[1].lower() in _PRESSURE_SYMBOLS:
                self.pressure_unit = _PRESSURE_SYMBOLS[args[1].lower()]
            elif quantity in _TEMPERATURE_QUANTITIES and args[1].lower() in _TEMPERATURE_SYMBOLS:
                self.temperature_unit = _TEMPERATURE_SYMBOLS[args[1].lower()]
            else:
                return [self._bad_argument_reply]
        elif args:
            return [self._bad_argument_reply]
        lines = [f"{q:<4}: {self.pressure_unit}" for q in ("P", "P3h", "P1", "QFE", "QNH")]
        return [*lines, f"{'TP1':<4}: {self.temperature_unit}"]

    def _cmd_form(self, _args: list[str], rest: str) -> list[str]:
        if rest == "/":
            self._form_tokens = _tokenize_form(self._default_form)
        elif rest:
            try:
                self._form_tokens = _tokenize_form(rest)
            except ValueError:
                return [self._bad_argument_reply]
        self.form = " ".join(self._form_tokens)
        return [self.form if rest and rest != "/" else f"Output format : {self.form}"]

    def _cmd_addr(self, args: list[str], _rest: str) -> list[str]:
        if args:
            if not (len(args) == 1 and args[0].isdigit() and int(args[0]) <= 255):
                return [self._bad_argument_reply]
            self.address = int(args[0])
        return [f"Address : {self.address}"]

    def _cmd_intv(self, args: list[str], _rest: str) -> list[str]:
        if args:
            scale = {"S": 1.0, "MIN": 60.0, "H": 3600.0}.get(
                args[1].upper() if len(args) > 1 else "S"
            )
            if not args[0].isdigit() or scale is None:
                return [self._bad_argument_reply]
            self.run_interval_s = max(1.0, int(args[0]) * scale)  # about 1 s at least
        return [f"Output interval: {self.run_interval_s:g} s"]

    def _cmd_close(self, _args: list[str], _rest: str) -> list[str]:
        if self.smode != "POLL" or not self._opened:
            return [self._unknown_reply]
        self._opened = False
        return ["line closed"]

    def _settings_report(self) -> list[str]:
        # The layout of the `?` example in the User's Guide (p. 87).
        return [
            f"{self.model} / {self.version}",
            f"Serial number  : {self.serial_number}",
            f"Output format  : {self.form}",
            f"Start mode     : {self.smode}",
            "Baud P D S     : 4800 E 7 1",
            f"Output interval: {self.run_interval_s:g} s",
            f"Address        : {self.address}",
            f"Echo           : {'ON' if self.echo else 'OFF'}",
        ]

    def _measurement(self) -> bytes:
        with self._lock:
            fault = self._one_shot.popleft() if self._one_shot else None
            transducer_error = self._transducer_error
        pressure_pa, temperature_c = self._conditions(self._clock())
        line = _render_form(
            self._form_tokens,
            pressure=pressure_pa / PRESSURE_UNITS_PA[self.pressure_unit.lower()],
            pressure_unit=self.pressure_unit,
            temperature=_celsius_to(temperature_c, self.temperature_unit),
            temperature_unit=self.temperature_unit,
            transducers=self.transducers,
            error=transducer_error,
            address=self.address,
            serial_number=self.serial_number,
        )
        if fault == "corrupt":
            match = re.search(rb"\d", line)
            if match is not None:
                line = line[: match.start()] + b"x" + line[match.end() :]
        elif fault == "truncate":
            line = line[: len(line) // 2] + b"\r\n"
        elif fault == "garbage":
            line = bytes(self._rng.randrange(0x80, 0x100) for _ in range(24)) + b"\r\n"
        return line


def _celsius_to(value_c: float, unit: str) -> float:
    if unit == "'F":
        return value_c * 9.0 / 5.0 + 32.0
    if unit == "K":
        return value_c + 273.15
    return value_c


_FORM_WORDS: Final = frozenset(
    {*_PRESSURE_QUANTITIES, *_TEMPERATURE_QUANTITIES, "ERR", "ADDR", "SN", "CS2"}
)


def _tokenize_form(form: str) -> list[str]:
    """Split and check a FORM string; ValueError for anything this simulator does not know."""
    tokens: list[str] = []
    position = 0
    for match in _FORM_TOKEN.finditer(form):
        if form[position : match.start()].strip():
            raise ValueError(f"cannot read {form[position : match.start()]!r} in FORM")
        token = match.group(0)
        word = token.upper()
        if token[0].isalpha() and word not in _FORM_WORDS and not re.fullmatch(r"U\d?", word):
            raise ValueError(f"unknown FORM quantity {token!r}")
        if token == "/":
            raise ValueError("'/' must stand alone")
        tokens.append(token)
        position = match.end()
    if form[position:].strip():
        raise ValueError(f"cannot read {form[position:]!r} in FORM")
    return tokens


def _render_form(
    tokens: list[str],
    *,
    pressure: float,
    pressure_unit: str,
    temperature: float,
    temperature_unit: str,
    transducers: int,
    error: bool,
    address: int,
    serial_number: str,
) -> bytes:
    out = bytearray()
    digits: tuple[int, int] | None = None
    last_unit = ""
    for token in tokens:
        word = token.upper()
        if token.startswith('"'):
            out += token[1:-1].encode("ascii", errors="replace")
        elif word[0] in "#\\":
            code = word[1:]
            special = {"RN": b"\r\n", "R": b"\r", "N": b"\n", "T": b"\t"}
            out += special[code] if code in special else bytes([int(code) % 256])
        elif re.fullmatch(r"\d\.\d", token):
            digits = (int(token[0]), int(token[2]))
        elif re.fullmatch(r"U\d?", word):
            width = int(word[1:]) if word[1:] else len(last_unit)
            out += last_unit.ljust(width)[:width].encode()
        elif word in _PRESSURE_QUANTITIES or word in _TEMPERATURE_QUANTITIES:
            is_pressure = word in _PRESSURE_QUANTITIES
            module = 1 if word in ("P", "P1", "TP1") else int(word[-1])
            available = module <= transducers and not error
            whole, decimals = digits or ((4, 2) if is_pressure else (3, 1))
            width = whole + (decimals + 1 if decimals else 0)
            value = pressure if is_pressure else temperature
            text = f"{value:{width}.{decimals}f}" if available else "*" * width
            out += text.encode()
            last_unit = pressure_unit if is_pressure else temperature_unit
            digits = None
        elif word == "ERR":
            flags = ("1" if error else "0") * transducers
            out += flags.ljust(3).encode()
        elif word == "ADDR":
            out += f"{address:>3}".encode()
        elif word == "SN":
            out += serial_number.encode()
        elif word == "CS2":
            out += f"{sum(out) % 256:02X}".encode()
    return bytes(out)

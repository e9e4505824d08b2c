"""A `$HWP` bridge on a serial line, as a `PressureSensor`.

The bridge streams; the host never asks. `read` takes everything received
since the last call without waiting, keeps the newest valid frame, and counts
the rest: corrupted lines by kind, lost frames from sequence gaps, fault
frames. Silence longer than `silence_timeout_s` is a `BusTimeoutError`, so a
dead bridge or a pulled cable shows up even though no request ever times out.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from hullwatch.drivers.errors import BusTimeoutError, MeasurementError
from hullwatch.drivers.sensor import Reading
from hullwatch.drivers.transports.serial_port import LineTooLongError, SerialLine, SerialSettings

from .protocol import (
    MAX_FRAME_BYTES,
    TERMINATOR,
    BridgeFrame,
    BridgeFrameError,
    describe_status,
    frames_missed,
    parse_frame,
)

# Without a configured silence timeout, allow this many frame periods (or the
# line's timeout, if longer) without a valid frame before calling the bridge silent.
SILENT_PERIODS: Final = 3.0
DEFAULT_BAUDRATE: Final = 115_200


def bridge_serial_settings(
    port: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout_s: float = 1.0
) -> SerialSettings:
    """Serial settings for a bridge: 8N1, CR LF lines of at most `MAX_FRAME_BYTES`."""
    return SerialSettings(
        port=port,
        baudrate=baudrate,
        terminator=TERMINATOR,
        timeout_s=timeout_s,
        max_line_bytes=MAX_FRAME_BYTES,
    )


@dataclass(frozen=True, slots=True)
class BridgeStats:
    """Counters since the sensor was made (they survive `initialise`)."""

    frames: int = 0  # well-formed frames, fault frames included
    fault_frames: int = 0  # frames with status bits set
    corrupted: MappingProxyType[str, int] = field(
        default_factory=lambda: MappingProxyType({})
    )  # by `BridgeFrameError.kind`, plus "overlong" for runs the transport dropped
    sequence_gaps: int = 0  # jumps in the sequence number
    frames_missed: int = 0  # frames lost in those jumps
    repeated_frames: int = 0  # a sequence number seen twice in a row

    @property
    def corrupted_total(self) -> int:
        return sum(self.corrupted.values())


class SerialBridgeSensor:
    """One bridge on one serial line; implements `PressureSensor`."""

    def __init__(
        self,
        line: SerialLine,
        *,
        expected_rate_hz: float,
        silence_timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not expected_rate_hz > 0:
            raise ValueError(
                f"expected rate must be a positive number of Hz, got {expected_rate_hz}"
            )
        if silence_timeout_s is None:
            silence_timeout_s = max(SILENT_PERIODS / expected_rate_hz, line.settings.timeout_s)
        if not silence_timeout_s > 1.0 / expected_rate_hz:
            raise ValueError(
                f"silence timeout {silence_timeout_s} s is not longer than one frame period "
                f"at {expected_rate_hz:g} Hz"
            )
        self._line = line
        self._expected_rate_hz = expected_rate_hz
        self._silence_timeout_s = silence_timeout_s
        self._clock = clock
        self._ready = False
        self._pending: BridgeFrame | None = None  # received but not yet returned by `read`
        self._last_seq: int | None = None
        self._last_frame_at = 0.0
        self._overlong_seen = line.overlong_lines
        self._frames = 0
        self._fault_frames = 0
        self._corrupted: Counter[str] = Counter()
        self._gaps = 0
        self._missed = 0
        self._repeats = 0
        self._last_error: BridgeFrameError | None = None

    @property
    def description(self) -> str:
        return f"serial bridge ($HWP) on {self._line.name}"

    @property
    def silence_timeout_s(self) -> float:
        return self._silence_timeout_s

    @property
    def stats(self) -> BridgeStats:
        return BridgeStats(
            frames=self._frames,
            fault_frames=self._fault_frames,
            corrupted=MappingProxyType(dict(self._corrupted)),
            sequence_gaps=self._gaps,
            frames_missed=self._missed,
            repeated_frames=self._repeats,
        )

    @property
    def last_sequence(self) -> int | None:
        """The sequence number of the newest well-formed frame received (None before one)."""
        return self._last_seq

    @property
    def last_error(self) -> BridgeFrameError | None:
        """The most recent corrupted line's error, for diagnostics."""
        return self._last_error

    async def initialise(self) -> None:
        """Open the port, drop any backlog and wait for the first valid frame.

        Raises `BusTimeoutError` when none arrives within `silence_timeout_s`,
        or the `MeasurementError` of the last fault frame when the bridge
        answers but its sensor does not.
        """
        self._ready = False
        self._pending = None
        self._last_seq = None
        await self._line.open()
        await self._line.flush_input()
        self._count_overlong()
        deadline = self._clock() + self._silence_timeout_s
        fault: BridgeFrame | None = None
        while (remaining := deadline - self._clock()) > 0:
            try:
                raw = await self._line.read_line(remaining)
            except BusTimeoutError:
                break
            except LineTooLongError:
                self._count_overlong()
                continue
            frame = self._accept(raw)
            if frame is None:
                continue
            if not frame.valid:
                fault = frame
                continue
            self._pending = frame
            self._ready = True
            return
        if fault is not None:
            raise self._fault_error(fault)
        raise BusTimeoutError(
            f"no valid $HWP frame within {self._silence_timeout_s:g} s "
            f"(expected {self._expected_rate_hz:g} per second)",
            bus=self._line.name,
        )

    async def read(self) -> Reading | None:
        """The newest valid frame since the last read, or None when none arrived.

        Raises the fault of the newest frame when that frame reports a sensor
        error, and `BusTimeoutError` when nothing valid arrived for longer
        than `silence_timeout_s`.
        """
        if not self._ready:
            raise RuntimeError(f"{self.description}: call initialise() first")
        newest = self._pending
        self._pending = None
        for raw in await self._line.drain_lines():
            frame = self._accept(raw)
            if frame is not None:
                newest = frame
        self._count_overlong()
        if newest is None:
            silent_s = self._clock() - self._last_frame_at
            if silent_s > self._silence_timeout_s:
                raise BusTimeoutError(
                    f"no valid $HWP frame for {silent_s:.2f} s "
                    f"(limit {self._silence_timeout_s:g} s)",
                    bus=self._line.name,
                )
            return None
        if not newest.valid:
            raise self._fault_error(newest)
        return newest.reading()

    def _accept(self, raw: bytes) -> BridgeFrame | None:
        """Parse one line and account for it; None for a corrupted line."""
        try:
            frame = parse_frame(raw)
        except BridgeFrameError as exc:
            self._corrupted[exc.kind] += 1
            self._last_error = exc
            return None
        if self._last_seq is not None:
            if frame.seq == self._last_seq:
                self._repeats += 1
            elif missed := frames_missed(self._last_seq, frame.seq):
                self._gaps += 1
                self._missed += missed
        self._last_seq = frame.seq
        self._last_frame_at = self._clock()
        self._frames += 1
        if not frame.valid:
            self._fault_frames += 1
        return frame

    def _count_overlong(self) -> None:
        total = self._line.overlong_lines
        if total > self._overlong_seen:
            self._corrupted["overlong"] += total - self._overlong_seen
        self._overlong_seen = total

    def _fault_error(self, frame: BridgeFrame) -> MeasurementError:
        return MeasurementError(
            f"bridge frame {frame.seq} reports status {frame.status:02X}: "
            f"{describe_status(frame.status)}",
            bus=self._line.name,
        )

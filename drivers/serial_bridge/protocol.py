"""The `$HWP` line protocol of a microcontroller bridge that streams one sensor's readings.

Modelled on NMEA 0183 sentences (NMEA 0183 v3.01 section 5.3; the checksum as
Garmin's NMEA FAQ and every NMEA parser define it). This module is the
specification the bridge firmware is written from, and its parser.

Wire format, one frame per line, printable ASCII (0x20..0x7E) plus CR LF::

    $HWP,<seq>,<pressure_pa>,<temperature_c>,<status>*<checksum>\\r\\n

    example: $HWP,42,101325.00,21.50,00*4B\\r\\n

=============  ==============================================================
field          meaning
=============  ==============================================================
``$``          start of frame; appears nowhere else in a frame
``HWP``        sentence identifier ("hullwatch pressure"), version 1
seq            frame counter, decimal without sign or leading ``+``, 0..65535;
               +1 per frame, 65535 wraps to 0; 0 after the bridge (re)starts.
               A jump is counted by the host as lost frames, never fatal.
pressure_pa    absolute pressure in pascal: ``-?D{1,6}[.D{1,3}]`` (no
               exponent, no ``nan``/``inf``); 0 .. 200000 Pa. Send 2 decimals.
temperature_c  the pressure sensor's temperature in °C, same number syntax,
               1 to 3 integer digits; -55 .. 125 °C. Send 2 decimals.
status         two uppercase hex digits, a bit mask; ``00`` = reading valid.
               01: the sensor did not answer (bus NACK or timeout);
               02: the sensor reported an error or an unusable sample;
               04: the sensor's value lies outside its specified range.
               Other bits are reserved and read as faults. With any bit set,
               pressure_pa and temperature_c are empty (``$HWP,7,,,01*79``).
``*``          checksum delimiter
checksum       XOR of every byte after ``$`` and before ``*``, as two
               uppercase hex digits (``0``-``9``, ``A``-``F``)
``\\r\\n``       CR LF ends the frame
=============  ==============================================================

A frame is at most 82 bytes including ``$`` and CR LF, as an NMEA sentence; a
version-1 frame is at most 37. The bridge streams frames at a fixed rate (the
host is configured with it, typically 1-10 Hz) whether or not the sensor
answers: on a sensor error it keeps sending, with the status bits set and the
value fields empty, so the host can tell "bridge alive, sensor broken" from
"bridge silent". Serial settings: 115200 baud, 8 data bits, no parity, 1 stop
bit unless configured otherwise.

Parsing is strict and pure: `parse_frame` returns a `BridgeFrame` or raises a
`BridgeFrameError` subclass naming what is wrong. A corrupted line never turns
into a value: a single changed, added or dropped byte always fails the
checksum or the framing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Final

from hullwatch.drivers.errors import MeasurementError, OutOfRangeError
from hullwatch.drivers.sensor import Reading

SENTENCE_ID: Final = "HWP"
START: Final = b"$"
CHECKSUM_DELIMITER: Final = b"*"
TERMINATOR: Final = b"\r\n"
MAX_FRAME_BYTES: Final = 82  # NMEA 0183 v3.01 section 5.3, including "$" and CR LF
# The fastest frame rate a host may be configured for (a version-1 frame takes 3.2 ms
# at 115200 baud 8N1).
MAX_FRAME_RATE_HZ: Final = 100.0
FIELD_COUNT: Final = 5  # HWP, seq, pressure_pa, temperature_c, status
SEQ_MODULUS: Final = 65536

PRESSURE_MIN_PA: Final = 0.0
PRESSURE_MAX_PA: Final = 200_000.0
TEMPERATURE_MIN_C: Final = -55.0
TEMPERATURE_MAX_C: Final = 125.0

STATUS_OK: Final = 0x00
STATUS_NO_ANSWER: Final = 0x01
STATUS_SENSOR_ERROR: Final = 0x02
STATUS_OUT_OF_RANGE: Final = 0x04
STATUS_BITS: Final = (
    (STATUS_NO_ANSWER, "sensor did not answer"),
    (STATUS_SENSOR_ERROR, "sensor reported an error"),
    (STATUS_OUT_OF_RANGE, "sensor value outside its specified range"),
)

_SEQ: Final = re.compile(rb"\d{1,5}")
_PRESSURE: Final = re.compile(rb"-?\d{1,6}(?:\.\d{1,3})?")
_TEMPERATURE: Final = re.compile(rb"-?\d{1,3}(?:\.\d{1,3})?")
_STATUS: Final = re.compile(rb"[0-9A-F]{2}")
_CHECKSUM: Final = re.compile(rb"[0-9A-F]{2}")
_PRINTABLE_MIN: Final = 0x20
_PRINTABLE_MAX: Final = 0x7E


class BridgeFrameError(MeasurementError):
    """A received line that is not a valid `$HWP` frame. `kind` names the fault for counters."""

    kind: ClassVar[str] = "invalid"


class FrameLengthError(BridgeFrameError):
    """Longer than `MAX_FRAME_BYTES`."""

    kind = "length"


class FrameEncodingError(BridgeFrameError):
    """A byte outside printable ASCII: line noise, a wrong baud rate, binary garbage."""

    kind = "encoding"


class TruncatedFrameError(BridgeFrameError):
    """A part is missing: the start, the checksum, the terminator, or the rest of a frame."""

    kind = "truncated"


class ChecksumError(BridgeFrameError):
    """The checksum does not match the frame's bytes."""

    kind = "checksum"


class UnknownSentenceError(BridgeFrameError):
    """A well-formed sentence that is not `$HWP`."""

    kind = "sentence"


class FieldCountError(BridgeFrameError):
    """Not the five fields of a version-1 frame."""

    kind = "field_count"


class FieldFormatError(BridgeFrameError):
    """A field that is not in its documented syntax (non-numeric, empty, lower-case hex...)."""

    kind = "field_format"


class FrameRangeError(BridgeFrameError, OutOfRangeError):
    """A well-formed value outside the range the protocol allows."""

    kind = "range"


@dataclass(frozen=True, slots=True)
class BridgeFrame:
    """One parsed frame. The values are None exactly when `status` is not `STATUS_OK`."""

    seq: int
    status: int
    pressure_pa: float | None
    temperature_c: float | None

    @property
    def valid(self) -> bool:
        return self.status == STATUS_OK

    def reading(self) -> Reading:
        """The frame's values; only for a valid frame."""
        if self.pressure_pa is None or self.temperature_c is None:
            raise ValueError(f"frame {self.seq} carries no reading (status {self.status:02X})")
        return Reading(pressure_pa=self.pressure_pa, temperature_c=self.temperature_c)


def checksum(payload: bytes) -> int:
    """NMEA checksum: the XOR of the bytes between `$` and `*`."""
    value = 0
    for byte in payload:
        value ^= byte
    return value


def describe_status(status: int) -> str:
    """`sensor did not answer` for 0x01; unknown bits as `reserved bit 0x80`."""
    if status == STATUS_OK:
        return "valid"
    parts = [text for bit, text in STATUS_BITS if status & bit]
    known = 0
    for bit, _ in STATUS_BITS:
        known |= bit
    if unknown := status & ~known:
        parts.append(f"reserved bits 0x{unknown:02X}")
    return "; ".join(parts)


def encode_frame(
    seq: int,
    pressure_pa: float | None,
    temperature_c: float | None,
    status: int = STATUS_OK,
) -> bytes:
    """A frame as the bridge sends it (values with 2 decimals; empty fields on a fault)."""
    if not 0 <= seq < SEQ_MODULUS:
        raise ValueError(f"sequence number {seq} outside 0..{SEQ_MODULUS - 1}")
    if not 0 <= status <= 0xFF:
        raise ValueError(f"status 0x{status:X} is not one byte")
    if status == STATUS_OK:
        if pressure_pa is None or temperature_c is None:
            raise ValueError("a valid frame needs both values")
        values = f"{pressure_pa:.2f},{temperature_c:.2f}"
    else:
        values = ","
    payload = f"{SENTENCE_ID},{seq},{values},{status:02X}".encode("ascii")
    return START + payload + CHECKSUM_DELIMITER + f"{checksum(payload):02X}".encode() + TERMINATOR


def parse_frame(line: bytes) -> BridgeFrame:
    """Check and decode one received line (terminator included).

    Raises the `BridgeFrameError` subclass of the first fault found, in the
    order: length, encoding, framing (start, terminator, a second `$`,
    the `*`), checksum, sentence id, field count, field syntax, range.
    """
    if len(line) > MAX_FRAME_BYTES:
        raise FrameLengthError(f"line of {len(line)} bytes exceeds {MAX_FRAME_BYTES}")
    if line.endswith(TERMINATOR):
        body = line[: -len(TERMINATOR)]
    else:  # cut short, perhaps between CR and LF
        body = line.removesuffix(TERMINATOR[:1])
    for offset, byte in enumerate(body):
        if not _PRINTABLE_MIN <= byte <= _PRINTABLE_MAX:
            raise FrameEncodingError(
                f"byte 0x{byte:02X} at offset {offset} is not printable ASCII: {_show(line)}"
            )
    if not line.endswith(TERMINATOR):
        raise TruncatedFrameError(f"no CR LF at the end: {_show(line)}")
    if not body.startswith(START):
        raise TruncatedFrameError(f"does not start with '$': {_show(line)}")
    second_start = body.find(START, 1)
    if second_start >= 0:
        raise TruncatedFrameError(
            f"a '$' at offset {second_start}: the frame before it was cut short: {_show(line)}"
        )
    star = body.find(CHECKSUM_DELIMITER)
    if star < 0:
        raise TruncatedFrameError(f"no '*' before the checksum: {_show(line)}")
    payload, sent = body[1:star], body[star + 1 :]
    if len(sent) < 2:
        raise TruncatedFrameError(f"checksum cut short ({sent!r}): {_show(line)}")
    if not _CHECKSUM.fullmatch(sent):
        raise FieldFormatError(f"checksum {sent!r} is not two upper-case hex digits")
    computed = checksum(payload)
    if int(sent, 16) != computed:
        raise ChecksumError(
            f"checksum {sent.decode()} does not match the computed {computed:02X}: {_show(line)}"
        )
    return _decode_fields(payload.split(b","))


def frames_missed(previous_seq: int, seq: int) -> int:
    """Frames lost between two received sequence numbers, across the 65535 → 0 wrap.

    0 for consecutive frames, and for a repeated number (the caller tells a
    repeat by comparing the two).
    """
    return (seq - previous_seq - 1) % SEQ_MODULUS if seq != previous_seq else 0


def _decode_fields(fields: list[bytes]) -> BridgeFrame:
    if fields[0] != SENTENCE_ID.encode():
        raise UnknownSentenceError(f"sentence {fields[0].decode()!r} is not {SENTENCE_ID!r}")
    if len(fields) != FIELD_COUNT:
        raise FieldCountError(
            f"expected {FIELD_COUNT} fields (HWP,seq,pressure_pa,temperature_c,status), "
            f"got {len(fields)}"
        )
    _, seq_text, pressure_text, temperature_text, status_text = fields
    if not _SEQ.fullmatch(seq_text):
        raise FieldFormatError(f"sequence number {seq_text!r} is not a decimal integer")
    seq = int(seq_text)
    if seq >= SEQ_MODULUS:
        raise FrameRangeError(f"sequence number {seq} outside 0..{SEQ_MODULUS - 1}")
    if not _STATUS.fullmatch(status_text):
        raise FieldFormatError(f"status {status_text!r} is not two upper-case hex digits")
    status = int(status_text, 16)
    if status != STATUS_OK:
        if pressure_text or temperature_text:
            raise FieldFormatError(
                f"frame {seq} has status {status:02X} ({describe_status(status)}) "
                "but carries values; a fault frame's value fields are empty"
            )
        return BridgeFrame(seq=seq, status=status, pressure_pa=None, temperature_c=None)
    pressure_pa = _number("pressure_pa", pressure_text, _PRESSURE)
    temperature_c = _number("temperature_c", temperature_text, _TEMPERATURE)
    _check_range("pressure", pressure_pa, "Pa", PRESSURE_MIN_PA, PRESSURE_MAX_PA)
    _check_range("temperature", temperature_c, "°C", TEMPERATURE_MIN_C, TEMPERATURE_MAX_C)
    return BridgeFrame(seq=seq, status=status, pressure_pa=pressure_pa, temperature_c=temperature_c)


def _number(name: str, text: bytes, syntax: re.Pattern[bytes]) -> float:
    if not text:
        raise FieldFormatError(f"{name} is empty while status is 00 (valid)")
    if not syntax.fullmatch(text):
        raise FieldFormatError(f"{name} {text!r} is not a plain decimal number")
    return float(text)


def _check_range(what: str, value: float, unit: str, low: float, high: float) -> None:
    if not low <= value <= high:
        raise FrameRangeError(f"{what} {value:g} {unit} outside {low:g}..{high:g} {unit}")


def _show(line: bytes, limit: int = 48) -> str:
    """A line for an error message: escaped, and cut if long."""
    text = repr(line[:limit])
    return text + ("..." if len(line) > limit else "")

"""The $HWP bridge protocol (pure parser, fuzzed) and SerialBridgeSensor through a real pty.

Fuzz budget (hypothesis examples per run): random bytes 3000, framed random
payloads with a correct checksum 2000, single-byte mutations of valid frames
3000, valid-frame round trips 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hullwatch.drivers.errors import BusError, BusTimeoutError, MeasurementError, OutOfRangeError
from hullwatch.drivers.sensor import Reading
from hullwatch.drivers.serial_bridge import (
    STATUS_NO_ANSWER,
    STATUS_SENSOR_ERROR,
    BridgeFrame,
    BridgeFrameError,
    ChecksumError,
    FieldCountError,
    FieldFormatError,
    FrameEncodingError,
    FrameLengthError,
    FrameRangeError,
    SerialBridgeSensor,
    TruncatedFrameError,
    UnknownSentenceError,
    bridge_serial_settings,
    checksum,
    describe_status,
    encode_frame,
    frames_missed,
    parse_frame,
)
from hullwatch.drivers.transports.serial_port import SerialLine, SerialSettings
from hullwatch.hil.serial_sims import BridgeSimulator

RATE_HZ = 50.0
SILENCE_S = 0.3
GOOD = b"$HWP,42,101325.00,21.50,00*4B\r\n"  # the example in the protocol's docstring


def framed(payload: str, *, checksum_text: str | None = None) -> bytes:
    """`$payload*CS\\r\\n` with a correct checksum unless one is given."""
    body = payload.encode("latin-1")
    cs = checksum_text if checksum_text is not None else f"{checksum(body):02X}"
    return b"$" + body + b"*" + cs.encode("latin-1") + b"\r\n"


# --- the protocol, pure ---


def test_the_documented_example_round_trips() -> None:
    assert encode_frame(42, 101325.0, 21.5) == GOOD
    assert parse_frame(GOOD) == BridgeFrame(
        seq=42, status=0, pressure_pa=101325.0, temperature_c=21.5
    )
    assert parse_frame(GOOD).reading().pressure_pa == 101325.0


def test_a_fault_frame_carries_status_and_no_values() -> None:
    fault = b"$HWP,7,,,01*79\r\n"
    assert encode_frame(7, None, None, STATUS_NO_ANSWER) == fault
    frame = parse_frame(fault)
    assert (frame.seq, frame.status, frame.pressure_pa, frame.valid) == (7, 1, None, False)
    with pytest.raises(ValueError, match="carries no reading"):
        frame.reading()


def test_checksum_is_the_xor_between_dollar_and_star() -> None:
    payload = b"HWP,42,101325.00,21.50,00"
    assert checksum(payload) == reduce(lambda a, b: a ^ b, payload) == 0x4B


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        # checksum
        (GOOD.replace(b"101325", b"101326"), ChecksumError, "does not match"),
        (GOOD.replace(b"*4B", b"*4C"), ChecksumError, "computed 4B"),
        # truncated: start, end, a second frame running in, no '*', checksum cut
        (GOOD[:-2], TruncatedFrameError, "no CR LF"),
        (GOOD[:-1], TruncatedFrameError, "no CR LF"),
        (GOOD[1:], TruncatedFrameError, "start with '\\$'"),
        (GOOD[:20] + GOOD, TruncatedFrameError, "cut short"),
        (b"$HWP,42,101325.00,21.50,00\r\n", TruncatedFrameError, "no '\\*'"),
        (GOOD.replace(b"*4B", b"*4"), TruncatedFrameError, "checksum cut short"),
        (b"\r\n", TruncatedFrameError, "start with"),
        # encoding: noise, NUL, a tab
        (b"\xff\xfe\x00garbage\r\n", FrameEncodingError, "0xFF at offset 0"),
        (GOOD.replace(b"42", b"4\x002"), FrameEncodingError, "0x00"),
        (framed("HWP,42,101325.00,\t21.50,00"), FrameEncodingError, "0x09"),
        # length
        (framed("HWP,1," + "1" * 80 + ",21.5,00"), FrameLengthError, "exceeds 82"),
        # sentence and field count (checksums correct)
        (framed("GPGGA,1,2,3,4"), UnknownSentenceError, "'GPGGA'"),
        (framed("HWP,42,101325.00,21.50"), FieldCountError, "got 4"),
        (framed("HWP,42,101325.00,21.50,00,extra"), FieldCountError, "got 6"),
        # field syntax (checksums correct)
        (framed("HWP,42,abc,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42,nan,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42,inf,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42,1e5,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42,+101325,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42, 101325,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42,101325.,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42,101325.0001,21.50,00"), FieldFormatError, "pressure_pa"),
        (framed("HWP,42,,21.50,00"), FieldFormatError, "empty while status is 00"),
        (framed("HWP,42,101325,2150.0,00"), FieldFormatError, "temperature_c"),
        (framed("HWP,-1,101325,21.5,00"), FieldFormatError, "sequence number"),
        (framed("HWP,42,101325,21.5,0"), FieldFormatError, "status"),
        (framed("HWP,42,101325,21.5,0a"), FieldFormatError, "status"),
        (framed("HWP,42,101325,21.5,01"), FieldFormatError, "carries values"),
        (framed("HWP,42,101325.00,21.50,00", checksum_text="4b"), FieldFormatError, "upper"),
        (framed("HWP,42,101325.00,21.50,00", checksum_text="4BB"), FieldFormatError, "two"),
        # ranges (checksums correct)
        (framed("HWP,42,200000.01,21.5,00"), FrameRangeError, "pressure 200000"),
        (framed("HWP,42,-0.01,21.5,00"), FrameRangeError, "pressure -0.01"),
        (framed("HWP,42,101325,125.01,00"), FrameRangeError, "temperature 125.01"),
        (framed("HWP,42,101325,-55.5,00"), FrameRangeError, "temperature -55.5"),
        (framed("HWP,65536,101325,21.5,00"), FrameRangeError, "sequence number 65536"),
    ],
)
def test_every_kind_of_bad_line_has_its_own_error(
    line: bytes, error: type[BridgeFrameError], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        parse_frame(line)
    assert isinstance(caught.value, MeasurementError)
    assert caught.value.retriable


def test_range_errors_are_out_of_range_errors() -> None:
    with pytest.raises(OutOfRangeError):
        parse_frame(framed("HWP,1,250000,21.5,00"))


@pytest.mark.parametrize(
    ("previous", "current", "missed"),
    [(5, 6, 0), (5, 8, 2), (65535, 0, 0), (65534, 1, 2), (5, 5, 0), (0, 65535, 65534)],
)
def test_frames_missed_wraps_at_65536(previous: int, current: int, missed: int) -> None:
    assert frames_missed(previous, current) == missed


def test_status_bits_are_described() -> None:
    assert describe_status(0) == "valid"
    assert describe_status(STATUS_NO_ANSWER | STATUS_SENSOR_ERROR) == (
        "sensor did not answer; sensor reported an error"
    )
    assert describe_status(0x80) == "reserved bits 0x80"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((65536, 1.0, 1.0), "sequence number"),
        ((1, 1.0, 1.0, 0x100), "one byte"),
        ((1, None, 1.0), "both values"),
    ],
)
def test_encode_frame_refuses_what_the_protocol_cannot_carry(
    args: tuple[int, float | None, float | None], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode_frame(*args)


# --- fuzzing ---


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_never_become_a_frame(data: bytes) -> None:
    with pytest.raises(BridgeFrameError):
        parse_frame(data)


_PAYLOAD_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="$*")


@settings(max_examples=2000, deadline=None)
@given(st.text(_PAYLOAD_CHARS, max_size=60), st.sampled_from(["HWP,", "HWP,1,", ""]))
def test_framed_noise_with_a_valid_checksum_is_rejected_or_in_range(text: str, prefix: str) -> None:
    try:
        frame = parse_frame(framed(prefix + text))
    except BridgeFrameError:
        return
    # The checksum only guards transmission: a frame that parses is well-formed and in range.
    assert 0 <= frame.seq < 65536
    if frame.valid:
        assert frame.pressure_pa is not None
        assert frame.temperature_c is not None
        assert 0 <= frame.pressure_pa <= 200_000
        assert -55 <= frame.temperature_c <= 125


_VALID_FRAMES = st.builds(
    encode_frame,
    st.integers(0, 65535),
    st.floats(0, 200_000),
    st.floats(-55, 125),
)


@settings(max_examples=3000, deadline=None)
@given(
    _VALID_FRAMES,
    st.sampled_from(["substitute", "insert", "delete"]),
    st.integers(0, 200),
    st.integers(0, 255),
)
def test_any_single_byte_error_is_detected(frame: bytes, how: str, where: int, byte: int) -> None:
    position = where % (len(frame) + (1 if how == "insert" else 0))
    if how == "substitute":
        mutated = frame[:position] + bytes([byte]) + frame[position + 1 :]
    elif how == "insert":
        mutated = frame[:position] + bytes([byte]) + frame[position:]
    else:
        mutated = frame[:position] + frame[position + 1 :]
    if mutated == frame:
        return
    with pytest.raises(BridgeFrameError):
        parse_frame(mutated)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 65535), st.floats(0, 200_000), st.floats(-55, 125))
def test_valid_frames_round_trip(seq: int, pressure_pa: float, temperature_c: float) -> None:
    frame = parse_frame(encode_frame(seq, pressure_pa, temperature_c))
    assert frame.seq == seq
    # The bridge sends 2 decimals: the value comes back as that decimal, within half a
    # unit in the last place of the input (a tie like 0.125 may round either way).
    assert frame.pressure_pa == float(f"{pressure_pa:.2f}")
    assert frame.temperature_c == float(f"{temperature_c:.2f}")
    assert abs(frame.pressure_pa - pressure_pa) <= 0.005 + 1e-9 * max(1.0, pressure_pa)
    assert abs(frame.temperature_c - temperature_c) <= 0.005 + 1e-9


# --- SerialBridgeSensor through a pty ---


@dataclass
class Chamber:
    pressure_pa: float = 101_325.0
    temperature_c: float = 21.5
    ramp_pa_per_s: float = 0.0
    start_s: float = field(default_factory=time.monotonic)

    def __call__(self, t_s: float) -> tuple[float, float]:
        pressure_pa = self.pressure_pa + self.ramp_pa_per_s * (t_s - self.start_s)
        return pressure_pa, self.temperature_c


@pytest.fixture
def chamber() -> Chamber:
    return Chamber()


@pytest.fixture
def bridge(chamber: Chamber) -> Iterator[BridgeSimulator]:
    with BridgeSimulator(chamber, rate_hz=RATE_HZ) as sim:
        yield sim


@pytest.fixture
async def sensor(bridge: BridgeSimulator) -> AsyncIterator[SerialBridgeSensor]:
    line = SerialLine(bridge_serial_settings(bridge.path, timeout_s=SILENCE_S))
    yield SerialBridgeSensor(line, expected_rate_hz=RATE_HZ, silence_timeout_s=SILENCE_S)
    await line.close()


# Generous: a pty crossing or a frame period on a loaded Raspberry Pi, many times over.
WAIT_S = 10.0
_POLL_S = 0.005


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(_POLL_S)


async def frames_sent(bridge: BridgeSimulator, count: int) -> None:
    """Wait until the bridge has put `count` more frames on the wire (not: across the pty)."""
    target = bridge.frames_sent + count
    await until(lambda: bridge.frames_sent >= target, f"{count} more frames")


async def read_until(
    sensor: SerialBridgeSensor,
    done: Callable[[Reading | None], bool],
    what: str,
    timeout_s: float = WAIT_S,
    passing: tuple[type[Exception], ...] = (),
) -> list[Reading | None]:
    """Read until `done` holds for a result; every result, in order.

    A frame the bridge sent may still be crossing the pty, so a test reads until the
    sensor has it rather than waiting a fixed time and reading once. A read that raises
    one of `passing` (frames of a condition that is ending) is read again.
    """
    results: list[Reading | None] = []
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            results.append(await sensor.read())
        except passing:
            results.append(None)
        else:
            if done(results[-1]):
                return results
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s reading until {what}")
        await asyncio.sleep(_POLL_S)


async def quiet(bridge: BridgeSimulator, sensor: SerialBridgeSensor) -> list[Reading | None]:
    """Stop the stream and read until the sensor has the last frame sent: then every byte
    sent has crossed the pty (it delivers in order) and been taken."""
    bridge.pause()
    last = bridge.last_frame(kind=None)
    assert last is not None
    assert last.kind in ("good", "fault"), "a test quiets the bridge between good frames"
    return await read_until(
        sensor, lambda _: sensor.last_sequence == last.seq, f"frame {last.seq} arrived"
    )


def test_the_sensor_checks_its_rates(bridge: BridgeSimulator) -> None:
    line = SerialLine(SerialSettings(bridge.path))
    with pytest.raises(ValueError, match="positive"):
        SerialBridgeSensor(line, expected_rate_hz=0)
    with pytest.raises(ValueError, match="one frame period"):
        SerialBridgeSensor(line, expected_rate_hz=1.0, silence_timeout_s=0.5)
    assert SerialBridgeSensor(line, expected_rate_hz=10).silence_timeout_s == 1.0


async def test_read_before_initialise_is_a_programming_error(
    sensor: SerialBridgeSensor,
) -> None:
    with pytest.raises(RuntimeError, match="initialise"):
        await sensor.read()


async def test_reads_the_newest_frame_of_the_simulated_pressure(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor, chamber: Chamber
) -> None:
    chamber.ramp_pa_per_s = 50.0
    await sensor.initialise()
    assert "bridge" in sensor.description
    await frames_sent(bridge, 5)
    results = await quiet(bridge, sensor)
    readings = [r for r in results if r is not None]
    newest = bridge.last_frame()
    assert newest is not None
    reading = readings[-1]
    assert reading.pressure_pa == pytest.approx(newest.pressure_pa, abs=0.006)
    assert reading.temperature_c == pytest.approx(21.5, abs=0.006)
    # ...and the newest frame is the true pressure of a moment ago.
    assert reading.pressure_pa == pytest.approx(chamber(newest.sent_at_s)[0], abs=0.006)
    # Newest first: the frames that arrived between two reads give one reading, not one
    # each (at least five frames came; fewer readings than that were returned).
    assert sensor.stats.frames >= 5
    assert len(readings) < sensor.stats.frames
    assert sensor.stats.corrupted_total == 0


async def test_nothing_new_is_none(bridge: BridgeSimulator, sensor: SerialBridgeSensor) -> None:
    await sensor.initialise()
    await quiet(bridge, sensor)
    assert await sensor.read() is None


@pytest.mark.parametrize(
    ("inject", "kind"),
    [
        (BridgeSimulator.inject_corrupted_line, "checksum"),
        (BridgeSimulator.inject_truncated_line, "truncated"),
        (BridgeSimulator.inject_garbage, "encoding"),
        (lambda sim: sim.inject_garbage(b"\x55" * 300), "overlong"),
    ],
    ids=["corrupted", "truncated", "garbage", "garbage-without-newline"],
)
async def test_a_bad_line_is_counted_and_the_next_good_frame_is_used(
    bridge: BridgeSimulator,
    sensor: SerialBridgeSensor,
    inject: Callable[[BridgeSimulator], None],
    kind: str,
) -> None:
    await sensor.initialise()
    await sensor.read()
    inject(bridge)
    await frames_sent(bridge, 4)
    results = await quiet(bridge, sensor)
    newest = bridge.last_frame()
    assert newest is not None
    reading = results[-1]
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(newest.pressure_pa, abs=0.006)
    assert sensor.stats.corrupted[kind] == 1
    assert sensor.stats.corrupted_total == 1


async def test_a_corrupted_line_never_becomes_a_reading(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor
) -> None:
    await sensor.initialise()
    await quiet(bridge, sensor)
    liar = encode_frame(9, 50_000.0, 21.5)
    other_checksum = b"00" if liar[-4:-2] != b"00" else b"11"
    bridge.inject_garbage(liar[:-4] + other_checksum + b"\r\n")
    bridge.inject_garbage(liar.replace(b"50000", b"50001"))
    results = await read_until(
        sensor, lambda _: sensor.stats.corrupted.get("checksum") == 2, "both lines were rejected"
    )
    assert results == [None] * len(results)
    assert isinstance(sensor.last_error, ChecksumError)
    bridge.resume()
    results = await read_until(sensor, lambda r: r is not None, "a good frame")
    reading = results[-1]
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(101_325.0)
    assert sensor.stats.corrupted["checksum"] == 2


async def test_a_sequence_gap_is_counted_not_fatal(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor
) -> None:
    await sensor.initialise()
    bridge.skip_sequence(5)
    await frames_sent(bridge, 3)
    results = await quiet(bridge, sensor)
    assert results[-1] is not None
    assert sensor.stats.sequence_gaps == 1
    assert sensor.stats.frames_missed == 5


async def test_a_fault_frame_is_a_measurement_error_until_the_sensor_recovers(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor
) -> None:
    await sensor.initialise()
    bridge.set_sensor_fault(STATUS_NO_ANSWER)
    # The frame being composed as the fault is set may still be a good one: of four
    # more frames, at least three carry the fault.
    await frames_sent(bridge, 4)
    with pytest.raises(MeasurementError, match="did not answer") as caught:
        # Good frames sent before the fault may still be crossing the pty.
        await read_until(sensor, lambda _: False, "the fault frames arrived")
    assert not isinstance(caught.value, BusError)
    assert caught.value.bus == bridge.path
    bridge.set_sensor_fault(0)
    # A reading again means the newest frame is good: every fault frame before it was taken
    # (those still crossing the pty are read as the error again first).
    await read_until(
        sensor, lambda r: r is not None, "a good frame after the fault", passing=(MeasurementError,)
    )
    assert sensor.stats.fault_frames >= 3
    assert sensor.stats.corrupted_total == 0


async def test_silence_becomes_a_bus_timeout_within_the_silence_timeout(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor
) -> None:
    await sensor.initialise()
    await quiet(bridge, sensor)
    last = bridge.last_frame()
    assert last is not None
    with pytest.raises(BusTimeoutError, match="no valid \\$HWP frame"):  # noqa: PT012
        # Nothing new reads as None until the silence outlasts the timeout (bounded
        # generously, so that a sensor that never times out fails here).
        async with asyncio.timeout(WAIT_S):
            while True:
                assert await sensor.read() is None
                await asyncio.sleep(_POLL_S)
    # Not before: the silence is measured from the last frame received, which is later
    # than the moment it was sent.
    assert time.monotonic() - last.sent_at_s > SILENCE_S


async def test_initialise_times_out_on_a_silent_bridge(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor
) -> None:
    bridge.pause()
    started = time.monotonic()
    with pytest.raises(BusTimeoutError, match="no valid \\$HWP frame"):
        async with asyncio.timeout(WAIT_S):  # generous: a hang fails the test
            await sensor.initialise()
    assert time.monotonic() - started >= SILENCE_S


async def test_initialise_reports_a_bridge_whose_sensor_is_broken(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor
) -> None:
    bridge.set_sensor_fault(STATUS_SENSOR_ERROR)
    with pytest.raises(MeasurementError, match="reported an error") as caught:
        await sensor.initialise()
    assert not isinstance(caught.value, BusTimeoutError)


async def test_unplug_is_a_bus_error_and_replug_reads_again(
    bridge: BridgeSimulator, sensor: SerialBridgeSensor
) -> None:
    await sensor.initialise()
    assert await sensor.read() is not None
    bridge.unplug()
    with pytest.raises(BusError) as unplugged:
        await sensor.read()
    assert not isinstance(unplugged.value, BusTimeoutError)
    with pytest.raises(BusError, match="No such file"):
        await sensor.read()  # the by-id link is gone while unplugged
    with pytest.raises(BusError):
        await sensor.initialise()

    bridge.replug()  # the bridge restarts: sequence numbers from 0 again
    await sensor.initialise()
    await frames_sent(bridge, 2)
    reading = (await read_until(sensor, lambda r: r is not None, "a frame after the restart"))[-1]
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(101_325.0)
    assert sensor.stats.sequence_gaps == 0  # a restart is not counted as lost frames

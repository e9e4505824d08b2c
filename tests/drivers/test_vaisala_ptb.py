"""Vaisala PTB330: commands and reply parsing (pure, fuzzed), PtbSensor against a pty simulator.

Fuzz budget (hypothesis examples per run): random bytes 3000, replies
assembled from plausible and broken tokens 1000.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hullwatch.drivers.errors import (
    BusError,
    BusTimeoutError,
    MeasurementError,
    OutOfRangeError,
    WrongChipError,
)
from hullwatch.drivers.transports.serial_port import SerialLine
from hullwatch.drivers.vaisala_ptb import (
    OUTPUT_FORMAT,
    PtbIdentity,
    PtbMeasurement,
    PtbResponseError,
    PtbSensor,
    PtbTransducerError,
    check_range,
    parse_identity,
    parse_measurement,
    ptb_serial_settings,
    send_command,
)
from hullwatch.drivers.vaisala_ptb import protocol as p
from hullwatch.hil.serial_sims import PtbSimulator

TIMEOUT_S = 0.3
QUIET_S = 0.05


# --- commands and replies, pure ---


def test_commands_follow_the_manual() -> None:
    assert send_command() == "SEND"
    assert send_command(7) == "SEND 7"
    assert p.open_command(255) == "OPEN 255"
    assert f"FORM {OUTPUT_FORMAT}" == p.FORM_COMMAND
    assert "TP1" in OUTPUT_FORMAT
    assert "ERR" in OUTPUT_FORMAT
    with pytest.raises(ValueError, match=r"outside 0\.\.255"):
        send_command(256)


def test_serial_defaults_are_the_manuals() -> None:
    settings_ = ptb_serial_settings("/dev/ttyUSB0")
    assert (settings_.baudrate, settings_.bytesize, settings_.parity, settings_.stopbits) == (
        4800,
        7,
        "E",
        1,
    )
    assert settings_.line_ending_out == b"\r"
    assert settings_.terminator == b"\r\n"


@pytest.mark.parametrize(
    ("line", "pressure_pa", "temperature_c", "flags"),
    [
        (b"1013.250 hPa  21.50 'C 0  \r\n", 101_325.0, 21.5, "0"),
        (b">1013.250 hPa  21.50 'C 0\r\n", 101_325.0, 21.5, "0"),  # a stray prompt
        (b" 998.003 mbar -12.25 'C 000\r\n", 99_800.3, -12.25, "000"),
        (b"101325 Pa 70.70 'F 0\r\n", 101_325.0, 21.5, "0"),
        (b"760.000 torr 294.65 K 0\r\n", 101_325.0, 21.5, "0"),
        (b"101.325 kPa 21.5 C 0\r\n", 101_325.0, 21.5, "0"),
        (b"14.696 psia 21.5 'C 0\r\n", 101_325.6, 21.5, "0"),
    ],
)
def test_measurements_in_any_unit_become_pascal_and_celsius(
    line: bytes, pressure_pa: float, temperature_c: float, flags: str
) -> None:
    measurement = parse_measurement(line)
    assert measurement.pressure_pa == pytest.approx(pressure_pa, abs=1.0)
    assert measurement.temperature_c == pytest.approx(temperature_c, abs=0.01)
    assert measurement.error_flags == flags


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        (b"Unknown command\r\n", PtbResponseError, "expected '<pressure>"),
        (b"1013.2x0 hPa 21.50 'C 0\r\n", PtbResponseError, "pressure '1013.2x0'"),
        (b"1013.250 hPa 2l.50 'C 0\r\n", PtbResponseError, "temperature"),
        (b"1013.250 hPa 21.50 'C\r\n", PtbResponseError, "expected"),
        (b"1013.250 hPa 21.50 'C 0 0\r\n", PtbResponseError, "expected"),
        (b"1013.250 hPa 21.50 'C 0", PtbResponseError, "no CR LF"),
        (b"1013.250 hPa 21.50 'C 0\r", PtbResponseError, "no CR LF"),
        (b"1013.250 hPa\xb021.50 'C 0\r\n", PtbResponseError, "not ASCII"),
        (b"1013.250 hPa\x0021.50 'C 0\r\n", PtbResponseError, "control"),
        (b"1013.250 hPx 21.50 'C 0\r\n", PtbResponseError, "pressure unit 'hPx'"),
        (b"1013.250 hPa 21.50 'X 0\r\n", PtbResponseError, "temperature unit"),
        (b"1013.250 hPa 21.50 'C 2\r\n", PtbResponseError, "error flags"),
        (b"1013.250 hPa 21.50 'C 0000\r\n", PtbResponseError, "error flags"),
        (b"1013.250 hPa 21.50 'C 010\r\n", PtbTransducerError, "P2"),
        (b"******** hPa 21.50 'C 0\r\n", PtbTransducerError, "no pressure"),
        (b"1013.250 hPa ***.** 'C 0\r\n", PtbTransducerError, "no temperature"),
    ],
)
def test_bad_replies_have_their_own_errors(
    line: bytes, error: type[MeasurementError], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        parse_measurement(line)
    assert caught.value.retriable


@pytest.mark.parametrize(
    ("pressure_pa", "temperature_c", "bad"),
    [
        (101_325.0, 21.5, None),
        (5_000.0, -40.0, None),
        (110_000.0, 60.0, None),
        (4_999.0, 21.5, "pressure"),
        (110_001.0, 21.5, "pressure"),
        (101_325.0, 60.5, "temperature"),
    ],
)
def test_values_outside_the_specification_are_out_of_range(
    pressure_pa: float, temperature_c: float, bad: str | None
) -> None:
    measurement = PtbMeasurement(pressure_pa, temperature_c, "0")
    if bad is None:
        assert check_range(measurement).pressure_pa == pressure_pa
    else:
        with pytest.raises(OutOfRangeError, match=bad):
            check_range(measurement)


def test_identity_comes_from_vers() -> None:
    assert parse_identity(b"PTB330 / 1.12\r\n") == PtbIdentity("PTB330", "1.12")
    assert parse_identity(b">PTB330TS/2.00\r\n") == PtbIdentity("PTB330TS", "2.00")
    with pytest.raises(PtbResponseError, match="VERS"):
        parse_identity(b"Unknown command\r\n")


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_never_become_a_measurement(data: bytes) -> None:
    with pytest.raises((PtbResponseError, PtbTransducerError)):
        parse_measurement(data)


_TOKENS = st.sampled_from(
    [
        *("1013.25", "-5", "+7.5", "1e3", "nan", "****.**", "0.000", "99999999999999999999"),
        *("hPa", "Pa", "mmHg", "inHg", "'C", "'F", "K"),
        *("0", "1", "010", "x", "", ">"),
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_TOKENS, max_size=7), st.sampled_from([" ", "  ", "\t"]))
def test_replies_of_plausible_tokens_parse_finite_or_fail_cleanly(
    tokens: list[str], separator: str
) -> None:
    line = (separator.join(tokens) + "\r\n").encode()
    try:
        measurement = parse_measurement(line)
    except (PtbResponseError, PtbTransducerError):
        return
    assert math.isfinite(measurement.pressure_pa)
    assert math.isfinite(measurement.temperature_c)
    assert set(measurement.error_flags) == {"0"}


# --- PtbSensor through a pty ---


@dataclass
class Chamber:
    pressure_pa: float = 101_325.0
    temperature_c: float = 21.5

    def __call__(self, t_s: float) -> tuple[float, float]:
        return self.pressure_pa, self.temperature_c


@pytest.fixture
def chamber() -> Chamber:
    return Chamber()


@pytest.fixture
def start_ptb(chamber: Chamber) -> Iterator[Callable[..., PtbSimulator]]:
    simulators: list[PtbSimulator] = []

    def start(**options: object) -> PtbSimulator:
        sim = PtbSimulator(chamber, **options)  # type: ignore[arg-type]
        sim.start()
        simulators.append(sim)
        return sim

    yield start
    for sim in simulators:
        sim.close()


@pytest.fixture
async def make_sensor() -> AsyncIterator[Callable[..., PtbSensor]]:
    lines: list[SerialLine] = []

    def make(sim: PtbSimulator, address: int | None = None) -> PtbSensor:
        line = SerialLine(ptb_serial_settings(sim.path, timeout_s=TIMEOUT_S))
        lines.append(line)
        return PtbSensor(line, address=address, quiet_s=QUIET_S)

    yield make
    for line in lines:
        await line.close()


async def test_initialise_brings_a_running_instrument_into_a_known_state(
    start_ptb: Callable[..., PtbSimulator], make_sensor: Callable[..., PtbSensor]
) -> None:
    sim = start_ptb(
        smode="RUN", echo=True, run_interval_s=0.05, pressure_unit="mmHg", temperature_unit="'F"
    )
    sensor = make_sensor(sim)
    await sensor.initialise()
    assert sensor.identity == PtbIdentity("PTB330", "1.12")
    assert sensor.description.startswith("Vaisala PTB330 1.12 on ")
    assert (sim.smode, sim.running, sim.echo, sim.pressure_unit) == ("STOP", False, False, "hPa")
    assert sim.form == OUTPUT_FORMAT
    assert sim.commands[:6] == [
        "S",
        "SMODE STOP",
        "ECHO OFF",
        "UNIT hPa",
        f"FORM {OUTPUT_FORMAT}",
        "VERS",
    ]
    reading = await sensor.read()
    # 0.001 hPa in the reply; the temperature still in °F (3.2 digits), converted.
    assert reading.pressure_pa == pytest.approx(101_325.0, abs=0.1)
    assert reading.temperature_c == pytest.approx(21.5, abs=0.006)


async def test_reads_follow_the_chamber(
    start_ptb: Callable[..., PtbSimulator],
    make_sensor: Callable[..., PtbSensor],
    chamber: Chamber,
) -> None:
    sensor = make_sensor(start_ptb())
    await sensor.initialise()
    chamber.pressure_pa, chamber.temperature_c = 95_012.34, -3.25
    reading = await sensor.read()
    assert reading.pressure_pa == pytest.approx(95_012.3, abs=0.1)
    assert reading.temperature_c == pytest.approx(-3.25, abs=0.006)


async def test_an_instrument_on_an_rs485_bus_stays_in_poll_mode(
    start_ptb: Callable[..., PtbSimulator], make_sensor: Callable[..., PtbSensor]
) -> None:
    sim = start_ptb(smode="POLL", address=7)
    sensor = make_sensor(sim, address=7)
    await sensor.initialise()
    assert "at address 7" in sensor.description
    assert sim.smode == "POLL"
    assert sim.commands[0] == "OPEN 7"
    assert "CLOSE" in sim.commands
    assert (await sensor.read()).pressure_pa == pytest.approx(101_325.0, abs=0.1)
    assert sim.commands[-1] == "SEND 7"


@pytest.mark.parametrize(
    ("options", "address", "message"),
    [
        ({"smode": "POLL", "address": 7}, 8, "no answer to OPEN 8"),
        ({"smode": "POLL", "address": 7}, None, "in POLL mode, give its address"),
    ],
)
async def test_an_instrument_that_does_not_answer_is_a_timeout(
    start_ptb: Callable[..., PtbSimulator],
    make_sensor: Callable[..., PtbSensor],
    options: dict[str, object],
    address: int | None,
    message: str,
) -> None:
    sensor = make_sensor(start_ptb(**options), address=address)
    with pytest.raises(BusTimeoutError, match=message):
        await sensor.initialise()


async def test_another_model_is_refused(
    start_ptb: Callable[..., PtbSimulator], make_sensor: Callable[..., PtbSensor]
) -> None:
    sensor = make_sensor(start_ptb(model="PTB220", version="2.02"))
    with pytest.raises(WrongChipError, match="expected a PTB330, got PTB220"):
        await sensor.initialise()
    with pytest.raises(RuntimeError, match="initialise"):
        await sensor.read()


async def test_an_unreadable_identity_is_a_response_error(
    start_ptb: Callable[..., PtbSimulator], make_sensor: Callable[..., PtbSensor]
) -> None:
    sensor = make_sensor(start_ptb(model="BAROMETER"))
    with pytest.raises(PtbResponseError, match="from VERS"):
        await sensor.initialise()


@pytest.mark.parametrize(
    "inject",
    [
        PtbSimulator.inject_corrupted_reply,
        PtbSimulator.inject_truncated_reply,
        PtbSimulator.inject_garbage_reply,
    ],
    ids=["corrupted", "truncated", "garbage"],
)
async def test_a_bad_reply_is_an_error_and_the_next_read_is_good(
    start_ptb: Callable[..., PtbSimulator],
    make_sensor: Callable[..., PtbSensor],
    inject: Callable[[PtbSimulator], None],
) -> None:
    sim = start_ptb()
    sensor = make_sensor(sim)
    await sensor.initialise()
    inject(sim)
    with pytest.raises(PtbResponseError) as caught:
        await sensor.read()
    assert caught.value.bus == sim.path
    assert (await sensor.read()).pressure_pa == pytest.approx(101_325.0, abs=0.1)


async def test_a_transducer_error_is_reported(
    start_ptb: Callable[..., PtbSimulator], make_sensor: Callable[..., PtbSensor]
) -> None:
    sim = start_ptb()
    sensor = make_sensor(sim)
    await sensor.initialise()
    sim.set_transducer_error(True)
    with pytest.raises(PtbTransducerError):
        await sensor.read()
    sim.set_transducer_error(False)
    assert (await sensor.read()).temperature_c == pytest.approx(21.5, abs=0.006)


async def test_silence_is_a_bus_timeout_within_the_timeout(
    start_ptb: Callable[..., PtbSimulator], make_sensor: Callable[..., PtbSensor]
) -> None:
    sim = start_ptb()
    sensor = make_sensor(sim)
    await sensor.initialise()
    sim.pause()
    started = time.monotonic()
    with pytest.raises(BusTimeoutError):
        # Generous: only a read that never gives up reaches this bound.
        async with asyncio.timeout(100 * TIMEOUT_S):
            await sensor.read()
    assert time.monotonic() - started >= TIMEOUT_S  # it waited its timeout, no less
    sim.resume()
    assert (await sensor.read()).pressure_pa == pytest.approx(101_325.0, abs=0.1)


async def test_unplug_is_a_bus_error_and_replug_reads_again(
    start_ptb: Callable[..., PtbSimulator], make_sensor: Callable[..., PtbSensor]
) -> None:
    sim = start_ptb()
    sensor = make_sensor(sim)
    await sensor.initialise()
    sim.unplug()
    with pytest.raises(BusError) as unplugged:
        await sensor.read()
    assert not isinstance(unplugged.value, BusTimeoutError)
    with pytest.raises(BusError, match="No such file"):
        await sensor.initialise()
    sim.replug()
    await sensor.initialise()
    assert (await sensor.read()).pressure_pa == pytest.approx(101_325.0, abs=0.1)

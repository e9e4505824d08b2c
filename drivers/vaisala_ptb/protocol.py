"""Vaisala PTB330 BAROCAP digital barometer: serial commands and reply parsing, no I/O.

Source: Vaisala PTB330 User's Guide M210855EN (revisions C and D), chapter 4
"Operation", serial line commands; page numbers below are those of revision D.

- Commands are ASCII words ended by CR; replies are lines ended by CR LF. With
  ECHO ON the instrument echoes what it receives and prints a `>` prompt; with
  ECHO OFF it does neither (ECHO, "Serial line settings").
- SMODE STOP/RUN/POLL/SEND selects the serial mode. In STOP mode SEND prints
  one reading; R starts continuous output and S stops it. In POLL mode the
  instrument answers only when addressed: `SEND aa` prints one reading,
  `OPEN aa` puts that instrument temporarily in STOP mode for other commands
  and CLOSE returns it to POLL mode; aa is the address 0..255 (OPEN, CLOSE,
  SEND, p. 101).
- FORM sets what SEND prints (Table 12 "FORM modifiers", p. 71): `x.y` digits
  and decimals of the next quantity, quantities by their abbreviation, `U` the
  unit symbol of the quantity before it, `"text"`, `#r #n` CR LF, `ERR` the
  error flags of transducers P1..P3 ("0" = no error, "1" = error, right-filled
  with spaces). A quantity that is not available prints as `*` characters.
- Quantities (Table 1 "Quantities measured by PTB330"; Table 13 "Output
  quantities and units", UNIT): P is the average pressure of the installed
  transducers, P1..P3 each transducer's; TP1..TP3 the temperature of
  barometer module 1..3, that is of the pressure transducer itself (not of the
  gas or the room). UNIT sets the unit: `UNIT hPa` sets every pressure
  quantity; pressure units hPa, psi, inHg, torr, bar, mbar, mmHg, kPa, Pa,
  mmH2O, inH2O; temperature units Celsius, Fahrenheit, Kelvin.
- VERS prints `PTB330 / <software version>`; `?` prints the whole
  configuration (the same first line), `??` also in POLL mode (p. 87).
- The `?` example shows the serial settings 4800 baud, even parity, 7 data
  bits, 1 stop bit (`Baud P D S : 4800 E 7 1`), used here as the default.
- Specifications (PTB330 data sheet / APA501 description): pressure ranges
  500..1100 hPa and 50..1100 hPa, resolution 0.01 hPa (class A), operating
  temperature -40..+60 °C, at most 10 measurements per second.

The driver does not set the temperature unit: the manual does not spell the
UNIT argument for °C, so the FORM below prints the unit after every value and
`parse_measurement` converts whatever unit the instrument reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from hullwatch.drivers.errors import MeasurementError, OutOfRangeError
from hullwatch.drivers.sensor import Reading

COMMAND_TERMINATOR: Final = b"\r"
REPLY_TERMINATOR: Final = b"\r\n"
PROMPT: Final = ">"

# User's Guide, `?` example: "Baud P D S : 4800 E 7 1".
DEFAULT_BAUDRATE: Final = 4800
DEFAULT_BYTESIZE: Final = 7
DEFAULT_PARITY: Final = "E"
DEFAULT_STOPBITS: Final = 1

ADDRESS_MIN: Final = 0
ADDRESS_MAX: Final = 255  # OPEN / SEND "aa = address of the barometer (0 ... 255)"

SUPPORTED_MODEL_PREFIX: Final = "PTB330"  # PTB330 and the PTB330TS transfer standard

# What SEND prints after initialisation: pressure (0.001 hPa, below the 0.01 hPa
# resolution so nothing is rounded away), its unit, the temperature of
# transducer 1 (0.01 °C), its unit, and the error flags. Example reply:
# "1013.250 hPa  21.50 'C 0  \r\n".
OUTPUT_FORMAT: Final = '4.3 P " " U " " 3.2 TP1 " " U " " ERR #r #n'
PRESSURE_UNIT: Final = "hPa"

PRESSURE_MIN_PA: Final = 5_000.0  # 50 hPa, the wide-range model's lower limit
PRESSURE_MAX_PA: Final = 110_000.0  # 1100 hPa
TEMPERATURE_MIN_C: Final = -40.0  # operating temperature
TEMPERATURE_MAX_C: Final = 60.0

# Pascal per unit, keyed by the unit symbol in lower case. Conventional
# definitions: inHg at 0 °C, mmH2O and inH2O as 9.80665 Pa per mm of water.
PRESSURE_UNITS_PA: Final = MappingProxyType(
    {
        "pa": 1.0,
        "hpa": 100.0,
        "mbar": 100.0,
        "kpa": 1000.0,
        "bar": 100_000.0,
        "psi": 6894.757293168,
        "psia": 6894.757293168,
        "inhg": 3386.389,
        "mmhg": 133.322387415,
        "torr": 101_325.0 / 760.0,
        "mmh2o": 9.80665,
        "inh2o": 249.08891,
    }
)
# Temperature unit symbols (Vaisala prints an apostrophe for the degree sign).
_CELSIUS: Final = frozenset({"'c", "c", "°c"})
_FAHRENHEIT: Final = frozenset({"'f", "f", "°f"})
_KELVIN: Final = frozenset({"k"})

_NUMBER: Final = re.compile(r"[+-]?\d+(?:\.\d+)?")
_NOT_AVAILABLE: Final = re.compile(r"[+-]?\*+(?:\.\*+)?")
_ERROR_FLAGS: Final = re.compile(r"[01]{1,3}")
_VERSION: Final = re.compile(r"(PTB\d{3}[A-Z0-9]*)\s*/\s*(\S+)")
_MEASUREMENT_TOKENS: Final = 5  # pressure, unit, temperature, unit, error flags


class PtbResponseError(MeasurementError):
    """A reply that is not what the command produces: corrupted, cut short, or an error message."""


class PtbTransducerError(MeasurementError):
    """The instrument flags a transducer error or has no value to report."""


@dataclass(frozen=True, slots=True)
class PtbIdentity:
    """What VERS reports."""

    model: str
    version: str


@dataclass(frozen=True, slots=True)
class PtbMeasurement:
    """One SEND reply, converted to SI."""

    pressure_pa: float
    temperature_c: float
    error_flags: str  # one character per installed transducer, "0" = no error

    def reading(self) -> Reading:
        return Reading(pressure_pa=self.pressure_pa, temperature_c=self.temperature_c)


# --- commands (strings without the CR, which the transport appends) ---


def check_address(address: int) -> int:
    if not ADDRESS_MIN <= address <= ADDRESS_MAX:
        raise ValueError(f"PTB330 address {address} outside {ADDRESS_MIN}..{ADDRESS_MAX}")
    return address


def send_command(address: int | None = None) -> str:
    """SEND in STOP mode, `SEND aa` in POLL mode."""
    return "SEND" if address is None else f"SEND {check_address(address)}"


def open_command(address: int) -> str:
    return f"OPEN {check_address(address)}"


CLOSE_COMMAND: Final = "CLOSE"
STOP_OUTPUT_COMMAND: Final = "S"  # ends RUN-mode output started by R or SMODE RUN
STOP_MODE_COMMAND: Final = "SMODE STOP"
ECHO_OFF_COMMAND: Final = "ECHO OFF"
UNIT_COMMAND: Final = f"UNIT {PRESSURE_UNIT}"
FORM_COMMAND: Final = f"FORM {OUTPUT_FORMAT}"
VERSION_COMMAND: Final = "VERS"


# --- replies ---


def reply_text(line: bytes) -> str:
    """A reply line as text: ASCII, CR LF removed, echo prompts and blanks stripped.

    Raises `PtbResponseError` for non-ASCII bytes or a missing CR LF.
    """
    if not line.endswith(REPLY_TERMINATOR):
        raise PtbResponseError(f"reply cut short (no CR LF): {_show(line)}")
    try:
        text = line[: -len(REPLY_TERMINATOR)].decode("ascii")
    except UnicodeDecodeError as exc:
        raise PtbResponseError(f"reply is not ASCII: {_show(line)}") from exc
    if any(not (ch.isprintable() or ch == "\t") for ch in text):
        raise PtbResponseError(f"reply holds control characters: {_show(line)}")
    return text.lstrip(PROMPT + " \t").strip()


def parse_measurement(line: bytes) -> PtbMeasurement:
    """Decode a SEND reply printed with `OUTPUT_FORMAT`.

    Accepts any pressure unit of Table 13 and °C/°F/K, so that a reply is
    read right even if UNIT did not take. Raises `PtbResponseError` for a
    reply of another shape, `PtbTransducerError` when the instrument prints
    `*` for a value or sets an error flag.
    """
    text = reply_text(line)
    tokens = text.split()
    if len(tokens) != _MEASUREMENT_TOKENS:
        raise PtbResponseError(
            f"expected '<pressure> <unit> <temperature> <unit> <error flags>', got {text!r}"
        )
    pressure_text, pressure_unit, temperature_text, temperature_unit, flags = tokens
    if not _ERROR_FLAGS.fullmatch(flags):
        raise PtbResponseError(f"error flags {flags!r} are not 1 to 3 digits 0/1 in {text!r}")
    if "1" in flags:
        failed = ", ".join(f"P{i + 1}" for i, flag in enumerate(flags) if flag == "1")
        raise PtbTransducerError(f"instrument flags a transducer error ({failed}; ERR {flags})")
    pressure = _value("pressure", pressure_text, text)
    temperature = _value("temperature", temperature_text, text)
    return PtbMeasurement(
        pressure_pa=pressure_to_pa(pressure, pressure_unit),
        temperature_c=temperature_to_c(temperature, temperature_unit),
        error_flags=flags,
    )


def check_range(measurement: PtbMeasurement) -> Reading:
    """The reading, or `OutOfRangeError` outside the PTB330's specified ranges."""
    p, t = measurement.pressure_pa, measurement.temperature_c
    if not PRESSURE_MIN_PA <= p <= PRESSURE_MAX_PA:
        raise OutOfRangeError(
            f"pressure {p:.1f} Pa outside the PTB330's {PRESSURE_MIN_PA:g}..{PRESSURE_MAX_PA:g} Pa"
        )
    if not TEMPERATURE_MIN_C <= t <= TEMPERATURE_MAX_C:
        raise OutOfRangeError(
            f"transducer temperature {t:.2f} °C outside the PTB330's operating "
            f"{TEMPERATURE_MIN_C:g}..{TEMPERATURE_MAX_C:g} °C"
        )
    return measurement.reading()


def parse_identity(line: bytes) -> PtbIdentity:
    """Decode the VERS reply `PTB330 / 1.12`."""
    text = reply_text(line)
    match = _VERSION.fullmatch(text)
    if match is None:
        raise PtbResponseError(f"expected '<model> / <version>' from VERS, got {text!r}")
    return PtbIdentity(model=match.group(1), version=match.group(2))


def pressure_to_pa(value: float, unit: str) -> float:
    factor = PRESSURE_UNITS_PA.get(unit.lower())
    if factor is None:
        raise PtbResponseError(f"unknown pressure unit {unit!r}")
    return value * factor


def temperature_to_c(value: float, unit: str) -> float:
    key = unit.lower()
    if key in _CELSIUS:
        return value
    if key in _FAHRENHEIT:
        return (value - 32.0) * 5.0 / 9.0
    if key in _KELVIN:
        return value - 273.15
    raise PtbResponseError(f"unknown temperature unit {unit!r}")


def _value(name: str, token: str, text: str) -> float:
    if _NOT_AVAILABLE.fullmatch(token):
        raise PtbTransducerError(f"instrument has no {name} value ({token!r})")
    if not _NUMBER.fullmatch(token):
        raise PtbResponseError(f"{name} {token!r} is not a number in {text!r}")
    return float(token)


def _show(line: bytes, limit: int = 48) -> str:
    text = repr(line[:limit])
    return text + ("..." if len(line) > limit else "")

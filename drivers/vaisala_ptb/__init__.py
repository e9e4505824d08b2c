"""Vaisala PTB330 digital barometers on RS-232 or RS-485, polled with SEND."""

from .device import PtbSensor, ptb_serial_settings
from .protocol import (
    OUTPUT_FORMAT,
    PRESSURE_UNITS_PA,
    PtbIdentity,
    PtbMeasurement,
    PtbResponseError,
    PtbTransducerError,
    check_range,
    parse_identity,
    parse_measurement,
    send_command,
)

__all__ = [
    "OUTPUT_FORMAT",
    "PRESSURE_UNITS_PA",
    "PtbIdentity",
    "PtbMeasurement",
    "PtbResponseError",
    "PtbSensor",
    "PtbTransducerError",
    "check_range",
    "parse_identity",
    "parse_measurement",
    "ptb_serial_settings",
    "send_command",
]

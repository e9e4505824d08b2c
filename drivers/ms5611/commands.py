"""MS5611 / MS5607 command bytes and timing (MS5611-01BA03 datasheet, "COMMANDS").

The chip has no registers: each I2C write is a one-byte command, and the two
commands with an answer (ADC READ, PROM READ) are followed by a read of that
answer, MSB first. Only data and tiny pure helpers live here.

    RESET         0x1E                 reload the PROM into the internal register (2.8 ms)
    CONVERT D1    0x40 + osr_offset    start a pressure conversion
    CONVERT D2    0x50 + osr_offset    start a temperature conversion
    ADC READ      0x00                 then read 3 bytes: the 24-bit result, or 0
    PROM READ     0xA0 + 2·n, n 0..7   then read 2 bytes: PROM word n
"""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType
from typing import Final

RESET: Final = 0x1E
ADC_READ: Final = 0x00
CONVERT_D1_BASE: Final = 0x40  # pressure
CONVERT_D2_BASE: Final = 0x50  # temperature
PROM_READ_BASE: Final = 0xA0

ADC_RESULT_LENGTH: Final = 3  # 24 bits, MSB first
ADC_RESULT_MAX: Final = (1 << 24) - 1
PROM_WORD_LENGTH: Final = 2  # 16 bits, MSB first
PROM_WORDS: Final = 8  # 128 bits: word 0 factory data, 1..6 = C1..C6, 7 = CRC in bits 3..0

# Oversampling ratio -> low bits of the CONVERT command (datasheet command table:
# 0x40/0x42/0x44/0x46/0x48 for D1, 0x50/.../0x58 for D2).
OSR_COMMAND_OFFSETS: Final = MappingProxyType(
    {256: 0x00, 512: 0x02, 1024: 0x04, 2048: 0x06, 4096: 0x08}
)
OVERSAMPLING_RATIOS: Final = tuple(OSR_COMMAND_OFFSETS)

# Maximum ADC conversion time per oversampling ratio (datasheet "ELECTRICAL
# CHARACTERISTICS", conversion time max: 0.60 / 1.17 / 2.28 / 4.54 / 9.04 ms;
# Linux ms5611_core.c uses the same values). The chip answers 0 to an ADC READ
# before this has passed, so a driver must wait at least this long.
CONVERSION_TIME_MAX_S: Final = MappingProxyType(
    {256: 0.60e-3, 512: 1.17e-3, 1024: 2.28e-3, 2048: 4.54e-3, 4096: 9.04e-3}
)

# Datasheet "RESET SEQUENCE": the PROM reload after RESET takes 2.8 ms.
RESET_RELOAD_TIME_S: Final = 2.8e-3


class Channel(Enum):
    """What a conversion measures: D1 is the raw pressure, D2 the raw temperature."""

    D1 = "D1"
    D2 = "D2"


def _check_osr(oversampling: int) -> None:
    if oversampling not in OSR_COMMAND_OFFSETS:
        raise ValueError(
            f"oversampling ratio {oversampling!r} is not one of {list(OVERSAMPLING_RATIOS)}"
        )


def convert_command(channel: Channel, oversampling: int) -> int:
    """The CONVERT D1/D2 command byte for an oversampling ratio (256..4096)."""
    _check_osr(oversampling)
    base = CONVERT_D1_BASE if channel is Channel.D1 else CONVERT_D2_BASE
    return base + OSR_COMMAND_OFFSETS[oversampling]


def conversion_time_s(oversampling: int) -> float:
    """Maximum duration of one conversion at this oversampling ratio."""
    _check_osr(oversampling)
    return CONVERSION_TIME_MAX_S[oversampling]


def prom_read_command(index: int) -> int:
    """The PROM READ command byte for word `index` (0..7): 0xA0 + 2·index."""
    if not 0 <= index < PROM_WORDS:
        raise ValueError(f"PROM word index {index} out of 0..{PROM_WORDS - 1}")
    return PROM_READ_BASE + 2 * index


def decode_convert(command: int) -> tuple[Channel, int] | None:
    """(channel, oversampling ratio) of a CONVERT command byte, or None for any other byte."""
    for channel, base in ((Channel.D1, CONVERT_D1_BASE), (Channel.D2, CONVERT_D2_BASE)):
        for oversampling, offset in OSR_COMMAND_OFFSETS.items():
            if command == base + offset:
                return channel, oversampling
    return None


def decode_prom_read(command: int) -> int | None:
    """The word index of a PROM READ command byte, or None for any other byte."""
    offset = command - PROM_READ_BASE
    if 0 <= offset < 2 * PROM_WORDS and offset % 2 == 0:
        return offset // 2
    return None

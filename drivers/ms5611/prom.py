"""The MS56xx factory PROM: eight 16-bit words and their AN520 CRC4.

Memory map (MS5611-01BA03 datasheet, "PROM READ SEQUENCE" and "CYCLIC
REDUNDANCY CHECK (CRC)"): word 0 holds factory data, words 1..6 the
calibration coefficients C1..C6 (SENS_T1, OFF_T1, TCS, TCO, T_REF, TEMPSENS,
each unsigned 16 bit), and the low nibble of word 7 the CRC4 of the whole
PROM computed with that word's low byte set to zero (TE application note
AN520). Bits 7..4 of word 7 are therefore not covered by the CRC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hullwatch.drivers.errors import CalibrationError

from .commands import PROM_WORDS

_WORD_MAX: Final = 0xFFFF
# AN520: x^4 + x + 1, aligned under the top nibble of a 16-bit remainder.
_CRC_POLYNOMIAL: Final = 0x3000


def crc4(words: Sequence[int]) -> int:
    """AN520 CRC4 of eight PROM words; the stored nibble (word 7, bits 3..0) is not an input.

    The low byte of word 7 is taken as zero; the 16 bytes are fed MSB first into
    a 16-bit remainder, eight shifts per byte, XOR 0x3000 whenever bit 15 shifts
    out; the CRC is the remainder's top nibble.
    """
    _check_words(words)
    remainder = 0
    for index in range(2 * PROM_WORDS):
        word = words[index // 2]
        if index == 2 * PROM_WORDS - 1:
            byte = 0x00  # the CRC byte itself counts as 0
        elif index % 2 == 0:
            byte = word >> 8
        else:
            byte = word & 0xFF
        remainder ^= byte
        for _ in range(8):
            if remainder & 0x8000:
                remainder = ((remainder << 1) ^ _CRC_POLYNOMIAL) & 0xFFFF
            else:
                remainder = (remainder << 1) & 0xFFFF
    return (remainder >> 12) & 0x0F


def prom_with_crc(words: Sequence[int]) -> tuple[int, ...]:
    """The same eight words with the right CRC in word 7's low nibble (simulators, tests)."""
    _check_words(words)
    crc = crc4(words)
    return (*words[:7], (words[7] & 0xFFF0) | crc)


@dataclass(frozen=True, slots=True)
class Ms5611Prom:
    """A PROM that passed its CRC check: C1..C6 plus the factory word and word 7."""

    factory_word: int  # word 0
    c1: int  # pressure sensitivity, SENS_T1
    c2: int  # pressure offset, OFF_T1
    c3: int  # temperature coefficient of pressure sensitivity, TCS
    c4: int  # temperature coefficient of pressure offset, TCO
    c5: int  # reference temperature, T_REF
    c6: int  # temperature coefficient of the temperature, TEMPSENS
    word7: int  # bits 3..0: the stored CRC

    @property
    def crc(self) -> int:
        """The CRC nibble as stored in the PROM."""
        return self.word7 & 0x0F

    @property
    def words(self) -> tuple[int, ...]:
        """The eight PROM words these values came from."""
        return (self.factory_word, self.c1, self.c2, self.c3, self.c4, self.c5, self.c6, self.word7)

    @classmethod
    def from_words(cls, words: Sequence[int]) -> Ms5611Prom:
        """Split eight words into fields; no CRC check (see `parse_prom`)."""
        _check_words(words)
        return cls(*words)


def parse_prom(
    words: Sequence[int], *, bus: str | None = None, address: int | None = None
) -> Ms5611Prom:
    """Check eight PROM words as read from the chip and keep them.

    All-0x0000 comes from a part that is not answering with data (its CRC is a
    consistent 0, which is why it needs its own check); all-0xFFFF from a
    floating bus. Unlike Linux `ms5611_prom_is_valid`, a stored CRC of 0 is
    accepted when the CRC matches: one genuine part in sixteen has it.
    """
    _check_words(words)
    for fill in (0x0000, 0xFFFF):
        if all(word == fill for word in words):
            raise CalibrationError(
                f"PROM reads all 0x{fill:04X}; no genuine part has that", bus=bus, address=address
            )
    stored = words[7] & 0x0F
    computed = crc4(words)
    if computed != stored:
        raise CalibrationError(
            f"PROM CRC mismatch: expected 0x{computed:X} (AN520 CRC4 of the words read), "
            f"stored 0x{stored:X}; words {' '.join(f'{w:04X}' for w in words)}",
            bus=bus,
            address=address,
        )
    return Ms5611Prom.from_words(words)


def _check_words(words: Sequence[int]) -> None:
    if len(words) != PROM_WORDS:
        raise ValueError(f"the PROM is {PROM_WORDS} words, got {len(words)}")
    for index, word in enumerate(words):
        if not 0 <= word <= _WORD_MAX:
            raise ValueError(f"PROM word {index} = {word!r} is not a 16-bit value")

"""What differs between BMP3 family members, as a table of data.

BMP388 and BMP390 share registers, calibration layout and compensation; they
differ in chip id (and in datasheet accuracy figures we do not use). The noise
table is per chip because a future member may have its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from .registers import OSR_CODES

# Typical RMS pressure noise with the IIR filter off, by pressure oversampling
# factor (BMP388 datasheet table "noise in pressure"; docs/datasheets.md). The other
# columns follow from the IIR filter: variance x 1/(2c+1) for coefficient c.
_PRESSURE_NOISE_IIR_OFF_PA: Final = MappingProxyType(
    {1: 6.6, 2: 4.3, 4: 3.2, 8: 2.3, 16: 1.6, 32: 1.2}
)


@dataclass(frozen=True, slots=True)
class Bmp3Variant:
    """One chip of the family: identity, timing and specified operating range."""

    name: str
    chip_id: int
    addresses: tuple[int, ...]  # I2C: 0x76 with SDO to GND, 0x77 with SDO to VDDIO
    start_up_time_s: float  # power-on / soft reset to first command (datasheet 1.1: 2 ms)
    pressure_min_pa: float
    pressure_max_pa: float
    temperature_min_c: float
    temperature_max_c: float
    pressure_noise_pa: MappingProxyType[int, float]  # RMS, IIR off, by oversampling factor

    def pressure_noise_rms_pa(self, oversampling: int, iir_coefficient: int = 0) -> float:
        """Typical RMS pressure noise for an oversampling factor and IIR coefficient."""
        if oversampling not in OSR_CODES:
            raise ValueError(f"oversampling x{oversampling} is not one of {sorted(OSR_CODES)}")
        return float(self.pressure_noise_pa[oversampling] / (2 * iir_coefficient + 1) ** 0.5)


BMP388: Final = Bmp3Variant(
    name="BMP388",
    chip_id=0x50,
    addresses=(0x76, 0x77),
    start_up_time_s=0.002,
    pressure_min_pa=30_000.0,
    pressure_max_pa=125_000.0,
    temperature_min_c=-40.0,
    temperature_max_c=85.0,
    pressure_noise_pa=_PRESSURE_NOISE_IIR_OFF_PA,
)

BMP390: Final = Bmp3Variant(
    name="BMP390",
    chip_id=0x60,
    addresses=(0x76, 0x77),
    start_up_time_s=0.002,
    pressure_min_pa=30_000.0,
    pressure_max_pa=125_000.0,
    temperature_min_c=-40.0,
    temperature_max_c=85.0,
    pressure_noise_pa=_PRESSURE_NOISE_IIR_OFF_PA,
)

VARIANTS: Final = (BMP388, BMP390)


def variant_for_chip_id(chip_id: int) -> Bmp3Variant | None:
    """The variant whose CHIP_ID register reads `chip_id`, or None."""
    for variant in VARIANTS:
        if variant.chip_id == chip_id:
            return variant
    return None


def variant_by_name(name: str) -> Bmp3Variant:
    """Look a variant up by name, case-insensitively ("bmp390")."""
    for variant in VARIANTS:
        if variant.name.lower() == name.lower():
            return variant
    known = ", ".join(v.name.lower() for v in VARIANTS)
    raise ValueError(f"unknown BMP3 variant {name!r}; known: {known}")


def describe_supported() -> str:
    """`BMP388 (0x50) or BMP390 (0x60)`, for error messages."""
    return " or ".join(f"{v.name} (0x{v.chip_id:02x})" for v in VARIANTS)

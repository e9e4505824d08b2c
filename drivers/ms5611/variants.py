"""What differs between MS56xx family members, as a table of data.

The MS5611-01BA03 and MS5607-02BA03 share commands, timing, PROM layout, CRC
and operating range; they differ in the powers of two of the first-order
compensation, in the second-order constants, and in noise. The chips have no
identity register, so the variant comes from configuration: `initialise`
cannot tell them apart (a wrong choice shows up as pressures about twice or
half the truth, which the range check reports).

Sources:
- MS5611-01BA03 datasheet, "PRESSURE AND TEMPERATURE CALCULATION" (Figure 2)
  and "SECOND ORDER TEMPERATURE COMPENSATION" (Figure 3); docs/datasheets.md
  "TE MS5611 / MS5607".
- MS5607-02BA03 datasheet (09/2015) page 8, Figure 2: OFF = C2·2^17 + C4·dT/2^6,
  SENS = C1·2^16 + C3·dT/2^7. Its second-order constants (OFF2 = 61·(TEMP−2000)²/2^4,
  SENS2 = 2·(TEMP−2000)², below −15 °C OFF2 += 15·(TEMP+1500)², SENS2 += 8·(TEMP+1500)²)
  were confirmed against Linux `ms5607_temp_and_pressure_compensate`, not
  against a stored copy of the datasheet's Figure 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from .commands import OVERSAMPLING_RATIOS


@dataclass(frozen=True, slots=True)
class ScaledTerm:
    """multiplier · x / 2^shift, the shape of every second-order term."""

    multiplier: int
    shift: int

    def of(self, square: int) -> int:
        """The term for a non-negative `square`; `>>` is the datasheet's division."""
        return (self.multiplier * square) >> self.shift


@dataclass(frozen=True, slots=True)
class Ms5611Variant:
    """One chip of the family: its constants, addresses and specified operating range."""

    name: str
    addresses: tuple[int, ...]  # 0b111011C, C = NOT CSB: CSB high -> 0x76, CSB low -> 0x77
    pressure_min_pa: float
    pressure_max_pa: float
    temperature_min_c: float
    temperature_max_c: float
    # Typical RMS pressure resolution (noise) by oversampling ratio.
    pressure_noise_pa: MappingProxyType[int, float]
    # First order: OFF = C2·2^off_c2_shift + C4·dT/2^off_tco_shift,
    #              SENS = C1·2^sens_c1_shift + C3·dT/2^sens_tcs_shift.
    off_c2_shift: int
    off_tco_shift: int
    sens_c1_shift: int
    sens_tcs_shift: int
    # Second order below 20 °C, on x = (TEMP − 2000)²; below −15 °C add the
    # "very low" terms, on y = (TEMP + 1500)². T2 = dT²/2^31 on both chips.
    off2_low: ScaledTerm
    sens2_low: ScaledTerm
    off2_very_low: ScaledTerm
    sens2_very_low: ScaledTerm

    def pressure_noise_rms_pa(self, oversampling: int) -> float:
        """Typical RMS pressure noise at an oversampling ratio (256..4096)."""
        if oversampling not in self.pressure_noise_pa:
            raise ValueError(
                f"oversampling ratio {oversampling!r} is not one of {list(OVERSAMPLING_RATIOS)}"
            )
        return self.pressure_noise_pa[oversampling]


MS5611: Final = Ms5611Variant(
    name="MS5611",
    addresses=(0x76, 0x77),
    pressure_min_pa=1_000.0,  # 10 mbar
    pressure_max_pa=120_000.0,  # 1200 mbar
    temperature_min_c=-40.0,
    temperature_max_c=85.0,
    # Datasheet "TECHNICAL DATA", resolution RMS 0.065/0.042/0.027/0.018/0.012 mbar.
    pressure_noise_pa=MappingProxyType({256: 6.5, 512: 4.2, 1024: 2.7, 2048: 1.8, 4096: 1.2}),
    off_c2_shift=16,
    off_tco_shift=7,
    sens_c1_shift=15,
    sens_tcs_shift=8,
    off2_low=ScaledTerm(5, 1),  # 5·(TEMP−2000)²/2
    sens2_low=ScaledTerm(5, 2),  # 5·(TEMP−2000)²/4
    off2_very_low=ScaledTerm(7, 0),  # 7·(TEMP+1500)²
    sens2_very_low=ScaledTerm(11, 1),  # 11·(TEMP+1500)²/2
)

MS5607: Final = Ms5611Variant(
    name="MS5607",
    addresses=(0x76, 0x77),
    pressure_min_pa=1_000.0,
    pressure_max_pa=120_000.0,
    temperature_min_c=-40.0,
    temperature_max_c=85.0,
    # MS5607 "TECHNICAL DATA", resolution RMS 0.13/0.084/0.054/0.036/0.024 mbar
    # (the same figures TE gives for its 2 bar parts with this compensation).
    pressure_noise_pa=MappingProxyType({256: 13.0, 512: 8.4, 1024: 5.4, 2048: 3.6, 4096: 2.4}),
    off_c2_shift=17,
    off_tco_shift=6,
    sens_c1_shift=16,
    sens_tcs_shift=7,
    off2_low=ScaledTerm(61, 4),  # 61·(TEMP−2000)²/2^4
    sens2_low=ScaledTerm(2, 0),  # 2·(TEMP−2000)²
    off2_very_low=ScaledTerm(15, 0),  # 15·(TEMP+1500)²
    sens2_very_low=ScaledTerm(8, 0),  # 8·(TEMP+1500)²
)

VARIANTS: Final = (MS5611, MS5607)


def variant_by_name(name: str) -> Ms5611Variant:
    """Look a variant up by name, case-insensitively ("ms5607")."""
    for variant in VARIANTS:
        if variant.name.lower() == name.lower():
            return variant
    known = ", ".join(v.name.lower() for v in VARIANTS)
    raise ValueError(f"unknown MS56xx variant {name!r}; known: {known}")

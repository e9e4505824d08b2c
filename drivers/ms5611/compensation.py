"""MS56xx integer compensation: pure functions, no I/O.

MS5611-01BA03 datasheet, "PRESSURE AND TEMPERATURE CALCULATION" (Figure 2,
first order) and "SECOND ORDER TEMPERATURE COMPENSATION" (Figure 3); the
MS5607 constants come from its variant (see `variants.py`):

    dT   = D2 − C5·2^8                                   signed 32 bit
    TEMP = 2000 + dT·C6/2^23                             signed 32 bit, 0.01 °C
    OFF  = C2·2^16 + C4·dT/2^7                           signed 64 bit   (MS5607: 2^17, 2^6)
    SENS = C1·2^15 + C3·dT/2^8                           signed 64 bit   (MS5607: 2^16, 2^7)
    TEMP < 2000:   T2 = dT²/2^31, OFF2 = 5·(TEMP−2000)²/2, SENS2 = 5·(TEMP−2000)²/4
    TEMP < −1500:  OFF2 += 7·(TEMP+1500)², SENS2 += 11·(TEMP+1500)²/2
    TEMP −= T2, OFF −= OFF2, SENS −= SENS2                (OFF2, SENS2 from the first-order TEMP)
    P    = (D1·SENS/2^21 − OFF)/2^15                     signed 32 bit, 0.01 mbar = Pa

Every "/2^n" is an arithmetic right shift, which rounds toward minus infinity
(Linux ms5611_core.c does the same); C's "/" would round negative values
toward zero and give, for example, TEMP 206 instead of 205 at D2 = 8069150.
Python integers do not overflow, so the datasheet's widths are not needed for
correctness; with D1, D2 in 24 bits and C1..C6 in 16 bits every quantity
stays within the width the datasheet gives it (the tests check this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .commands import ADC_RESULT_MAX
from .prom import Ms5611Prom
from .variants import MS5611, Ms5611Variant

_REFERENCE_TEMP: Final = 2000  # 20.00 °C, where second order starts
_VERY_LOW_TEMP: Final = -1500  # −15.00 °C
_T2_SHIFT: Final = 31
_TEMPSENS_SHIFT: Final = 23
_T_REF_SHIFT: Final = 8
_P_SENS_SHIFT: Final = 21
_P_SHIFT: Final = 15


@dataclass(frozen=True, slots=True)
class CompensationTerms:
    """Everything one D2 value fixes: temperature and the pressure offset and sensitivity.

    `temperature`, `off` and `sens` include the second-order corrections
    `t2`, `off2` and `sens2` (all 0 at or above 20 °C).
    """

    dt: int
    temperature: int  # TEMP, 0.01 °C
    off: int
    sens: int
    t2: int = 0
    off2: int = 0
    sens2: int = 0

    @property
    def temperature_c(self) -> float:
        return self.temperature / 100


def compensate_temperature(
    d2: int,
    calibration: Ms5611Prom,
    variant: Ms5611Variant = MS5611,
    *,
    second_order: bool = True,
) -> CompensationTerms:
    """TEMP, OFF and SENS from the raw temperature D2 (datasheet Figures 2 and 3)."""
    _check_raw("D2", d2)
    c, v = calibration, variant
    dt = d2 - (c.c5 << _T_REF_SHIFT)
    temperature = _REFERENCE_TEMP + ((dt * c.c6) >> _TEMPSENS_SHIFT)
    off = (c.c2 << v.off_c2_shift) + ((c.c4 * dt) >> v.off_tco_shift)
    sens = (c.c1 << v.sens_c1_shift) + ((c.c3 * dt) >> v.sens_tcs_shift)
    if not second_order or temperature >= _REFERENCE_TEMP:
        return CompensationTerms(dt=dt, temperature=temperature, off=off, sens=sens)
    t2 = (dt * dt) >> _T2_SHIFT
    low = (temperature - _REFERENCE_TEMP) ** 2
    off2 = v.off2_low.of(low)
    sens2 = v.sens2_low.of(low)
    if temperature < _VERY_LOW_TEMP:
        very_low = (temperature - _VERY_LOW_TEMP) ** 2
        off2 += v.off2_very_low.of(very_low)
        sens2 += v.sens2_very_low.of(very_low)
    return CompensationTerms(
        dt=dt,
        temperature=temperature - t2,
        off=off - off2,
        sens=sens - sens2,
        t2=t2,
        off2=off2,
        sens2=sens2,
    )


def compensate_pressure(d1: int, terms: CompensationTerms) -> int:
    """P in Pa (0.01 mbar) from the raw pressure D1: (D1·SENS/2^21 − OFF)/2^15."""
    _check_raw("D1", d1)
    return (((d1 * terms.sens) >> _P_SENS_SHIFT) - terms.off) >> _P_SHIFT


def compensate(
    d1: int,
    d2: int,
    calibration: Ms5611Prom,
    variant: Ms5611Variant = MS5611,
    *,
    second_order: bool = True,
) -> tuple[int, int]:
    """(TEMP in 0.01 °C, P in Pa) from one D1/D2 pair."""
    terms = compensate_temperature(d2, calibration, variant, second_order=second_order)
    return terms.temperature, compensate_pressure(d1, terms)


def _check_raw(name: str, value: int) -> None:
    if not 0 <= value <= ADC_RESULT_MAX:
        raise ValueError(f"{name} = {value!r} is not a 24-bit ADC value")

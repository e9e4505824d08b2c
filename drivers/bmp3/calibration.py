"""Factory calibration (trimming) coefficients of a BMP3 part.

The 21 bytes at NVM_PAR_T1..NVM_PAR_P11 (0x31..0x45, datasheet 4.3.21 and
section 9.1 "Calibration coefficient") are little-endian integers; datasheet
9.1 divides each by a power of two to get the float coefficients used by the
compensation formulas (appendix "Compensation formula in floating point").
"""

from __future__ import annotations

import struct
from dataclasses import astuple, dataclass
from typing import Final

from hullwatch.drivers.errors import CalibrationError

from .registers import NVM_LENGTH

# T1 u16, T2 u16, T3 s8, P1 s16, P2 s16, P3 s8, P4 s8, P5 u16, P6 u16, P7 s8, P8 s8,
# P9 s16, P10 s8, P11 s8 (datasheet 9.1, trimming coefficients at 0x31..0x45).
_NVM_LAYOUT: Final = struct.Struct("<HHbhhbbHHbbhbb")
assert _NVM_LAYOUT.size == NVM_LENGTH


@dataclass(frozen=True, slots=True)
class Bmp3RawCalibration:
    """The NVM coefficients exactly as stored (integers)."""

    par_t1: int
    par_t2: int
    par_t3: int
    par_p1: int
    par_p2: int
    par_p3: int
    par_p4: int
    par_p5: int
    par_p6: int
    par_p7: int
    par_p8: int
    par_p9: int
    par_p10: int
    par_p11: int

    @classmethod
    def unpack(cls, nvm: bytes) -> Bmp3RawCalibration:
        """Decode the 21 NVM bytes; no plausibility check (see `parse_nvm`)."""
        if len(nvm) != NVM_LENGTH:
            raise ValueError(f"BMP3 NVM is {NVM_LENGTH} bytes, got {len(nvm)}")
        return cls(*_NVM_LAYOUT.unpack(nvm))

    def pack(self) -> bytes:
        """The 21 NVM bytes these coefficients come from."""
        return _NVM_LAYOUT.pack(*astuple(self))


@dataclass(frozen=True, slots=True)
class Bmp3Calibration:
    """Float coefficients for the compensation formulas (datasheet 9.1 scaling)."""

    t1: float
    t2: float
    t3: float
    p1: float
    p2: float
    p3: float
    p4: float
    p5: float
    p6: float
    p7: float
    p8: float
    p9: float
    p10: float
    p11: float


def parse_nvm(
    nvm: bytes, *, bus: str | None = None, address: int | None = None
) -> Bmp3RawCalibration:
    """Decode NVM and reject contents no genuine part has.

    All-0x00 reads come from a chip whose NVM load failed at power-on (Bosch:
    only a power cycle fixes that, not a soft reset); all-0xFF from a floating
    bus. A zero temperature sensitivity (T2) would make every reading the same.
    """
    if len(nvm) == NVM_LENGTH and all(b == 0x00 for b in nvm):
        raise CalibrationError("calibration NVM reads all 0x00", bus=bus, address=address)
    if len(nvm) == NVM_LENGTH and all(b == 0xFF for b in nvm):
        raise CalibrationError("calibration NVM reads all 0xFF", bus=bus, address=address)
    raw = Bmp3RawCalibration.unpack(nvm)
    if raw.par_t1 == 0 or raw.par_t2 == 0:
        raise CalibrationError(
            f"calibration NVM has par_t1={raw.par_t1}, par_t2={raw.par_t2}; "
            "no genuine part has a zero temperature coefficient",
            bus=bus,
            address=address,
        )
    return raw


def scale_calibration(raw: Bmp3RawCalibration) -> Bmp3Calibration:
    """Datasheet 9.1: quantised NVM values to float coefficients."""
    return Bmp3Calibration(
        t1=raw.par_t1 * 2.0**8,
        t2=raw.par_t2 / 2.0**30,
        t3=raw.par_t3 / 2.0**48,
        p1=(raw.par_p1 - 2**14) / 2.0**20,
        p2=(raw.par_p2 - 2**14) / 2.0**29,
        p3=raw.par_p3 / 2.0**32,
        p4=raw.par_p4 / 2.0**37,
        p5=raw.par_p5 * 2.0**3,
        p6=raw.par_p6 / 2.0**6,
        p7=raw.par_p7 / 2.0**8,
        p8=raw.par_p8 / 2.0**15,
        p9=raw.par_p9 / 2.0**48,
        p10=raw.par_p10 / 2.0**48,
        p11=raw.par_p11 / 2.0**65,
    )

"""A command-level MS5611 (or MS5607) on the simulated I2C bus.

It answers what the chip answers (MS5611-01BA03 datasheet, "COMMANDS",
"RESET SEQUENCE", "CONVERSION SEQUENCE", "PROM READ SEQUENCE"), with time
taken from a simulated clock:

- every written byte is a command; ADC READ and PROM READ prepare an answer
  for the next read (3 or 2 bytes, MSB first); a read with no answer pending
  returns zeros; bytes that are no command are ignored;
- RESET reloads the PROM and keeps the chip busy for 2.8 ms: every transfer
  to it meanwhile is NACKed (`EREMOTEIO`), which is how a busy part looks on
  the bus; a conversion under way is lost;
- CONVERT D1/D2 runs for the datasheet's maximum conversion time for its OSR;
  the result is latched at the END of the conversion, with the conditions of
  that moment;
- ADC READ returns 0 when no conversion has finished since the last ADC READ
  (never converted, or read twice);
- the datasheet (the same "CONVERSION SEQUENCE" text in TE's MS5607, MS5637
  and MS5837 datasheets) says an ADC READ during a conversion returns 0 "the
  conversion will not stop and the final result will be wrong", and that a
  conversion command sent during a conversion "will yield incorrect result as
  well". Neither is documented as a NACK, so both are acknowledged: the
  running conversion goes on to its own end and then latches a random 24-bit
  value instead of the measurement (`spoiled_conversions` counts them).

Raw counts come from inverting the integer compensation for the true pressure
and temperature that `conditions(t_s)` gives: D2 from TEMP (second order
included), then D1 from P at that D2, with the datasheet's RMS pressure
resolution for the OSR added to the pressure first, clamped to 24 bits.
"""

from __future__ import annotations

import errno
import math
import os
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from hullwatch.drivers.ms5611.commands import (
    ADC_READ,
    ADC_RESULT_LENGTH,
    ADC_RESULT_MAX,
    PROM_WORD_LENGTH,
    PROM_WORDS,
    RESET,
    RESET_RELOAD_TIME_S,
    Channel,
    conversion_time_s,
    decode_convert,
    decode_prom_read,
)
from hullwatch.drivers.ms5611.compensation import compensate_temperature
from hullwatch.drivers.ms5611.prom import Ms5611Prom, prom_with_crc
from hullwatch.drivers.ms5611.variants import MS5611, Ms5611Variant

from .i2c_bus import I2CTransferError

# The datasheet's example coefficients C1..C6 (MS5611-01BA03, "PRESSURE AND
# TEMPERATURE CALCULATION"); 101 325 Pa at 22 °C reads as D1 ≈ 9.13e6, D2 ≈ 8.63e6.
# Word 0 (factory data) is not given there; 0x0061 is a stand-in so that the
# CRC nibble is not 0.
DEFAULT_PROM: Final = prom_with_crc((0x0061, 40127, 36924, 23317, 23282, 33464, 28312, 0x0000))

_TIME_EPSILON_S: Final = 1e-9  # events due within this of "now" count as done
_UNREACHABLE_RAW: Final = 0x800000  # latched when the PROM cannot produce the conditions


def raw_temperature_for(
    temperature_c: float,
    calibration: Ms5611Prom,
    variant: Ms5611Variant = MS5611,
    *,
    first_d2: dict[int, int] | None = None,
) -> int:
    """D2 whose compensated TEMP (second order included) is `temperature_c` rounded to 0.01 °C,
    or, where the chip's arithmetic skips that value, the nearest value it reaches.

    TEMP never decreases as D2 grows, and about 300 D2 counts share each value
    of TEMP. D2 is placed inside the run of counts for round(T·100) in
    proportion to the fraction of 0.01 °C, so that D2 follows T smoothly.

    Each run boundary is a 24-step binary search; `first_d2`, when given, keeps
    the boundaries found (TEMP in 0.01 °C → first D2) for this calibration and
    variant only, so that a chip whose temperature moves by hundredths searches
    once per hundredth instead of twice per conversion.
    """
    if not math.isfinite(temperature_c):
        raise ValueError(f"temperature {temperature_c!r} °C")
    target = temperature_c * 100.0
    whole = round(target)
    if first_d2 is None:
        start = _first_d2_reaching(whole, calibration, variant)
        end = _first_d2_reaching(whole + 1, calibration, variant)
    else:
        start = first_d2.get(whole, -1)
        if start < 0:
            start = first_d2[whole] = _first_d2_reaching(whole, calibration, variant)
        end = first_d2.get(whole + 1, -1)
        if end < 0:
            end = first_d2[whole + 1] = _first_d2_reaching(whole + 1, calibration, variant)
    if start == end and 0 < start <= ADC_RESULT_MAX:
        # No D2 gives `whole`: TEMP and T2 are floored separately, so near a step of
        # T2 TEMP can jump by 0.02 °C. The nearest value the chip can reach, then.
        below = compensate_temperature(start - 1, calibration, variant).temperature
        above = compensate_temperature(start, calibration, variant).temperature
        return start - 1 if target - below <= above - target else start
    fraction = min(max(target - whole + 0.5, 0.0), 1.0)
    return min(start + int(fraction * (end - start)), ADC_RESULT_MAX)


def raw_pressure_for(
    pressure_pa: float, d2: int, calibration: Ms5611Prom, variant: Ms5611Variant = MS5611
) -> int:
    """D1 that compensates to `pressure_pa` rounded to 1 Pa, with this D2.

    P = ((D1·SENS >> 21) − OFF) >> 15 is floored twice; aiming D1·SENS/2^21 at
    OFF + (P + ½)·2^15 makes the result round to nearest instead. Exact
    rational arithmetic: D1·SENS needs 58 bits, more than a float carries.
    """
    terms = compensate_temperature(d2, calibration, variant)
    if terms.sens <= 0:
        raise ValueError(f"SENS = {terms.sens} at D2 = {d2}: no D1 gives a pressure")
    # aim = OFF + (P + ½)·2^15 and D1 = round(aim·2^21 / SENS), P = n/d exactly
    # (a float is a dyadic rational), in integers: Fraction's arithmetic, and its
    # round-half-to-even, at a fraction of the cost.
    n, d = float(pressure_pa).as_integer_ratio()
    numerator = (terms.off * d + (2 * n + d) * 2**14) * 2**21
    denominator = d * terms.sens
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def _first_d2_reaching(temperature: int, calibration: Ms5611Prom, variant: Ms5611Variant) -> int:
    """The smallest D2 whose TEMP reaches `temperature` (0.01 °C); 2^24 if none does."""
    low, high = 0, ADC_RESULT_MAX + 1
    while low < high:
        middle = (low + high) // 2
        if compensate_temperature(middle, calibration, variant).temperature >= temperature:
            high = middle
        else:
            low = middle + 1
    return low


@dataclass
class _Conversion:
    channel: Channel
    oversampling: int
    ends_s: float
    spoiled: bool = False


class Ms5611Simulator:
    """An MS5611 (or MS5607, by `variant`) behind an `I2CDevice` interface."""

    def __init__(
        self,
        *,
        prom: Sequence[int] | None = None,
        clock: Callable[[], float],
        conditions: Callable[[float], tuple[float, float]],
        rng: random.Random | None = None,
        noise: bool = True,
        white_noise_pa: float | None = None,
        white_noise_scale: float = 1.0,
        variant: Ms5611Variant = MS5611,
    ) -> None:
        self._clock = clock
        self._conditions = conditions
        self._rng = rng if rng is not None else random.Random(0)
        self._noise = noise
        # The RMS white noise per conversion: `white_noise_pa`, or the datasheet's
        # figure for the oversampling set times `white_noise_scale` (hil/sensor_noise.py).
        self._white_noise_pa = white_noise_pa
        self._white_noise_scale = white_noise_scale
        self._variant = variant
        self._stored_prom: tuple[int, ...] = DEFAULT_PROM  # the factory PROM
        self._prom: tuple[int, ...] = DEFAULT_PROM  # as loaded into the internal register
        self._calibration = Ms5611Prom.from_words(DEFAULT_PROM)
        self.set_prom(DEFAULT_PROM if prom is None else prom)
        self._busy_until_s = -math.inf
        self._conversion: _Conversion | None = None
        # ADC READs that returned a pressure (D1) result: a driver's readings, counted
        # where they are served (bench/e2e.py compares processes by it).
        self.pressure_reads = 0
        self._result_channel: Channel | None = None
        self._result: int | None = None  # latched, not yet read
        self._answer = b""  # for the next read
        self.spoiled_conversions = 0
        self._frozen = False
        self._last_raw: dict[Channel, int] = {}
        self._pending_spike_pa = 0.0
        self._factory_prom = self._stored_prom
        # (time_s, command byte) of the last commands the chip accepted, for tests.
        self.recent_commands: deque[tuple[float, int]] = deque(maxlen=1024)

    # --- test and scenario controls ---

    @property
    def variant(self) -> Ms5611Variant:
        return self._variant

    @property
    def prom(self) -> tuple[int, ...]:
        """The eight PROM words the chip answers with."""
        return self._prom

    @property
    def busy(self) -> bool:
        """True during the PROM reload after RESET, when the chip NACKs."""
        return self._clock() + _TIME_EPSILON_S < self._busy_until_s

    def set_prom(self, words: Sequence[int]) -> None:
        """Replace the factory PROM (any contents, a bad CRC included); effective at once."""
        self._stored_prom = Ms5611Prom.from_words(words).words  # checks 8 × 16 bit
        self._load_prom()

    def corrupt_prom(self, word_index: int, value: int) -> None:
        """Overwrite one PROM word, leaving the CRC as it was."""
        if not 0 <= word_index < PROM_WORDS:
            raise ValueError(f"PROM word index {word_index} out of 0..{PROM_WORDS - 1}")
        words = list(self._stored_prom)
        words[word_index] = value
        self.set_prom(words)

    def freeze_output(self, frozen: bool) -> None:
        """A stuck ADC: conversions complete but return the counts of the last one."""
        self._frozen = frozen

    def inject_spike(self, delta_pa: float) -> None:
        """Add `delta_pa` to the next pressure conversion only."""
        self._pending_spike_pa = delta_pa

    def blank_calibration(self) -> None:
        """A PROM that reads all zeros (a failed reload); the driver must refuse it."""
        self.set_prom([0] * PROM_WORDS)

    def restore_calibration(self) -> None:
        self.set_prom(self._factory_prom)

    # --- I2CDevice ---

    def on_write(self, data: bytes) -> None:
        now = self._clock()
        self._refuse_if_busy(now)
        self._advance(now)
        for command in data:
            self._refuse_if_busy(now)  # a byte after RESET in the same message
            self._command(command, now)

    def on_read(self, length: int) -> bytes:
        now = self._clock()
        self._refuse_if_busy(now)
        self._advance(now)
        answer, self._answer = self._answer, b""
        return answer[:length].ljust(length, b"\x00")

    # --- commands ---

    def _refuse_if_busy(self, now: float) -> None:
        if now + _TIME_EPSILON_S < self._busy_until_s:
            raise I2CTransferError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))

    def _command(self, command: int, now: float) -> None:
        self.recent_commands.append((now, command))
        self._answer = b""
        if command == RESET:
            self._conversion = None
            self._result = None
            self._load_prom()
            self._busy_until_s = now + RESET_RELOAD_TIME_S
        elif command == ADC_READ:
            self._adc_read()
        elif (index := decode_prom_read(command)) is not None:
            self._answer = self._prom[index].to_bytes(PROM_WORD_LENGTH, "big")
        elif (convert := decode_convert(command)) is not None:
            if self._conversion is not None:
                self._conversion.spoiled = True  # goes on, with a wrong result
                return
            channel, oversampling = convert
            self._result = None
            self._conversion = _Conversion(
                channel, oversampling, now + conversion_time_s(oversampling)
            )

    def _adc_read(self) -> None:
        zero = bytes(ADC_RESULT_LENGTH)
        if self._conversion is not None:
            self._conversion.spoiled = True  # answers 0; the conversion goes on, wrong
            self._answer = zero
        elif self._result is None:
            self._answer = zero  # nothing converted since the last ADC READ
        else:
            self._answer = self._result.to_bytes(ADC_RESULT_LENGTH, "big")
            self._result = None
            if self._result_channel is Channel.D1:
                self.pressure_reads += 1

    def _load_prom(self) -> None:
        self._prom = self._stored_prom
        self._calibration = Ms5611Prom.from_words(self._prom)
        self._first_d2: dict[int, int] = {}  # boundaries for this calibration only

    # --- conversions ---

    def _advance(self, now: float) -> None:
        conversion = self._conversion
        if conversion is not None and now + _TIME_EPSILON_S >= conversion.ends_s:
            self._conversion = None
            self._result = self._latch(conversion)
            self._result_channel = conversion.channel

    def _latch(self, conversion: _Conversion) -> int:
        if conversion.spoiled:
            self.spoiled_conversions += 1
            return self._rng.randrange(1, ADC_RESULT_MAX + 1)
        if self._frozen and conversion.channel in self._last_raw:
            return self._last_raw[conversion.channel]
        raw = self._convert(conversion)
        self._last_raw[conversion.channel] = raw
        return raw

    def _white_noise_rms_pa(self, oversampling: int) -> float:
        if self._white_noise_pa is not None:
            return self._white_noise_pa
        return self._variant.pressure_noise_rms_pa(oversampling) * self._white_noise_scale

    def _convert(self, conversion: _Conversion) -> int:
        pressure_pa, temperature_c = self._conditions(conversion.ends_s)
        if conversion.channel is Channel.D1:
            pressure_pa += self._pending_spike_pa
            self._pending_spike_pa = 0.0
        v, calibration = self._variant, self._calibration
        try:
            d2 = raw_temperature_for(temperature_c, calibration, v, first_d2=self._first_d2)
            if conversion.channel is Channel.D2:
                raw = d2
            else:
                if self._noise:
                    sigma = self._white_noise_rms_pa(conversion.oversampling)
                    pressure_pa += self._rng.gauss(0.0, sigma)
                raw = raw_pressure_for(pressure_pa, d2, calibration, v)
        except (ValueError, OverflowError):
            raw = _UNREACHABLE_RAW
        return min(max(raw, 0), ADC_RESULT_MAX)

"""MS5611/MS5607 on an I2C bus, as a `PressureSensor`.

Probe order as in Linux ms5611_core.c (`ms5611_init`): RESET, wait for the
PROM reload, read the eight PROM words and check their CRC. There is no
identity register, so the variant comes from the caller. A reading is two
conversions, each a CONVERT command, a wait of the datasheet's maximum
conversion time, and an ADC READ (MS5611-01BA03 datasheet, "CONVERSION
SEQUENCE"). Per-device state (calibration, last temperature) lives on the
instance only.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.errors import MeasurementError, OutOfRangeError
from hullwatch.drivers.rate_limit import RateLimit
from hullwatch.drivers.sensor import Reading

from .commands import (
    ADC_READ,
    ADC_RESULT_LENGTH,
    PROM_WORD_LENGTH,
    PROM_WORDS,
    RESET,
    RESET_RELOAD_TIME_S,
    Channel,
    conversion_time_s,
    convert_command,
    prom_read_command,
)
from .compensation import CompensationTerms, compensate_pressure, compensate_temperature
from .prom import Ms5611Prom, parse_prom
from .variants import MS5611, Ms5611Variant

_E = TypeVar("_E", bound=Exception)

# The datasheet times are maxima already; wait 10 % longer so that a timer
# firing a little early still finds the result (Linux sleeps conv_usec to
# conv_usec + 10 % with usleep_range, and 3..4 ms after RESET).
TIMING_MARGIN: Final = 1.1
# The finest resolution (1.2 Pa RMS, docs/datasheets.md) in 9.04 ms per conversion.
DEFAULT_OVERSAMPLING: Final = 4096

_CHANNEL_NAMES: Final = {Channel.D1: "D1, pressure", Channel.D2: "D2, temperature"}


@dataclass(frozen=True, slots=True)
class Ms5611Settings:
    """How to run the chip.

    `oversampling` applies to both conversions (256, 512, 1024, 2048 or 4096).
    `temperature_every_n` converts D2 on every n-th read only and compensates
    the others with the last temperature. The raw pressure moves with the die
    temperature by roughly 190 Pa/K for the datasheet's example coefficients,
    so a temperature that is stale by 5 mK already costs about 1 Pa: use it
    only when the temperature changes far more slowly than n / rate_hz.
    """

    oversampling: int = DEFAULT_OVERSAMPLING
    rate_hz: float = 1.0
    temperature_every_n: int = 1

    def __post_init__(self) -> None:
        conversion_time_s(self.oversampling)  # validates the ratio
        if isinstance(self.temperature_every_n, bool) or not (
            isinstance(self.temperature_every_n, int) and self.temperature_every_n >= 1
        ):
            raise ValueError(
                f"temperature_every_n must be an integer >= 1, got {self.temperature_every_n!r}"
            )
        if not (math.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise ValueError(f"sampling rate must be a positive number of Hz, got {self.rate_hz!r}")
        refusal = rate_limit(self.oversampling).refusal(
            self.rate_hz, {"oversampling": self.oversampling}
        )
        if refusal is not None:
            raise ValueError(refusal)

    @property
    def conversion_wait_s(self) -> float:
        """How long the driver waits between CONVERT and ADC READ."""
        return conversion_time_s(self.oversampling) * TIMING_MARGIN

    @property
    def measurement_time_s(self) -> float:
        """Duration of a read that converts both D2 and D1."""
        return _measurement_time_s(self.oversampling)


def _measurement_time_s(oversampling: int) -> float:
    """A read that converts D2 and D1: two conversion waits (datasheet "CONVERSION SEQUENCE")."""
    return 2 * conversion_time_s(oversampling) * TIMING_MARGIN


def rate_limit(oversampling: int) -> RateLimit:
    """The fastest a read at this oversampling ratio can repeat: one D2 and one D1
    conversion, each waited for its maximum time (datasheet "ELECTRICAL
    CHARACTERISTICS") with `TIMING_MARGIN`. Reads that skip D2 (`temperature_every_n`)
    are faster, but every n-th one is not."""
    measurement_s = _measurement_time_s(oversampling)
    return RateLimit(
        1.0 / measurement_s,
        f"a D2 and a D1 conversion take {measurement_s * 1e3:.2f} ms with margin "
        f'(datasheet "ELECTRICAL CHARACTERISTICS"), so at most {1.0 / measurement_s:.1f} Hz; '
        "lower the oversampling or the rate",
    )


class Ms5611Sensor:
    """An MS5611 (or MS5607) at one address; implements `PressureSensor`."""

    def __init__(
        self,
        bus: I2CBus,
        address: int,
        settings: Ms5611Settings,
        *,
        variant: Ms5611Variant = MS5611,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if address not in variant.addresses:
            allowed = " or ".join(f"0x{a:02x}" for a in variant.addresses)
            raise ValueError(
                f"an {variant.name} answers only at {allowed} (CSB high/low), not 0x{address:02x}"
            )
        self._bus = bus
        self._address = address
        self._settings = settings
        self._variant = variant
        self._sleep = sleep
        self._calibration: Ms5611Prom | None = None  # set once the PROM passed: ready to read
        self._terms: CompensationTerms | None = None  # from the last D2
        self._reads_since_temperature = 0
        # One command sequence at a time: a second CONVERT during a conversion
        # spoils the result (datasheet "CONVERSION SEQUENCE").
        self._lock = asyncio.Lock()

    @property
    def description(self) -> str:
        return f"{self._variant.name} at 0x{self._address:02x} on {self._bus.name}"

    @property
    def settings(self) -> Ms5611Settings:
        return self._settings

    @property
    def variant(self) -> Ms5611Variant:
        return self._variant

    @property
    def calibration(self) -> Ms5611Prom:
        """The PROM read by `initialise`."""
        if self._calibration is None:
            raise RuntimeError(f"{self.description}: call initialise() first")
        return self._calibration

    async def initialise(self) -> None:
        async with self._lock:
            self._calibration = self._terms = None
            # Datasheet "RESET SEQUENCE": once after power-on, to load the PROM;
            # the chip does not answer during the reload.
            await self._bus.write(self._address, bytes([RESET]))
            await self._sleep(RESET_RELOAD_TIME_S * TIMING_MARGIN)
            words = [await self._read_prom_word(index) for index in range(PROM_WORDS)]
            self._calibration = parse_prom(words, bus=self._bus.name, address=self._address)
            self._reads_since_temperature = 0

    async def read(self) -> Reading:
        """Convert D2 (when due) and D1 and compensate them; never None."""
        async with self._lock:
            calibration = self._calibration
            if calibration is None:
                raise RuntimeError(f"{self.description}: call initialise() first")
            v = self._variant
            terms = self._terms
            if terms is None or self._reads_since_temperature >= self._settings.temperature_every_n:
                self._terms = None
                d2 = await self._convert(Channel.D2)
                terms = compensate_temperature(d2, calibration, v)
                low_c, high_c = v.temperature_min_c, v.temperature_max_c
                self._check_range("temperature", terms.temperature_c, "°C", low_c, high_c)
                self._terms = terms
                self._reads_since_temperature = 0
            self._reads_since_temperature += 1
            d1 = await self._convert(Channel.D1)
            pressure_pa = float(compensate_pressure(d1, terms))
            self._check_range("pressure", pressure_pa, "Pa", v.pressure_min_pa, v.pressure_max_pa)
            return Reading(pressure_pa=pressure_pa, temperature_c=terms.temperature_c)

    # --- steps ---

    async def _convert(self, channel: Channel) -> int:
        """CONVERT, wait the maximum conversion time, ADC READ (datasheet "CONVERSION SEQUENCE")."""
        await self._bus.write(
            self._address, bytes([convert_command(channel, self._settings.oversampling)])
        )
        await self._sleep(self._settings.conversion_wait_s)
        data = await self._bus.write_read(self._address, bytes([ADC_READ]), ADC_RESULT_LENGTH)
        value = int.from_bytes(data, "big")
        if value == 0:
            # The chip answers 0 to an ADC READ before the conversion ended, to
            # a repeated ADC READ, and after a RESET in between.
            raise self._error(
                MeasurementError,
                f"ADC read returned 0: conversion not finished ({_CHANNEL_NAMES[channel]})",
            )
        return value

    async def _read_prom_word(self, index: int) -> int:
        data = await self._bus.write_read(
            self._address, bytes([prom_read_command(index)]), PROM_WORD_LENGTH
        )
        return int.from_bytes(data, "big")

    def _check_range(self, what: str, value: float, unit: str, low: float, high: float) -> None:
        """Outside the datasheet's operating range the compensation is not specified."""
        if not low <= value <= high:
            raise self._error(
                OutOfRangeError,
                f"{what} {value:.2f} {unit} outside the specified {low:g}..{high:g} {unit}",
            )

    def _error(self, kind: Callable[..., _E], message: str) -> _E:
        return kind(message, bus=self._bus.name, address=self._address)

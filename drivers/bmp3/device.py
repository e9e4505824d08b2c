"""BMP388/BMP390 on an I2C bus, as a `PressureSensor`.

Probe order as in Linux bmp280-core (BMP380 part) and Bosch `bmp3_init`:
check CHIP_ID, wait for cmd_rdy, soft reset, read and validate the NVM
calibration, write OSR/ODR/CONFIG in sleep mode, then PWR_CTRL, then check
ERR_REG. Per-device state (variant, calibration) lives on the instance only.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.errors import (
    ConfigurationRejectedError,
    MeasurementError,
    OutOfRangeError,
    WrongChipError,
)
from hullwatch.drivers.rate_limit import RateLimit
from hullwatch.drivers.sensor import Reading

from . import registers as r
from .calibration import Bmp3Calibration, parse_nvm, scale_calibration
from .compensation import (
    compensate_pressure_pa,
    compensate_temperature_c,
    measurement_time_s,
    normal_mode_rate_limit,
    odr_code_for_rate,
)
from .variants import Bmp3Variant, describe_supported, variant_by_name, variant_for_chip_id

Bmp3Mode = Literal["normal", "forced"]
MODES: Final[tuple[Bmp3Mode, ...]] = ("normal", "forced")

# The defaults, the daemon's and the driver's alike (drivers/catalog.py). IIR off: the
# filter makes successive samples correlated, so a slope's standard error computed as
# for white noise would be optimistic. x8/x1: 2.3 Pa RMS (datasheet table "noise in
# pressure") in 21 ms per measurement (datasheet 3.9.2), so normal mode reaches 25 Hz
# (docs/datasheets.md).
DEFAULT_MODE: Final[Bmp3Mode] = "normal"
DEFAULT_PRESSURE_OVERSAMPLING: Final = 8
DEFAULT_TEMPERATURE_OVERSAMPLING: Final = 1
DEFAULT_IIR_COEFFICIENT: Final = 0
# The settings the fastest rate depends on (`rate_limit`); the IIR filter runs on the
# results and takes no measurement time.
RATE_SETTINGS: Final = ("mode", "pressure_oversampling", "temperature_oversampling")
_E = TypeVar("_E", bound=Exception)

# Datasheet 3.9.2 gives the typical measurement time; wait 15 % longer before
# expecting a result (Linux bmp380_chip_config uses the same margin).
MEASUREMENT_MARGIN: Final = 1.15
_CMD_READY_POLLS: Final = 5
# Normal mode: after this many reads in a row without a new sample, look at
# ERR_REG, EVENT and PWR_CTRL to tell a slow poll from a chip that reset or stopped.
_EMPTY_READS_BEFORE_CHECK: Final = 4


@dataclass(frozen=True, slots=True)
class Bmp3Settings:
    """How to run the chip. Oversampling as factors (1..32), IIR as coefficient (0..127)."""

    mode: Bmp3Mode = DEFAULT_MODE
    pressure_oversampling: int = DEFAULT_PRESSURE_OVERSAMPLING
    temperature_oversampling: int = DEFAULT_TEMPERATURE_OVERSAMPLING
    iir_coefficient: int = DEFAULT_IIR_COEFFICIENT
    rate_hz: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'normal' or 'forced', got {self.mode!r}")
        if self.iir_coefficient not in r.IIR_CODES:
            raise ValueError(
                f"IIR coefficient {self.iir_coefficient} is not one of {sorted(r.IIR_CODES)}"
            )
        if not (math.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise ValueError(f"sampling rate must be a positive number of Hz, got {self.rate_hz!r}")
        limit = rate_limit(self.mode, self.pressure_oversampling, self.temperature_oversampling)
        refusal = limit.refusal(self.rate_hz, self.rate_settings)
        if refusal is not None:
            raise ValueError(refusal)

    @property
    def rate_settings(self) -> dict[str, object]:
        """The settings the fastest rate depends on (`rate_limit`), by name."""
        return {key: getattr(self, key) for key in RATE_SETTINGS}

    @property
    def measurement_time_s(self) -> float:
        return measurement_time_s(self.pressure_oversampling, self.temperature_oversampling)


def rate_limit(mode: str, pressure_oversampling: int, temperature_oversampling: int) -> RateLimit:
    """The fastest these settings can be read at, from the measurement time (datasheet 3.9.2).

    Normal mode: the fastest ODR whose period exceeds one measurement (4.3.19). Forced
    mode: one measurement per read, waited for with `MEASUREMENT_MARGIN`.
    """
    meas_s = measurement_time_s(pressure_oversampling, temperature_oversampling)
    if mode != "forced":
        return normal_mode_rate_limit(meas_s)
    wait_s = meas_s * MEASUREMENT_MARGIN
    return RateLimit(
        1.0 / wait_s,
        f"in forced mode one measurement takes {wait_s * 1e3:.3f} ms with margin "
        f"(datasheet 3.9.2), so at most {1.0 / wait_s:.1f} Hz; lower the oversampling or the rate",
    )


class Bmp3Sensor:
    """A BMP388 or BMP390 at one address; implements `PressureSensor`."""

    def __init__(
        self,
        bus: I2CBus,
        address: int,
        settings: Bmp3Settings,
        *,
        expected_chip: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 <= address <= 0x7F:
            raise ValueError(f"I2C address 0x{address:x} is not a 7-bit address")
        self._bus = bus
        self._address = address
        self._settings = settings
        self._expected = variant_by_name(expected_chip) if expected_chip is not None else None
        self._sleep = sleep
        self._odr_code = (
            odr_code_for_rate(settings.rate_hz, settings.measurement_time_s)
            if settings.mode == "normal"
            else 0
        )
        self._variant: Bmp3Variant | None = None
        self._calibration: Bmp3Calibration | None = None  # set once configured: ready to read
        self._empty_reads = 0

    @property
    def description(self) -> str:
        chip = self._variant or self._expected
        name = chip.name if chip is not None else "BMP3xx"
        return f"{name} at 0x{self._address:02x} on {self._bus.name}"

    @property
    def settings(self) -> Bmp3Settings:
        return self._settings

    @property
    def variant(self) -> Bmp3Variant:
        """The chip found by `initialise` (may differ from `expected_chip`)."""
        if self._variant is None:
            raise RuntimeError(f"{self.description}: call initialise() first")
        return self._variant

    @property
    def calibration(self) -> Bmp3Calibration:
        if self._calibration is None:
            raise RuntimeError(f"{self.description}: call initialise() first")
        return self._calibration

    async def initialise(self) -> None:
        self._variant = self._calibration = None
        self._variant = await self._probe()
        await self._soft_reset(self._variant)
        nvm = await self._read(r.REG_NVM, r.NVM_LENGTH)
        calibration = scale_calibration(parse_nvm(nvm, bus=self._bus.name, address=self._address))
        await self._configure()
        self._calibration = calibration
        self._empty_reads = 0

    async def read(self) -> Reading | None:
        if self._variant is None or self._calibration is None:
            raise RuntimeError(f"{self.description}: call initialise() first")
        if self._settings.mode == "forced":
            await self._write(r.REG_PWR_CTRL, self._power_control(r.MODE_FORCED))
            await self._sleep(self._settings.measurement_time_s * MEASUREMENT_MARGIN)
        block = await self._read(r.REG_STATUS, 1 + r.DATA_LENGTH)  # STATUS, DATA_0..DATA_5
        if not block[0] & r.STATUS_DRDY_PRESS:
            if self._settings.mode == "forced":
                raise self._error(MeasurementError, "forced measurement not ready in time")
            await self._check_stall()
            return None
        self._empty_reads = 0
        raw_pressure = int.from_bytes(block[1:4], "little")
        raw_temperature = int.from_bytes(block[4:7], "little")
        if r.SKIPPED_SAMPLE in (raw_pressure, raw_temperature):
            raise self._error(MeasurementError, "skipped measurement (DATA reads 0x800000)")
        v, cal = self._variant, self._calibration
        temperature_c = compensate_temperature_c(raw_temperature, cal)
        self._check_range(
            "temperature", temperature_c, "°C", v.temperature_min_c, v.temperature_max_c
        )
        pressure_pa = compensate_pressure_pa(raw_pressure, temperature_c, cal)
        self._check_range("pressure", pressure_pa, "Pa", v.pressure_min_pa, v.pressure_max_pa)
        return Reading(pressure_pa=pressure_pa, temperature_c=temperature_c)

    # --- probe steps ---

    async def _probe(self) -> Bmp3Variant:
        chip_id = (await self._read(r.REG_CHIP_ID, 1))[0]
        variant = variant_for_chip_id(chip_id)
        if variant is None:
            message = f"expected {describe_supported()}, got 0x{chip_id:02x}"
            raise self._error(WrongChipError, message)
        return variant

    async def _soft_reset(self, variant: Bmp3Variant) -> None:
        for _ in range(_CMD_READY_POLLS):
            if (await self._read(r.REG_STATUS, 1))[0] & r.STATUS_CMD_RDY:
                break
            await self._sleep(variant.start_up_time_s)
        else:
            raise self._error(
                MeasurementError, "chip not ready for commands (STATUS cmd_rdy clear)"
            )
        await self._write(r.REG_CMD, r.CMD_SOFT_RESET)
        await self._sleep(variant.start_up_time_s)
        await self._check_errors()
        # Reading EVENT clears por_detected, so a later reset of the chip shows up.
        await self._read(r.REG_EVENT, 1)

    async def _configure(self) -> None:
        s = self._settings
        osr = r.OSR_CODES[s.pressure_oversampling] | (
            r.OSR_CODES[s.temperature_oversampling] << r.OSR_TEMPERATURE_SHIFT
        )
        config = r.IIR_CODES[s.iir_coefficient] << r.CONFIG_IIR_SHIFT
        # Settings first, in sleep mode; then the mode (Bosch bmp3_set_op_mode order).
        await self._write(r.REG_OSR, osr, r.REG_ODR, self._odr_code, r.REG_CONFIG, config)
        mode = r.MODE_NORMAL if s.mode == "normal" else r.MODE_SLEEP
        power = self._power_control(mode)
        await self._write(r.REG_PWR_CTRL, power)
        if s.mode == "normal":
            # conf_err is known by the end of the first measurement at the latest.
            await self._sleep(s.measurement_time_s * MEASUREMENT_MARGIN)
        await self._check_errors()
        wrote = (power, osr, self._odr_code, config)
        back = await self._read(r.REG_PWR_CTRL, r.REG_CONFIG - r.REG_PWR_CTRL + 1)
        read = (back[0] & 0x33, back[1] & 0x3F, back[2] & r.ODR_SEL_MASK, back[4] & 0x0E)
        if read != wrote:
            hexes = ["/".join(f"0x{v:02x}" for v in values) for values in (wrote, read)]
            raise self._error(
                ConfigurationRejectedError,
                "configuration did not stick: wrote PWR_CTRL/OSR/ODR/CONFIG "
                f"{hexes[0]}, read back {hexes[1]}",
            )

    # --- reading ---

    async def _check_stall(self) -> None:
        """Normal mode, no new sample: a slow chip is fine, a reset or stopped one is not."""
        self._empty_reads += 1
        if self._empty_reads < _EMPTY_READS_BEFORE_CHECK:
            return
        self._empty_reads = 0
        await self._check_errors()
        if (await self._read(r.REG_EVENT, 1))[0] & r.EVENT_POR_DETECTED:
            raise self._error(
                MeasurementError, "chip was reset (EVENT por_detected); re-initialise"
            )
        power = (await self._read(r.REG_PWR_CTRL, 1))[0]
        if (power & r.PWR_CTRL_MODE_MASK) >> r.PWR_CTRL_MODE_SHIFT != r.MODE_NORMAL:
            raise self._error(
                MeasurementError, f"chip left normal mode (PWR_CTRL=0x{power:02x}); re-initialise"
            )

    def _check_range(self, what: str, value: float, unit: str, low: float, high: float) -> None:
        """Outside the datasheet's operating range the compensation is not specified."""
        if not low <= value <= high:
            raise self._error(
                OutOfRangeError,
                f"{what} {value:.2f} {unit} outside the specified {low:g}..{high:g} {unit}",
            )

    async def _check_errors(self) -> None:
        """ERR_REG (datasheet 4.3.3); reading it clears cmd_err and conf_err."""
        err = (await self._read(r.REG_ERR, 1))[0]
        if err & r.ERR_FATAL:
            raise self._error(MeasurementError, f"chip reports a fatal error (ERR_REG=0x{err:02x})")
        if err & r.ERR_CMD:
            raise self._error(MeasurementError, f"chip rejected a command (ERR_REG=0x{err:02x})")
        if err & r.ERR_CONF:
            s = self._settings
            raise self._error(
                ConfigurationRejectedError,
                f"chip rejected OSR x{s.pressure_oversampling}/x{s.temperature_oversampling} "
                f"with ODR {1 / r.odr_period_s(self._odr_code):g} Hz "
                f"(ERR_REG=0x{err:02x} conf_err: measurement longer than the ODR period)",
            )

    # --- bus glue ---

    def _power_control(self, mode: int) -> int:
        enables = r.PWR_CTRL_PRESS_EN | r.PWR_CTRL_TEMP_EN
        return enables | (mode << r.PWR_CTRL_MODE_SHIFT)

    async def _read(self, register: int, length: int) -> bytes:
        """Set the register pointer, then read `length` auto-incremented bytes."""
        return await self._bus.write_read(self._address, bytes([register]), length)

    async def _write(self, *register_values: int) -> None:
        """One write of register/data pairs (BMP3 burst write, Bosch `bmp3_set_regs`)."""
        await self._bus.write(self._address, bytes(register_values))

    def _error(self, kind: Callable[..., _E], message: str) -> _E:
        return kind(message, bus=self._bus.name, address=self._address)

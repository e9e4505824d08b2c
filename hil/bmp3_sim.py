"""A register-level BMP388/BMP390 on the simulated I2C bus.

It answers what the chip answers (datasheet section 4 register map, 3.3 power
modes, 3.9 timing), with time taken from a simulated clock:

- a 128-byte register file with power-on defaults; NVM at 0x31..0x45;
- I2C: a write's first byte sets the register pointer, which persists between
  transactions and auto-increments on reads; further written bytes are
  register/data pairs (BMP3 burst write); read-only registers ignore writes;
- CMD 0xB6 soft reset (defaults back, EVENT por_detected set), 0xB0 FIFO flush
  (no FIFO is modelled), anything else sets ERR_REG cmd_err; for the 2 ms
  start-up after power-on or reset, STATUS cmd_rdy reads 0 and writes are lost;
- PWR_CTRL sleep / forced (one measurement, `measurement_time` after the
  command, then back to sleep) / normal (a measurement every ODR period; a
  measurement longer than the period sets ERR_REG conf_err and drops to sleep);
- STATUS drdy_press/drdy_temp set by a finished conversion, cleared by reading
  the matching DATA registers; a disabled channel reads 0x800000;
- the IIR filter out = (prev·c + new)/(c + 1) applied to each conversion's raw
  value (both channels), fed white noise of the datasheet's IIR-off size for
  the set OSR, so that the filtered output reproduces the other columns of the
  noise table (variance x 1/(2c+1)); temperature noise is 0.002 °C RMS;
- in normal mode, conversions missed between two accesses are run at their own
  times when they still matter to the filter output (the last 7·(c+1)).

Raw counts come from inverting the datasheet compensation for the true
(pressure, temperature) that `conditions(t_s)` gives at the conversion time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Final, Literal

from hullwatch.drivers.bmp3 import registers as r
from hullwatch.drivers.bmp3.calibration import (
    Bmp3Calibration,
    Bmp3RawCalibration,
    scale_calibration,
)
from hullwatch.drivers.bmp3.compensation import measurement_time_s
from hullwatch.drivers.bmp3.variants import BMP388, Bmp3Variant, variant_for_chip_id

# NVM of a real BMP388, as dumped in the public test suite of elixir-sensors/bmp3xx
# (test/bmp3xx/bmp388/calibration_test.exs): T1=27427, T2=18776, T3=-10, P1=-164,
# P2=-2866, P3=35, P4=0, P5=25578, P6=31086, P7=-13, P8=-10, P9=17322, P10=18, P11=-60.
# 101 325 Pa at 22 °C reads as raw pressure ≈ 7.03e6, raw temperature ≈ 8.28e6.
DEFAULT_NVM: Final = bytes.fromhex("236b5849f65cffcef42300ea636e79f3f6aa4312c4")

TEMPERATURE_NOISE_C: Final = 0.002
_RAW_MAX: Final = (1 << 24) - 1
_TIME_EPSILON_S: Final = 1e-9  # events due within this of "now" count as done

# Power-on / soft-reset values (datasheet 4.2 memory map "reset state").
_RESET_VALUES: Final = {
    r.REG_STATUS: r.STATUS_CMD_RDY,
    r.REG_PRESSURE_DATA + 2: 0x80,  # DATA_2 = 0x80: pressure reads 0x800000
    r.REG_TEMPERATURE_DATA + 2: 0x80,  # DATA_5 = 0x80: temperature reads 0x800000
    r.REG_EVENT: r.EVENT_POR_DETECTED,
    r.REG_FIFO_WTM: 0x01,
    r.REG_FIFO_CONFIG_1: 0x02,
    r.REG_FIFO_CONFIG_2: 0x02,
    r.REG_INT_CTRL: 0x02,
    r.REG_OSR: 0x02,  # osr_p x4, osr_t x1
}
# Implemented bits of the writable registers that have reserved bits.
_WRITE_MASKS: Final = {r.REG_PWR_CTRL: 0x33, r.REG_OSR: 0x3F, r.REG_ODR: 0x1F, r.REG_CONFIG: 0x0E}
_PRESSURE_DATA: Final = range(r.REG_PRESSURE_DATA, r.REG_PRESSURE_DATA + 3)
_TEMPERATURE_DATA: Final = range(r.REG_TEMPERATURE_DATA, r.REG_TEMPERATURE_DATA + 3)


def raw_temperature_for(temperature_c: float, calibration: Bmp3Calibration) -> float:
    """Raw temperature count that compensates to `temperature_c` (inverse of datasheet 9.2).

    T = d·t2 + d²·t3 is solved for d with the root that tends to T/t2 as t3 → 0,
    written 2T / (t2 + √(t2² + 4·t3·T)) to stay exact when t3 is tiny.
    """
    c = calibration
    discriminant = c.t2 * c.t2 + 4.0 * c.t3 * temperature_c
    if discriminant < 0:
        raise ValueError(f"{temperature_c} °C is out of reach of this calibration")
    return c.t1 + 2.0 * temperature_c / (c.t2 + math.sqrt(discriminant))


def raw_pressure_for(
    pressure_pa: float, temperature_c: float, calibration: Bmp3Calibration
) -> float:
    """Raw pressure count that compensates to `pressure_pa` at `temperature_c` (inverse of 9.3).

    Newton's method on the cubic in the raw value, from its linear solution.
    """
    c = calibration
    t = temperature_c
    offset = c.p5 + c.p6 * t + c.p7 * t * t + c.p8 * t**3
    linear = c.p1 + c.p2 * t + c.p3 * t * t + c.p4 * t**3
    quadratic = c.p9 + c.p10 * t
    p11 = c.p11
    x = (pressure_pa - offset) / linear
    for _ in range(50):
        # `compensate_pressure_pa(x, t, c)` with its temperature terms computed once;
        # the same operations in the same order, so the same float.
        residual = offset + x * linear + x * x * quadratic + x**3 * p11 - pressure_pa
        slope = linear + 2.0 * x * quadratic + 3.0 * x * x * p11
        step = residual / slope
        x -= step
        if abs(step) < 1e-7:
            return x
    raise ValueError(f"no raw pressure gives {pressure_pa} Pa at {temperature_c} °C")


class Bmp3Simulator:
    """A BMP388 (chip id 0x50) or BMP390 (0x60) behind an `I2CDevice` interface."""

    def __init__(
        self,
        *,
        chip_id: int = BMP388.chip_id,
        nvm: bytes = DEFAULT_NVM,
        clock: Callable[[], float],
        conditions: Callable[[float], tuple[float, float]],
        rng: random.Random | None = None,
        noise: bool = True,
        white_noise_pa: float | None = None,
        white_noise_scale: float = 1.0,
        rev_id: int = 0x01,
    ) -> None:
        self._clock = clock
        self._conditions = conditions
        self._rng = rng if rng is not None else random.Random(0)
        self._noise = noise
        # The RMS white noise per conversion: `white_noise_pa`, or the datasheet's
        # figure for the oversampling set times `white_noise_scale` (hil/sensor_noise.py).
        self._white_noise_pa = white_noise_pa
        self._white_noise_scale = white_noise_scale
        self._rev_id = rev_id
        self._regs = bytearray(r.REGISTER_FILE_SIZE)
        self._pointer = 0
        self._fatal = False
        self._chip_id = chip_id
        self._variant = variant_for_chip_id(chip_id) or BMP388
        self._nvm = b""
        self._calibration = scale_calibration(Bmp3RawCalibration.unpack(DEFAULT_NVM))
        self.set_nvm(nvm)
        self._factory_nvm = bytes(nvm)
        self._ready_at = 0.0
        self._forced_due_s: float | None = None
        self._normal_first_s: float | None = None  # end of the first normal-mode conversion
        # Burst reads that reached the pressure data: a driver's readings, counted
        # where they are served (bench/e2e.py compares processes by it).
        self.pressure_reads = 0
        self._normal_period_s = 0.0
        self._normal_done = 0
        self._filtered: dict[str, float | None] = {"pressure": None, "temperature": None}
        self._frozen = False
        self._pending_spike_pa = 0.0
        self.power_on_reset()

    # --- test and scenario controls ---

    @property
    def chip_id(self) -> int:
        return self._chip_id

    @chip_id.setter
    def chip_id(self, value: int) -> None:
        self._chip_id = value
        self._variant = variant_for_chip_id(value) or BMP388
        self._regs[r.REG_CHIP_ID] = value

    @property
    def variant(self) -> Bmp3Variant:
        """Whose noise table applies (BMP388's for unknown chip ids)."""
        return self._variant

    @property
    def calibration(self) -> Bmp3Calibration:
        return self._calibration

    @property
    def mode(self) -> Literal["sleep", "forced", "normal"]:
        self._advance(self._clock())
        code = (self._regs[r.REG_PWR_CTRL] & r.PWR_CTRL_MODE_MASK) >> r.PWR_CTRL_MODE_SHIFT
        return "normal" if code == r.MODE_NORMAL else "sleep" if code == r.MODE_SLEEP else "forced"

    def set_nvm(self, nvm: bytes) -> None:
        """Replace the factory calibration (e.g. all zeros for a failed NVM load)."""
        raw = Bmp3RawCalibration.unpack(bytes(nvm))  # checks the length
        self._nvm = bytes(nvm)
        self._regs[r.REG_NVM : r.REG_NVM + r.NVM_LENGTH] = self._nvm
        self._calibration = scale_calibration(raw)

    def blank_calibration(self) -> None:
        """An NVM that reads all zeros (a failed load); the driver must refuse it."""
        self.set_nvm(bytes(len(self._factory_nvm)))

    def restore_calibration(self) -> None:
        self.set_nvm(self._factory_nvm)

    def freeze_output(self, frozen: bool) -> None:
        """A stuck ADC: conversions go on (data-ready bits set) but the data registers
        keep the counts they hold, the fault hullwatch must not mistake for a sealed chamber."""
        self._frozen = frozen

    def inject_spike(self, delta_pa: float) -> None:
        """Add `delta_pa` to the next conversion only (an EMI hit on one sample)."""
        self._pending_spike_pa = delta_pa

    def set_fatal_error(self, active: bool) -> None:
        """Raise or drop ERR_REG fatal_err (it survives soft resets)."""
        self._fatal = active
        self._regs[r.REG_ERR] = (self._regs[r.REG_ERR] & ~r.ERR_FATAL) | (
            r.ERR_FATAL if active else 0
        )

    def power_on_reset(self) -> None:
        """As if the supply had been cycled."""
        self._reset(self._clock())

    def peek(self, register: int) -> int:
        """A register's value without the side effects of an I2C read."""
        self._advance(self._clock())
        return self._regs[register]

    # --- I2CDevice ---

    def on_write(self, data: bytes) -> None:
        if not data:
            return
        now = self._clock()
        self._advance(now)
        self._pointer = data[0] & 0x7F
        if len(data) == 1:  # the usual case: set the pointer for a read
            return
        accepting = now + _TIME_EPSILON_S >= self._ready_at  # ignored during start-up
        for register, value in zip(data[0::2], data[1::2], strict=False):
            self._pointer = register & 0x7F
            if accepting:
                self._write_register(register & 0x7F, value, now)
        if len(data) > 1 and len(data) % 2:
            self._pointer = data[-1] & 0x7F

    def on_read(self, length: int) -> bytes:
        now = self._clock()
        self._advance(now)
        start = self._pointer
        end = start + length
        if end > r.REGISTER_FILE_SIZE:  # wraps around: byte by byte
            out = bytearray()
            for _ in range(length):
                out.append(self._read_register(self._pointer, now))
                self._pointer = (self._pointer + 1) % r.REGISTER_FILE_SIZE
            return bytes(out)
        return self._read_block(start, end, now)

    # --- registers ---

    def _reset(self, now: float) -> None:
        self._regs[:] = bytes(r.REGISTER_FILE_SIZE)
        for register, value in _RESET_VALUES.items():
            self._regs[register] = value
        self._regs[r.REG_CHIP_ID] = self._chip_id
        self._regs[r.REG_REV_ID] = self._rev_id
        self._regs[r.REG_NVM : r.REG_NVM + r.NVM_LENGTH] = self._nvm
        self.set_fatal_error(self._fatal)
        self._ready_at = now + self.variant.start_up_time_s
        self._forced_due_s = None
        self._normal_first_s = None
        self._filtered = {"pressure": None, "temperature": None}

    def _read_block(self, start: int, end: int, now: float) -> bytes:
        """`_read_register` over start..end-1 at once, for a burst that does not wrap.

        Reading a register changes only that register, except that reading DATA
        clears STATUS bits; STATUS (0x03) comes before DATA (0x04..0x09) in such a
        burst, so every byte is what the byte-by-byte read would return.
        """
        regs = self._regs
        out = regs[start:end]
        self._pointer = end % r.REGISTER_FILE_SIZE
        if start > r.REG_INT_STATUS:
            if start <= r.REG_CMD < end:
                out[r.REG_CMD - start] = 0  # write-only
            return bytes(out)
        if start <= r.REG_ERR < end:
            regs[r.REG_ERR] &= ~(r.ERR_CMD | r.ERR_CONF)  # clear on read
        if start <= r.REG_STATUS < end and now + _TIME_EPSILON_S < self._ready_at:
            out[r.REG_STATUS - start] &= ~r.STATUS_CMD_RDY
        if start <= r.REG_PRESSURE_DATA + 2 and end > r.REG_PRESSURE_DATA:
            regs[r.REG_STATUS] &= ~r.STATUS_DRDY_PRESS
            self.pressure_reads += 1
        if start <= r.REG_TEMPERATURE_DATA + 2 and end > r.REG_TEMPERATURE_DATA:
            regs[r.REG_STATUS] &= ~r.STATUS_DRDY_TEMP
        if start <= r.REG_EVENT < end:
            regs[r.REG_EVENT] = 0  # clear on read
        if start <= r.REG_INT_STATUS < end:
            regs[r.REG_INT_STATUS] = 0  # clear on read
        if start <= r.REG_CMD < end:
            out[r.REG_CMD - start] = 0  # write-only
        return bytes(out)

    def _read_register(self, register: int, now: float) -> int:
        value = self._regs[register]
        if register == r.REG_STATUS and now + _TIME_EPSILON_S < self._ready_at:
            value &= ~r.STATUS_CMD_RDY
        elif register == r.REG_ERR:
            self._regs[register] &= ~(r.ERR_CMD | r.ERR_CONF)  # clear on read
        elif register in (r.REG_EVENT, r.REG_INT_STATUS):
            self._regs[register] = 0  # clear on read
        elif register in _PRESSURE_DATA:
            self._regs[r.REG_STATUS] &= ~r.STATUS_DRDY_PRESS
        elif register in _TEMPERATURE_DATA:
            self._regs[r.REG_STATUS] &= ~r.STATUS_DRDY_TEMP
        elif register == r.REG_CMD:
            value = 0  # write-only
        return value

    def _write_register(self, register: int, value: int, now: float) -> None:
        if register not in r.WRITABLE_REGISTERS:
            return
        if register == r.REG_CMD:
            self._command(value, now)
            return
        if register == r.REG_CONFIG and value != self._regs[register]:
            self._filtered = {"pressure": None, "temperature": None}
        self._regs[register] = value & _WRITE_MASKS.get(register, 0xFF)
        if register == r.REG_PWR_CTRL:
            self._mode_changed(now)
        elif register in (r.REG_OSR, r.REG_ODR) and self._normal_first_s is not None:
            self._start_normal(now)

    def _command(self, command: int, now: float) -> None:
        if command == r.CMD_SOFT_RESET:
            self._reset(now)
        elif command == r.CMD_FIFO_FLUSH:
            self._regs[r.REG_FIFO_LENGTH : r.REG_FIFO_LENGTH + 2] = b"\x00\x00"
        elif command not in (r.CMD_NOP, r.CMD_EXTMODE_EN_MIDDLE):
            self._regs[r.REG_ERR] |= r.ERR_CMD

    # --- power modes and timing ---

    def _mode_code(self) -> int:
        return (self._regs[r.REG_PWR_CTRL] & r.PWR_CTRL_MODE_MASK) >> r.PWR_CTRL_MODE_SHIFT

    def _set_sleep(self) -> None:
        self._regs[r.REG_PWR_CTRL] &= ~r.PWR_CTRL_MODE_MASK

    def _mode_changed(self, now: float) -> None:
        mode = self._mode_code()
        if mode == r.MODE_NORMAL:  # (re)start: the enables may have changed the timing
            self._forced_due_s = None
            self._start_normal(now)
            return
        self._normal_first_s = None
        if mode == r.MODE_SLEEP:
            self._forced_due_s = None
        elif self._forced_due_s is None:
            self._forced_due_s = now + self._measurement_time_s()

    def _start_normal(self, now: float) -> None:
        measurement_s = self._measurement_time_s()
        period_s = r.odr_period_s(min(self._regs[r.REG_ODR] & r.ODR_SEL_MASK, r.ODR_CODE_MAX))
        if measurement_s >= period_s:  # datasheet 3.9.2; Bosch validate_osr_and_odr_settings
            self._regs[r.REG_ERR] |= r.ERR_CONF
            self._set_sleep()
            self._normal_first_s = None
            return
        self._normal_first_s = now + measurement_s
        self._normal_period_s = period_s
        self._normal_done = 0

    def _measurement_time_s(self) -> float:
        osr = self._regs[r.REG_OSR]
        power = self._regs[r.REG_PWR_CTRL]
        return measurement_time_s(
            r.oversampling_from_code(osr & r.OSR_PRESSURE_MASK),
            r.oversampling_from_code((osr & r.OSR_TEMPERATURE_MASK) >> r.OSR_TEMPERATURE_SHIFT),
            pressure_enabled=bool(power & r.PWR_CTRL_PRESS_EN),
            temperature_enabled=bool(power & r.PWR_CTRL_TEMP_EN),
        )

    def _iir_coefficient(self) -> int:
        code = (self._regs[r.REG_CONFIG] & r.CONFIG_IIR_MASK) >> r.CONFIG_IIR_SHIFT
        return r.iir_coefficient_from_code(code)

    def _advance(self, now: float) -> None:
        """Run the conversions that finished by `now`."""
        t = now + _TIME_EPSILON_S
        if self._forced_due_s is not None and t >= self._forced_due_s:
            self._convert(self._forced_due_s)
            self._forced_due_s = None
            self._set_sleep()
        if self._normal_first_s is None or t < self._normal_first_s:
            return
        total = int((t - self._normal_first_s) // self._normal_period_s) + 1
        pending = total - self._normal_done
        if pending <= 0:
            return
        # Only the last conversions still matter to the IIR output: (c/(c+1))^(7(c+1)) < 0.1 %.
        c = self._iir_coefficient()
        steps = min(pending, 1 if c == 0 else 7 * (c + 1))
        if steps < pending:
            self._filtered = {"pressure": None, "temperature": None}
        for k in range(total - steps, total):
            self._convert(self._normal_first_s + k * self._normal_period_s)
        self._normal_done = total

    # --- one conversion ---

    def _convert(self, t_s: float) -> None:
        pressure_pa, temperature_c = self._conditions(t_s)
        pressure_pa += self._pending_spike_pa
        self._pending_spike_pa = 0.0
        osr_p = r.oversampling_from_code(self._regs[r.REG_OSR] & r.OSR_PRESSURE_MASK)
        # Both draws every conversion, noise or not, frozen or not: the sequence of a
        # seeded chip does not depend on what happened to it.
        pressure_noise = self._rng.gauss(0.0, self._white_noise_rms_pa(osr_p))
        temperature_noise = self._rng.gauss(0.0, TEMPERATURE_NOISE_C)
        if self._frozen:
            self._regs[r.REG_STATUS] |= r.STATUS_DRDY_PRESS | r.STATUS_DRDY_TEMP
            self._regs[r.REG_INT_STATUS] |= r.INT_STATUS_DRDY
            return
        if self._noise:
            pressure_pa += pressure_noise
            temperature_c += temperature_noise
        try:
            raw_t = raw_temperature_for(temperature_c, self._calibration)
            raw_p = raw_pressure_for(pressure_pa, temperature_c, self._calibration)
        except (ValueError, ZeroDivisionError, OverflowError):
            raw_t = raw_p = 0.0  # a calibration that cannot produce these conditions
        regs = self._regs
        power = regs[r.REG_PWR_CTRL]
        status = 0
        c = self._iir_coefficient()
        if power & r.PWR_CTRL_PRESS_EN:
            pressure_out = self._filter("pressure", raw_p, c)
            status |= r.STATUS_DRDY_PRESS
        else:
            pressure_out = r.SKIPPED_SAMPLE
        if power & r.PWR_CTRL_TEMP_EN:
            temperature_out = self._filter("temperature", raw_t, c)
            status |= r.STATUS_DRDY_TEMP
        else:
            temperature_out = r.SKIPPED_SAMPLE
        # DATA_0..DATA_5: pressure then temperature, 24 bits each, little-endian.
        regs[r.REG_DATA : r.REG_DATA + r.DATA_LENGTH] = (
            pressure_out | temperature_out << 24
        ).to_bytes(r.DATA_LENGTH, "little")
        regs[r.REG_STATUS] |= status
        regs[r.REG_INT_STATUS] |= r.INT_STATUS_DRDY

    def _white_noise_rms_pa(self, oversampling: int) -> float:
        if self._white_noise_pa is not None:
            return self._white_noise_pa
        return self._variant.pressure_noise_pa[oversampling] * self._white_noise_scale

    def _filter(self, channel: str, raw: float, c: int) -> int:
        """The IIR output for a new raw value, as the 24-bit count the DATA registers hold."""
        previous = self._filtered[channel]
        value = raw if previous is None else (previous * c + raw) / (c + 1)
        self._filtered[channel] = value
        return min(max(round(value), 0), _RAW_MAX)

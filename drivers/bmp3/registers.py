"""BMP388/BMP390 register map and bit fields (datasheet section 4 "Global memory map").

Addresses and masks as Bosch's BMP3_SensorAPI (`bmp3_defs.h`) and Linux
(`drivers/iio/pressure/bmp280.h`, BMP380_*) name them. Only data lives here.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# --- Register addresses (datasheet 4.2 "Memory map") ---
REG_CHIP_ID: Final = 0x00
REG_REV_ID: Final = 0x01
REG_ERR: Final = 0x02
REG_STATUS: Final = 0x03
REG_DATA: Final = 0x04  # DATA_0..DATA_5: pressure XLSB/LSB/MSB, temperature XLSB/LSB/MSB
REG_PRESSURE_DATA: Final = 0x04
REG_TEMPERATURE_DATA: Final = 0x07
DATA_LENGTH: Final = 6
REG_SENSORTIME: Final = 0x0C  # SENSORTIME_0..2 (0x0C..0x0E)
REG_EVENT: Final = 0x10
REG_INT_STATUS: Final = 0x11
REG_FIFO_LENGTH: Final = 0x12  # 0x12..0x13
REG_FIFO_DATA: Final = 0x14
REG_FIFO_WTM: Final = 0x15  # 0x15..0x16
REG_FIFO_CONFIG_1: Final = 0x17  # Bosch numbering; the Linux header swaps 0x17/0x18
REG_FIFO_CONFIG_2: Final = 0x18
REG_INT_CTRL: Final = 0x19
REG_IF_CONF: Final = 0x1A
REG_PWR_CTRL: Final = 0x1B
REG_OSR: Final = 0x1C
REG_ODR: Final = 0x1D
REG_CONFIG: Final = 0x1F
REG_NVM: Final = 0x31  # NVM_PAR_T1 .. NVM_PAR_P11, 21 bytes (0x31..0x45)
NVM_LENGTH: Final = 21
REG_CMD: Final = 0x7E
REGISTER_FILE_SIZE: Final = 0x80

# Registers the host may write (Linux bmp380_is_writeable_reg); all others are read-only.
WRITABLE_REGISTERS: Final = frozenset(
    {
        REG_FIFO_WTM,
        REG_FIFO_WTM + 1,
        REG_FIFO_CONFIG_1,
        REG_FIFO_CONFIG_2,
        REG_INT_CTRL,
        REG_IF_CONF,
        REG_PWR_CTRL,
        REG_OSR,
        REG_ODR,
        REG_CONFIG,
        REG_CMD,
    }
)

# --- ERR_REG 0x02 (datasheet 4.3.3): cmd_err and conf_err clear on read ---
ERR_FATAL: Final = 0x01
ERR_CMD: Final = 0x02
ERR_CONF: Final = 0x04  # only evaluated in normal mode

# --- STATUS 0x03 (datasheet 4.3.4) ---
STATUS_CMD_RDY: Final = 0x10
STATUS_DRDY_PRESS: Final = 0x20  # cleared when a pressure DATA register is read
STATUS_DRDY_TEMP: Final = 0x40  # cleared when a temperature DATA register is read

# --- EVENT 0x10 (datasheet 4.3.7): set after power-up or soft reset, clear on read ---
EVENT_POR_DETECTED: Final = 0x01

# --- INT_STATUS 0x11 (datasheet 4.3.8): clear on read ---
INT_STATUS_FWM: Final = 0x01
INT_STATUS_FFULL: Final = 0x02
INT_STATUS_DRDY: Final = 0x08

# --- PWR_CTRL 0x1B (datasheet 4.3.17) ---
PWR_CTRL_PRESS_EN: Final = 0x01
PWR_CTRL_TEMP_EN: Final = 0x02
PWR_CTRL_MODE_MASK: Final = 0x30
PWR_CTRL_MODE_SHIFT: Final = 4
MODE_SLEEP: Final = 0b00
MODE_FORCED: Final = 0b01  # 0b10 is forced mode as well
MODE_FORCED_ALT: Final = 0b10
MODE_NORMAL: Final = 0b11

# --- OSR 0x1C (datasheet 4.3.18): b2:0 osr_p, b5:3 osr_t ---
OSR_PRESSURE_MASK: Final = 0x07
OSR_TEMPERATURE_SHIFT: Final = 3
OSR_TEMPERATURE_MASK: Final = 0x38
# Oversampling factor -> register code (x1 .. x32 -> 0 .. 5).
OSR_CODES: Final = MappingProxyType({1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5})

# --- ODR 0x1D (datasheet 4.3.19): odr_sel b4:0, period = 5 ms * 2^code ---
ODR_SEL_MASK: Final = 0x1F
ODR_CODE_MAX: Final = 0x11  # 655.36 s; codes above are reserved
ODR_BASE_PERIOD_S: Final = 0.005  # odr_sel 0x00 = 200 Hz

# --- CONFIG 0x1F (datasheet 4.3.20): iir_filter b3:1 ---
CONFIG_IIR_SHIFT: Final = 1
CONFIG_IIR_MASK: Final = 0x0E
# IIR filter coefficient -> register code (off, 1, 3, ... 127 -> 0 .. 7).
IIR_CODES: Final = MappingProxyType({0: 0, 1: 1, 3: 2, 7: 3, 15: 4, 31: 5, 63: 6, 127: 7})

# --- CMD 0x7E (datasheet 4.3.21) ---
CMD_NOP: Final = 0x00
CMD_EXTMODE_EN_MIDDLE: Final = 0x34
CMD_FIFO_FLUSH: Final = 0xB0
CMD_SOFT_RESET: Final = 0xB6

# A DATA value of 0x800000 means the channel was skipped (disabled or not measured).
SKIPPED_SAMPLE: Final = 0x800000


def odr_period_s(odr_code: int) -> float:
    """Sampling period of an odr_sel code (datasheet 4.3.19): 5 ms * 2^code."""
    if not 0 <= odr_code <= ODR_CODE_MAX:
        raise ValueError(f"ODR code {odr_code} out of 0..{ODR_CODE_MAX}")
    return ODR_BASE_PERIOD_S * (1 << odr_code)


def oversampling_from_code(code: int) -> int:
    """Oversampling factor (1..32) of an OSR register code (0..5)."""
    return 1 << min(code, 5)


def iir_coefficient_from_code(code: int) -> int:
    """IIR coefficient (0, 1, 3, ... 127) of a CONFIG iir_filter code (0..7)."""
    return (1 << code) - 1

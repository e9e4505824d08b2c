"""Bosch BMP388 / BMP390 barometric pressure sensors over I2C."""

from .calibration import Bmp3Calibration, Bmp3RawCalibration, parse_nvm, scale_calibration
from .compensation import (
    compensate_pressure_pa,
    compensate_temperature_c,
    measurement_time_s,
    odr_code_for_rate,
)
from .device import Bmp3Mode, Bmp3Sensor, Bmp3Settings
from .variants import BMP388, BMP390, VARIANTS, Bmp3Variant, variant_by_name, variant_for_chip_id

__all__ = [
    "BMP388",
    "BMP390",
    "VARIANTS",
    "Bmp3Calibration",
    "Bmp3Mode",
    "Bmp3RawCalibration",
    "Bmp3Sensor",
    "Bmp3Settings",
    "Bmp3Variant",
    "compensate_pressure_pa",
    "compensate_temperature_c",
    "measurement_time_s",
    "odr_code_for_rate",
    "parse_nvm",
    "scale_calibration",
    "variant_by_name",
    "variant_for_chip_id",
]

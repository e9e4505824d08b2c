"""TE MS5611 / MS5607 barometric pressure sensors over I2C."""

from .commands import (
    CONVERSION_TIME_MAX_S,
    OVERSAMPLING_RATIOS,
    RESET_RELOAD_TIME_S,
    Channel,
    conversion_time_s,
    convert_command,
    prom_read_command,
)
from .compensation import (
    CompensationTerms,
    compensate,
    compensate_pressure,
    compensate_temperature,
)
from .device import TIMING_MARGIN, Ms5611Sensor, Ms5611Settings
from .prom import Ms5611Prom, crc4, parse_prom, prom_with_crc
from .variants import MS5607, MS5611, VARIANTS, Ms5611Variant, variant_by_name

__all__ = [
    "CONVERSION_TIME_MAX_S",
    "MS5607",
    "MS5611",
    "OVERSAMPLING_RATIOS",
    "RESET_RELOAD_TIME_S",
    "TIMING_MARGIN",
    "VARIANTS",
    "Channel",
    "CompensationTerms",
    "Ms5611Prom",
    "Ms5611Sensor",
    "Ms5611Settings",
    "Ms5611Variant",
    "compensate",
    "compensate_pressure",
    "compensate_temperature",
    "conversion_time_s",
    "convert_command",
    "crc4",
    "parse_prom",
    "prom_read_command",
    "prom_with_crc",
    "variant_by_name",
]

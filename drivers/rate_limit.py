"""The fastest a sensor can be read with given settings, and why.

A driver computes its limit from its own timing tables (a BMP3's measurement
time and ODR periods, an MS56xx's conversion times, an instrument's reply
time); the driver's settings class and the configuration both refuse a rate
above it with the same words (drivers/catalog.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    fastest_hz: float
    reason: str  # why, with the datasheet section, ending in the limit itself

    def refusal(self, rate_hz: float, settings: Mapping[str, object]) -> str | None:
        """Why `rate_hz` is too fast with `settings` (the values the limit depends on,
        by the names the caller knows them by), or None when it is not."""
        if rate_hz <= self.fastest_hz:
            return None
        if not settings:  # a fixed limit: no setting to change
            return f"is polled at {self.fastest_hz:g} Hz at most, not {rate_hz:g} Hz"
        shown = ", ".join(f"{key} = {_toml(value)}" for key, value in settings.items())
        return f"cannot sample at {rate_hz:g} Hz with {shown}: {self.reason}"


def _toml(value: object) -> str:
    """A value as the configuration file spells it."""
    return f'"{value}"' if isinstance(value, str) else str(value)

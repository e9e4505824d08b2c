"""Alarm levels and the hysteresis between them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class LevelPolicy:
    """When a fall rate raises or releases a level.

    A level is entered when the pressure falls faster than its threshold AND
    the fall is `significance_sigma` standard errors away from zero. It is
    held until the fall rate drops below `release_fraction` of the threshold
    (or its significance below `release_fraction` of sigma), so an estimate
    hovering at a threshold does not flap.
    """

    warning_pa_per_s: float
    critical_pa_per_s: float
    significance_sigma: float
    release_fraction: float

    def next_level(
        self,
        current: Level,
        fall_pa_per_s: float,
        stderr_pa_per_s: float,
        sigma: float | None = None,
    ) -> Level:
        """The level one estimate implies: entered, or held from `current`."""
        entered = self.entered_level(fall_pa_per_s, stderr_pa_per_s, sigma)
        held = self.held_level(current, fall_pa_per_s, stderr_pa_per_s, sigma)
        return entered if entered.rank >= held.rank else held

    def entered_level(
        self, fall_pa_per_s: float, stderr_pa_per_s: float, sigma: float | None = None
    ) -> Level:
        """The highest level whose threshold and significance this estimate passes.

        `sigma` overrides `significance_sigma` (a window of a bank has its own,
        from the false-alarm budget).
        """
        z, required = self._significance(fall_pa_per_s, stderr_pa_per_s, sigma)
        level = Level.OK
        for candidate in (Level.WARNING, Level.CRITICAL):
            if fall_pa_per_s >= self.threshold_of(candidate) and z >= required:
                level = candidate
        return level

    def held_level(
        self,
        current: Level,
        fall_pa_per_s: float,
        stderr_pa_per_s: float,
        sigma: float | None = None,
    ) -> Level:
        """The highest level at or below `current` that this estimate still holds."""
        z, required = self._significance(fall_pa_per_s, stderr_pa_per_s, sigma)
        level = Level.OK
        for candidate in (Level.WARNING, Level.CRITICAL):
            if (
                current.rank >= candidate.rank
                and fall_pa_per_s >= self.release_fraction * self.threshold_of(candidate)
                and z >= self.release_fraction * required
            ):
                level = candidate
        return level

    def _significance(
        self, fall_pa_per_s: float, stderr_pa_per_s: float, sigma: float | None
    ) -> tuple[float, float]:
        """(z of this estimate, the z a level asks for: `sigma` or `significance_sigma`)."""
        required = self.significance_sigma if sigma is None else sigma
        z = fall_pa_per_s / stderr_pa_per_s if stderr_pa_per_s > 0 else 0.0
        return z, required

    def threshold_of(self, level: Level) -> float:
        if level is Level.CRITICAL:
            return self.critical_pa_per_s
        return self.warning_pa_per_s

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

    def next_level(self, current: Level, fall_pa_per_s: float, stderr_pa_per_s: float) -> Level:
        z = fall_pa_per_s / stderr_pa_per_s if stderr_pa_per_s > 0 else 0.0
        level = Level.OK
        for candidate, threshold in (
            (Level.WARNING, self.warning_pa_per_s),
            (Level.CRITICAL, self.critical_pa_per_s),
        ):
            enters = fall_pa_per_s >= threshold and z >= self.significance_sigma
            holds = (
                current.rank >= candidate.rank
                and fall_pa_per_s >= self.release_fraction * threshold
                and z >= self.release_fraction * self.significance_sigma
            )
            if enters or holds:
                level = candidate
        return level

    def threshold_of(self, level: Level) -> float:
        if level is Level.CRITICAL:
            return self.critical_pa_per_s
        return self.warning_pa_per_s

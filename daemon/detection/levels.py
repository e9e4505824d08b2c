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
_LEVELS = (Level.OK, Level.WARNING, Level.CRITICAL)  # by rank


def level_of_rank(rank: int) -> Level:
    return _LEVELS[rank]


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

    def entered_rank(self, fall_pa_per_s: float, significant: bool) -> int:
        """The rank of the highest level this fall enters (0: none), given whether it
        passed the significance its test asks for."""
        if not significant or fall_pa_per_s < self.warning_pa_per_s:
            return 0
        return 2 if fall_pa_per_s >= self.critical_pa_per_s else 1

    def held_rank(self, current_rank: int, fall_pa_per_s: float, significant: bool) -> int:
        """The rank of the highest level at or below `current_rank` this fall still
        holds, given whether it passed `release_fraction` of the significance."""
        if not significant:
            return 0
        release = self.release_fraction
        rank = 0
        if current_rank >= 1 and fall_pa_per_s >= release * self.warning_pa_per_s:
            rank = 1
        if current_rank >= 2 and fall_pa_per_s >= release * self.critical_pa_per_s:
            rank = 2
        return rank

    def next_level(
        self,
        current: Level,
        fall_pa_per_s: float,
        stderr_pa_per_s: float,
        sigma: float | None = None,
    ) -> Level:
        """The level one estimate implies: entered, or held from `current`.

        `sigma` overrides `significance_sigma` (a window of a bank has its own,
        from the false-alarm budget).
        """
        required = self.significance_sigma if sigma is None else sigma
        z = fall_pa_per_s / stderr_pa_per_s if stderr_pa_per_s > 0 else 0.0
        entered = self.entered_rank(fall_pa_per_s, z >= required)
        held = self.held_rank(current.rank, fall_pa_per_s, z >= self.release_fraction * required)
        return _LEVELS[max(entered, held)]

    def threshold_of(self, level: Level) -> float:
        if level is Level.CRITICAL:
            return self.critical_pa_per_s
        return self.warning_pa_per_s

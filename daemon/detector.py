"""Per-zone leak detector: temperature-compensated dP/dt, its uncertainty, and a level.

Pure: samples arrive with their (monotonic) time; nothing here reads a clock
or does I/O, so the same code runs on a Pi and in accelerated simulation.

A sealed chamber whose gas warms by 0.1 K gains ~35 Pa at 1 atm, which at a
92-minute cycle looks like ±0.1 Pa/s: far more than a small leak. So the fit
is not on P but on the gas-law quantity P·T_ref/T, which for a sealed volume
is constant whatever the temperature does (P/T ∝ the mass of gas). Its slope,
scaled back by T/T_ref, is the pressure change a constant temperature would
show: the leak.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from .levels import Level, LevelPolicy
from .linear_fit import LineFit, SlidingLineFit
from .physics import (
    KELVIN_AT_0_C,
    R_AIR_J_PER_KG_K,
    hole_diameter_m,
    pv_flow_to_sccm,
    reserve_time_s,
)


@dataclass(frozen=True, slots=True)
class ZoneParameters:
    zone_id: str
    volume_m3: float
    floor_pa: float
    window_s: float
    min_window_fill: float
    discharge_coefficient: float
    ambient_pressure_pa: float
    reference_temperature_k: float
    policy: LevelPolicy


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the zone looks like now: estimates, their uncertainty and the level."""

    zone_id: str
    level: Level
    previous_level: Level
    reason: str
    pressure_pa: float
    temperature_c: float
    dpdt_pa_per_s: float
    dpdt_stderr_pa_per_s: float
    leak_rate_pa_m3_per_s: float
    leak_rate_stderr_pa_m3_per_s: float
    leak_rate_sccm: float
    hole_diameter_mm: float | None
    reserve_time_s: float | None
    sensors_used: tuple[str, ...]
    sensors_suspect: tuple[str, ...]  # whose rate disagrees with the zone's other sensors
    window_fill: float

    @property
    def level_changed(self) -> bool:
        return self.level is not self.previous_level


@dataclass
class _SensorTrack:
    fit: SlidingLineFit
    pressure_pa: float = 0.0
    temperature_c: float = 0.0


_Fit = tuple[str, _SensorTrack, LineFit]


class ZoneDetector:
    """One zone: a sliding fit per sensor, combined by inverse variance."""

    def __init__(self, parameters: ZoneParameters) -> None:
        self.parameters = parameters
        self.level = Level.OK
        self._tracks: dict[str, _SensorTrack] = {}

    def add_sample(
        self, sensor_id: str, t_s: float, pressure_pa: float, temperature_c: float
    ) -> None:
        track = self._tracks.get(sensor_id)
        if track is None:
            track = _SensorTrack(SlidingLineFit(self.parameters.window_s))
            self._tracks[sensor_id] = track
        temperature_k = temperature_c + KELVIN_AT_0_C
        normalised_pa = pressure_pa * self.parameters.reference_temperature_k / temperature_k
        track.fit.add(t_s, normalised_pa)
        track.pressure_pa = pressure_pa
        track.temperature_c = temperature_c

    def forget_sensor(self, sensor_id: str) -> None:
        """Drop a sensor's window (after a fault its old samples no longer join the new ones)."""
        self._tracks.pop(sensor_id, None)

    def assess(self) -> Assessment | None:
        """Estimate and update the level; None until some sensor has three samples."""
        p = self.parameters
        fits = []
        for sensor_id, track in self._tracks.items():
            fit = track.fit.fit()
            if fit is not None and fit.slope_stderr > 0:
                fits.append((sensor_id, track, fit))
        if not fits:
            return None
        fits, suspect = self._vote(fits)
        weights = [1.0 / fit.slope_stderr**2 for _, _, fit in fits]
        total_weight = sum(weights)
        slope = sum(w * fit.slope for w, (_, _, fit) in zip(weights, fits, strict=True))
        slope /= total_weight
        slope_stderr = total_weight**-0.5
        pressure_pa = sum(track.pressure_pa for _, track, _ in fits) / len(fits)
        temperature_c = sum(track.temperature_c for _, track, _ in fits) / len(fits)
        temperature_k = temperature_c + KELVIN_AT_0_C
        # Back from the reference temperature to the gas's own: the leak's dP/dt.
        scale = temperature_k / p.reference_temperature_k
        dpdt = slope * scale
        dpdt_stderr = slope_stderr * scale
        window_fill = min(1.0, max(fit.span_s for _, _, fit in fits) / p.window_s)

        previous = self.level
        fall = -dpdt
        if window_fill >= p.min_window_fill:
            self.level = p.policy.next_level(previous, fall, dpdt_stderr)
        reason = self._reason(previous, fall, dpdt_stderr, window_fill)
        if suspect:
            reason += f"; sensors disagree, suspect: {', '.join(suspect)}"

        leak_pv = max(fall, 0.0) * p.volume_m3
        diameter_m = hole_diameter_m(
            mass_flow_kg_per_s=leak_pv / (R_AIR_J_PER_KG_K * temperature_k),
            upstream_pa=pressure_pa,
            downstream_pa=p.ambient_pressure_pa,
            temperature_k=temperature_k,
            discharge_coefficient=p.discharge_coefficient,
        )
        return Assessment(
            zone_id=p.zone_id,
            level=self.level,
            previous_level=previous,
            reason=reason,
            pressure_pa=pressure_pa,
            temperature_c=temperature_c,
            dpdt_pa_per_s=dpdt,
            dpdt_stderr_pa_per_s=dpdt_stderr,
            leak_rate_pa_m3_per_s=leak_pv,
            leak_rate_stderr_pa_m3_per_s=dpdt_stderr * p.volume_m3,
            leak_rate_sccm=pv_flow_to_sccm(leak_pv, temperature_k),
            hole_diameter_mm=None if diameter_m is None or leak_pv == 0 else diameter_m * 1e3,
            reserve_time_s=reserve_time_s(
                pressure_pa=pressure_pa, dpdt_pa_per_s=dpdt, floor_pa=p.floor_pa
            ),
            sensors_used=tuple(sensor_id for sensor_id, _, _ in fits),
            sensors_suspect=suspect,
            window_fill=window_fill,
        )

    def _vote(self, fits: list[_Fit]) -> tuple[list[_Fit], tuple[str, ...]]:
        """Set aside sensors whose rate disagrees with the others (a drifting sensor).

        A leak moves every sensor in a zone alike; a sensor drifting on its own
        does not. Two rates disagree when they differ by more than
        `significance_sigma` combined standard errors and by more than half the
        warning rate. With three or more sensors the ones far from the median
        are set aside. Two that disagree cannot out-vote each other: the zone is
        judged by the one falling more slowly, so a drift alone never raises a
        level, and both are named as suspect.
        """
        if len(fits) < 2:
            return fits, ()
        sigma = self.parameters.policy.significance_sigma
        tolerance = self.parameters.policy.warning_pa_per_s / 2.0

        def disagree(difference: float, stderr: float) -> bool:
            return abs(difference) > max(sigma * stderr, tolerance)

        if len(fits) >= 3:
            median = statistics.median(fit.slope for _, _, fit in fits)
            suspect = [f for f in fits if disagree(f[2].slope - median, f[2].slope_stderr)]
            kept = [f for f in fits if f not in suspect]
            if not kept:
                return fits, ()
            return kept, tuple(sensor_id for sensor_id, _, _ in suspect)
        first, second = fits
        combined = math.hypot(first[2].slope_stderr, second[2].slope_stderr)
        if not disagree(first[2].slope - second[2].slope, combined):
            return fits, ()
        slower = first if first[2].slope > second[2].slope else second
        return [slower], (first[0], second[0])

    def _reason(self, previous: Level, fall: float, stderr: float, window_fill: float) -> str:
        policy = self.parameters.policy
        sigma = fall / stderr if stderr > 0 else 0.0
        direction = "falling" if fall > 0 else "rising"
        measured = f"pressure {direction} {abs(fall):.4g} ± {stderr:.2g} Pa/s ({sigma:.1f} σ)"
        if window_fill < self.parameters.min_window_fill:
            return f"{measured}; window {window_fill:.0%} full, not yet judged"
        if self.level.rank > previous.rank:
            threshold = policy.threshold_of(self.level)
            return f"{measured}: above the {self.level} threshold {threshold:g} Pa/s"
        if self.level.rank < previous.rank:
            released = policy.threshold_of(previous) * policy.release_fraction
            return f"{measured}: below the {previous} release rate {released:g} Pa/s"
        return measured

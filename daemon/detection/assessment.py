"""What a zone looks like now, and the physics that turns its dP/dt into it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .levels import Level
from .physics import (
    KELVIN_AT_0_C,
    R_AIR_J_PER_KG_K,
    SECONDS_PER_DAY,
    hole_diameter_m,
    pv_flow_to_sccm,
    reserve_time_s,
)
from .zone_parameters import ZoneParameters


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
    leak_rate_stderr_sccm: float = 0.0
    leak_rate_kg_per_day: float = 0.0
    leak_rate_stderr_kg_per_day: float = 0.0
    hole_diameter_stderr_mm: float | None = None
    reserve_time_stderr_s: float | None = None
    estimate_window_s: float = 0.0  # the window the estimates come from
    significance_sigma: float = 0.0  # the z the level was judged against (that window's)

    @property
    def level_changed(self) -> bool:
        return self.level is not self.previous_level


@dataclass(frozen=True, slots=True)
class Judgement:
    """The detector's verdict and the window the figures come from."""

    level: Level
    previous_level: Level
    reason: str
    window_s: float
    significance_sigma: float
    sensors_used: tuple[str, ...]
    sensors_suspect: tuple[str, ...]
    window_fill: float


def assessment_from_rate(
    parameters: ZoneParameters,
    judgement: Judgement,
    *,
    pressure_pa: float,
    temperature_c: float,
    dpdt: float,
    dpdt_stderr: float,
) -> Assessment:
    """Leak rate, hole and reserve, each with its standard error, from dP/dt ± σ."""
    p = parameters
    temperature_k = temperature_c + KELVIN_AT_0_C
    fall = -dpdt
    leak_pv = max(fall, 0.0) * p.volume_m3
    leak_pv_stderr = dpdt_stderr * p.volume_m3
    diameter_m = hole_diameter_m(
        mass_flow_kg_per_s=leak_pv / (R_AIR_J_PER_KG_K * temperature_k),
        upstream_pa=pressure_pa,
        downstream_pa=p.ambient_pressure_pa,
        temperature_k=temperature_k,
        discharge_coefficient=p.discharge_coefficient,
    )
    hole_mm = None if diameter_m is None or leak_pv == 0 else diameter_m * 1e3
    # The area is proportional to the flow, the diameter to its square root:
    # σ_d/d = σ_Q/(2·Q). Reserve time τ·ln(P/P_floor), τ = P/|dP/dt|: σ_t/t = σ_r/r.
    relative = dpdt_stderr / fall if fall > 0 else math.inf
    reserve_s = reserve_time_s(pressure_pa=pressure_pa, dpdt_pa_per_s=dpdt, floor_pa=p.floor_pa)
    kg_per_day = SECONDS_PER_DAY / (R_AIR_J_PER_KG_K * temperature_k)
    j = judgement
    return Assessment(
        zone_id=p.zone_id,
        level=j.level,
        previous_level=j.previous_level,
        reason=j.reason,
        pressure_pa=pressure_pa,
        temperature_c=temperature_c,
        dpdt_pa_per_s=dpdt,
        dpdt_stderr_pa_per_s=dpdt_stderr,
        leak_rate_pa_m3_per_s=leak_pv,
        leak_rate_stderr_pa_m3_per_s=leak_pv_stderr,
        leak_rate_sccm=pv_flow_to_sccm(leak_pv, temperature_k),
        hole_diameter_mm=hole_mm,
        reserve_time_s=reserve_s,
        sensors_used=j.sensors_used,
        sensors_suspect=j.sensors_suspect,
        window_fill=j.window_fill,
        leak_rate_stderr_sccm=pv_flow_to_sccm(leak_pv_stderr, temperature_k),
        leak_rate_kg_per_day=leak_pv * kg_per_day,
        leak_rate_stderr_kg_per_day=leak_pv_stderr * kg_per_day,
        hole_diameter_stderr_mm=None if hole_mm is None else hole_mm * relative / 2.0,
        reserve_time_stderr_s=(
            None if reserve_s is None or not math.isfinite(relative) else reserve_s * relative
        ),
        estimate_window_s=j.window_s,
        significance_sigma=j.significance_sigma,
    )

"""Gas physics the detector reports with: orifice flow, leak-rate units, reserve time.

Pure functions, SI units. The simulator (hullwatch.hil) uses the same orifice
law to make its chamber leak, so the hole size the daemon estimates and the
hole the simulator opened are measured with one ruler.
"""

from __future__ import annotations

import math

GAMMA_AIR = 1.4
R_AIR_J_PER_KG_K = 287.05  # specific gas constant of dry air
STANDARD_PRESSURE_PA = 101_325.0
KELVIN_AT_0_C = 273.15
STANDARD_TEMPERATURE_K = KELVIN_AT_0_C
SECONDS_PER_DAY = 86_400.0
# One standard cubic centimetre per minute as a pV flow at standard conditions.
SCCM_PA_M3_PER_S = STANDARD_PRESSURE_PA * 1e-6 / 60.0


def critical_pressure_ratio(gamma: float = GAMMA_AIR) -> float:
    """Downstream/upstream ratio below which the flow is choked (0.528 for air)."""
    return float((2.0 / (gamma + 1.0)) ** (gamma / (gamma - 1.0)))


def orifice_mass_flow_kg_per_s(
    *,
    upstream_pa: float,
    downstream_pa: float,
    temperature_k: float,
    area_m2: float,
    discharge_coefficient: float,
    gamma: float = GAMMA_AIR,
    r_specific: float = R_AIR_J_PER_KG_K,
) -> float:
    """Isentropic flow of an ideal gas through a sharp orifice, upstream to downstream.

    Choked (sonic throat) while downstream/upstream is below the critical ratio:
        ṁ = Cd·A·P·√(γ/(R·T))·(2/(γ+1))^((γ+1)/(2(γ−1)))
    otherwise subsonic:
        ṁ = Cd·A·P·√(2γ/((γ−1)·R·T)·(r^(2/γ) − r^((γ+1)/γ))),  r = Pdown/Pup
    Negative when the gas flows the other way.
    """
    if upstream_pa < downstream_pa:
        return -orifice_mass_flow_kg_per_s(
            upstream_pa=downstream_pa,
            downstream_pa=upstream_pa,
            temperature_k=temperature_k,
            area_m2=area_m2,
            discharge_coefficient=discharge_coefficient,
            gamma=gamma,
            r_specific=r_specific,
        )
    if upstream_pa <= 0.0 or area_m2 <= 0.0:
        return 0.0
    ratio = downstream_pa / upstream_pa
    scale = discharge_coefficient * area_m2 * upstream_pa
    if ratio <= critical_pressure_ratio(gamma):
        choke: float = (2.0 / (gamma + 1.0)) ** ((gamma + 1.0) / (2.0 * (gamma - 1.0)))
        return scale * math.sqrt(gamma / (r_specific * temperature_k)) * choke
    flow_function = ratio ** (2.0 / gamma) - ratio ** ((gamma + 1.0) / gamma)
    return scale * math.sqrt(
        2.0 * gamma / ((gamma - 1.0) * r_specific * temperature_k) * max(flow_function, 0.0)
    )


def hole_diameter_m(
    *,
    mass_flow_kg_per_s: float,
    upstream_pa: float,
    downstream_pa: float,
    temperature_k: float,
    discharge_coefficient: float,
) -> float | None:
    """The round hole that passes `mass_flow_kg_per_s` (the orifice law, inverted).

    The flow is proportional to the area, so the area is the flow over the flow
    of a unit area. None when no outward flow is possible (no pressure difference).
    """
    unit_flow = orifice_mass_flow_kg_per_s(
        upstream_pa=upstream_pa,
        downstream_pa=downstream_pa,
        temperature_k=temperature_k,
        area_m2=1.0,
        discharge_coefficient=discharge_coefficient,
    )
    if unit_flow <= 0.0 or mass_flow_kg_per_s < 0.0:
        return None
    area_m2 = mass_flow_kg_per_s / unit_flow
    return math.sqrt(4.0 * area_m2 / math.pi)


def pv_flow_to_sccm(pv_flow_pa_m3_per_s: float, temperature_k: float) -> float:
    """pV flow at gas temperature T to standard cm³/min (0 °C, 1013.25 hPa)."""
    at_standard_temperature = pv_flow_pa_m3_per_s * STANDARD_TEMPERATURE_K / temperature_k
    return at_standard_temperature / SCCM_PA_M3_PER_S


def reserve_time_s(*, pressure_pa: float, dpdt_pa_per_s: float, floor_pa: float) -> float | None:
    """Time until the pressure reaches `floor_pa` through a fixed hole.

    A fixed hole with choked flow empties the chamber exponentially,
    P(t) = P0·e^(−t/τ) with τ = P/|dP/dt|, so the time to the floor is
    τ·ln(P/P_floor): longer than the straight-line estimate (P−P_floor)/|dP/dt|.
    None when the pressure is not falling.
    """
    if pressure_pa <= floor_pa:
        return 0.0
    if dpdt_pa_per_s >= 0.0:
        return None
    tau_s = pressure_pa / -dpdt_pa_per_s
    return tau_s * math.log(pressure_pa / floor_pa)

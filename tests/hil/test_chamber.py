"""Chamber physics: the gas law, choked and subsonic orifice flow."""

from __future__ import annotations

import math

import pytest

from hullwatch.daemon.physics import (
    R_AIR_J_PER_KG_K,
    critical_pressure_ratio,
    orifice_mass_flow_kg_per_s,
)
from hullwatch.hil.chamber import Chamber, Hole, ThermalProfile

P0_PA = 101_325.0
T0_K = 295.15


def test_critical_ratio_of_air() -> None:
    assert critical_pressure_ratio() == pytest.approx(0.5283, abs=1e-4)


def test_flow_is_continuous_where_it_chokes() -> None:
    ratio = critical_pressure_ratio()
    common = {"upstream_pa": P0_PA, "temperature_k": T0_K, "area_m2": 1e-6}
    choked = orifice_mass_flow_kg_per_s(
        downstream_pa=P0_PA * (ratio - 1e-9), discharge_coefficient=0.62, **common
    )
    subsonic = orifice_mass_flow_kg_per_s(
        downstream_pa=P0_PA * (ratio + 1e-9), discharge_coefficient=0.62, **common
    )
    assert subsonic == pytest.approx(choked, rel=1e-6)
    assert orifice_mass_flow_kg_per_s(
        downstream_pa=P0_PA, discharge_coefficient=0.62, **common
    ) == pytest.approx(0.0, abs=1e-15)


def test_iss_2018_hole_gives_the_reported_rate() -> None:
    """REFERENCE.md: a 2 mm hole in 916 m³ at 101.3 kPa loses ≈ 0.045 Pa/s by choked flow."""
    flow = orifice_mass_flow_kg_per_s(
        upstream_pa=101_300.0,
        downstream_pa=0.0,
        temperature_k=T0_K,
        area_m2=math.pi * 0.002**2 / 4,
        discharge_coefficient=0.65,
    )
    dpdt = -flow * R_AIR_J_PER_KG_K * T0_K / 916.0
    assert -0.05 < dpdt < -0.04


def test_sealed_chamber_follows_its_temperature() -> None:
    thermal = ThermalProfile(base_k=T0_K, cycle_amplitude_k=0.3, cycle_period_s=600.0)
    chamber = Chamber.filled(volume_m3=0.05, pressure_pa=P0_PA, thermal=thermal)
    for t_s in (37.0, 150.0, 451.5, 1200.0):
        chamber.advance_to(t_s)
        assert chamber.pressure_pa == pytest.approx(
            P0_PA * thermal.temperature_k(t_s) / T0_K, rel=1e-12
        )


def test_choked_leak_into_vacuum_decays_exponentially() -> None:
    hole = Hole(diameter_m=3e-4, discharge_coefficient=0.62)
    chamber = Chamber.filled(volume_m3=0.05, pressure_pa=P0_PA, thermal=ThermalProfile(T0_K))
    chamber.holes.append(hole)
    unit = orifice_mass_flow_kg_per_s(
        upstream_pa=1.0,
        downstream_pa=0.0,
        temperature_k=T0_K,
        area_m2=hole.area_m2,
        discharge_coefficient=0.62,
    )
    tau_s = 0.05 / (unit * R_AIR_J_PER_KG_K * T0_K)
    for t_s in (60.0, 600.0, 3000.0):
        chamber.advance_to(t_s)
        assert chamber.pressure_pa == pytest.approx(P0_PA * math.exp(-t_s / tau_s), rel=1e-6)


def test_subsonic_leak_stops_at_the_ambient_pressure() -> None:
    chamber = Chamber.filled(
        volume_m3=0.05,
        pressure_pa=P0_PA,
        thermal=ThermalProfile(T0_K),
        ambient_pressure_pa=0.9 * P0_PA,
    )
    chamber.holes.append(Hole(diameter_m=1e-3, discharge_coefficient=0.62))
    chamber.advance_to(5.0)
    early_rate = chamber.outflow_kg_per_s()
    assert early_rate > 0
    chamber.advance_to(3600.0)
    assert chamber.pressure_pa == pytest.approx(0.9 * P0_PA, rel=1e-3)
    assert chamber.pressure_pa >= 0.9 * P0_PA * (1 - 1e-9)

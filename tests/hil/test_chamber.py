"""Chamber physics from first principles: the gas law, choked and subsonic orifice
flow, the energy balance (adiabatic blow-down, the wall's heat), hatches, valves."""

from __future__ import annotations

import math

import pytest

from hullwatch.daemon.detection.physics import (
    GAMMA_AIR,
    R_AIR_J_PER_KG_K,
    critical_pressure_ratio,
    orifice_mass_flow_kg_per_s,
)
from hullwatch.hil.chamber import (
    CV_AIR_J_PER_KG_K,
    Chamber,
    FirstOrderLag,
    Hatch,
    Hole,
    Network,
    ThermalProfile,
    Valve,
)

P0_PA = 101_325.0
T0_K = 295.15
ADIABATIC_S = 1e12  # a wall time constant no run comes near


def _chamber(
    *,
    volume_m3: float = 0.05,
    pressure_pa: float = P0_PA,
    thermal: ThermalProfile | None = None,
    wall_time_constant_s: float = 10.0,
    ambient_pressure_pa: float = 0.0,
) -> Chamber:
    return Chamber.filled(
        volume_m3=volume_m3,
        pressure_pa=pressure_pa,
        thermal=thermal or ThermalProfile(T0_K),
        ambient_pressure_pa=ambient_pressure_pa,
        wall_time_constant_s=wall_time_constant_s,
    )


def _area_m2(diameter_m: float) -> float:
    return math.pi * diameter_m**2 / 4.0


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
    """A 2 mm hole in 916 m³ at 101.3 kPa loses ≈ 0.045 Pa/s by choked flow
    (docs/datasheets.md, "The leaks hullwatch is named after")."""
    flow = orifice_mass_flow_kg_per_s(
        upstream_pa=101_300.0,
        downstream_pa=0.0,
        temperature_k=T0_K,
        area_m2=math.pi * 0.002**2 / 4,
        discharge_coefficient=0.65,
    )
    dpdt = -flow * R_AIR_J_PER_KG_K * T0_K / 916.0
    assert -0.05 < dpdt < -0.04


# --- a sealed zone ---


def test_sealed_chamber_keeps_its_mass_and_obeys_the_gas_law() -> None:
    thermal = ThermalProfile(base_k=T0_K, drift_k_per_s=1e-3, cycle_amplitude_k=0.3)
    chamber = _chamber(thermal=thermal, wall_time_constant_s=5.0)
    mass_kg = chamber.mass_kg
    for t_s in (0.3, 37.0, 150.0, 451.5, 1200.0):
        chamber.advance_to(t_s)
        assert chamber.mass_kg == mass_kg  # not one bit lost
        assert chamber.pressure_pa == pytest.approx(
            mass_kg * R_AIR_J_PER_KG_K * chamber.temperature_k / 0.05, rel=1e-13
        )
    assert chamber.temperature_k != pytest.approx(T0_K, abs=0.5)  # it did move


def test_sealed_gas_follows_a_cycling_wall_as_a_first_order_lag() -> None:
    """T' = (T_w − T)/τ with T_w = T0 + A·sin ωt, T(0) = T0:
    T − T0 = A/(1 + (ωτ)²)·(sin ωt − ωτ·cos ωt + ωτ·e^(−t/τ))."""
    amplitude_k, period_s, tau_s = 0.3, 600.0, 10.0
    thermal = ThermalProfile(T0_K, cycle_amplitude_k=amplitude_k, cycle_period_s=period_s)
    chamber = _chamber(thermal=thermal, wall_time_constant_s=tau_s)
    wt = 2.0 * math.pi / period_s * tau_s
    for t_s in (5.0, 60.0, 333.0, 1000.0):
        chamber.advance_to(t_s)
        w = 2.0 * math.pi * t_s / period_s
        expected = (
            amplitude_k
            / (1 + wt**2)
            * (math.sin(w) - wt * math.cos(w) + wt * math.exp(-t_s / tau_s))
        )
        assert chamber.temperature_k - T0_K == pytest.approx(expected, abs=1e-9)


def test_isothermal_zone_moves_its_pressure_exactly_with_the_wall() -> None:
    thermal = ThermalProfile(base_k=T0_K, cycle_amplitude_k=0.3, cycle_period_s=600.0)
    chamber = _chamber(thermal=thermal, wall_time_constant_s=0.0)
    for t_s in (37.0, 150.0, 451.5, 1200.0):
        chamber.advance_to(t_s)
        assert chamber.pressure_pa == pytest.approx(
            P0_PA * thermal.temperature_k(t_s) / T0_K, rel=1e-12
        )


def test_a_heater_step_warms_the_gas_through_the_wall_time_constant() -> None:
    chamber = _chamber(wall_time_constant_s=8.0)
    chamber.advance_to(10.0)
    chamber.wall_offset_k += 2.0
    for t_s in (11.0, 18.0, 40.0):
        chamber.advance_to(t_s)
        rise = 2.0 * (1.0 - math.exp(-(t_s - 10.0) / 8.0))
        assert chamber.temperature_k - T0_K == pytest.approx(rise, abs=1e-9)
        assert chamber.pressure_pa == pytest.approx(P0_PA * chamber.temperature_k / T0_K, rel=1e-12)


# --- blow-down ---


def test_choked_isothermal_leak_into_vacuum_decays_exponentially() -> None:
    hole = Hole(diameter_m=3e-4, discharge_coefficient=0.62)
    chamber = _chamber(wall_time_constant_s=0.0)
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


def test_fast_blow_down_with_an_insulating_wall_is_adiabatic() -> None:
    """Gas leaving carries its enthalpy: T/T0 = (P/P0)^((γ−1)/γ)."""
    chamber = _chamber(wall_time_constant_s=ADIABATIC_S)
    chamber.holes.append(Hole(diameter_m=5e-3, discharge_coefficient=0.62))
    for t_s in (1.0, 5.0, 20.0):
        chamber.advance_to(t_s)
        ratio = chamber.pressure_pa / P0_PA
        assert ratio < 0.95
        assert chamber.temperature_k / T0_K == pytest.approx(
            ratio ** ((GAMMA_AIR - 1.0) / GAMMA_AIR), rel=1e-7
        )
    assert chamber.temperature_k < T0_K - 30.0


def test_with_a_quick_wall_a_blow_down_stays_near_isothermal() -> None:
    """Quasi-steady: the wall's heat m·cv·ΔT/τ matches the enthalpy deficit
    (γ − 1)·cv·T·ṁ, so the gas runs ΔT = (γ − 1)·T·τ·ṁ/m below the wall."""
    tau_s = 0.05
    chamber = _chamber(wall_time_constant_s=tau_s)
    chamber.holes.append(Hole(diameter_m=5e-3, discharge_coefficient=0.62))
    chamber.advance_to(5.0)
    deficit_k = (
        (GAMMA_AIR - 1.0)
        * chamber.temperature_k
        * tau_s
        * (chamber.outflow_kg_per_s() / chamber.mass_kg)
    )
    assert 0.05 < deficit_k < 0.5
    assert T0_K - chamber.temperature_k == pytest.approx(deficit_k, rel=0.02)


def test_subsonic_leak_stops_at_the_ambient_pressure() -> None:
    chamber = _chamber(ambient_pressure_pa=0.9 * P0_PA)
    chamber.holes.append(Hole(diameter_m=1e-3, discharge_coefficient=0.62))
    chamber.advance_to(5.0)
    early_rate = chamber.outflow_kg_per_s()
    assert early_rate > 0
    chamber.advance_to(3600.0)
    assert chamber.pressure_pa == pytest.approx(0.9 * P0_PA, rel=1e-9)
    assert chamber.temperature_k == pytest.approx(T0_K, rel=1e-9)


# --- hatches ---


def _two_zones(
    diameter_m: float, *, wall_time_constant_s: float = 10.0
) -> tuple[Chamber, Chamber, Hatch, Network]:
    module = _chamber(volume_m3=0.5, wall_time_constant_s=wall_time_constant_s)
    node = _chamber(volume_m3=0.2, pressure_pa=80_000.0, wall_time_constant_s=wall_time_constant_s)
    hatch = Hatch("h", module, node, _area_m2(diameter_m), 0.62, open=True)
    return module, node, hatch, Network([module, node], [hatch])


def test_an_open_hatch_equalises_two_zones_in_well_under_a_second() -> None:
    module, node, _hatch, network = _two_zones(0.1, wall_time_constant_s=ADIABATIC_S)
    mass_kg = module.mass_kg + node.mass_kg
    energy_j = module.energy_j + node.energy_j
    network.advance_to(0.5)
    assert module.pressure_pa == pytest.approx(node.pressure_pa, abs=0.01)
    # Without the wall, P·V totals (γ − 1)·U: the common pressure is fixed by the energy.
    common_pa = (GAMMA_AIR - 1.0) * energy_j / 0.7
    assert module.pressure_pa == pytest.approx(common_pa, rel=1e-12)
    network.advance_to(30.0)
    assert module.mass_kg + node.mass_kg == pytest.approx(mass_kg, rel=1e-13)
    assert module.energy_j + node.energy_j == pytest.approx(energy_j, rel=1e-13)
    # The node was compressed by the gas rushing in: it is warmer than the module.
    assert node.temperature_k > module.temperature_k + 1.0


def test_the_wall_brings_the_joined_zones_to_one_temperature_and_pressure() -> None:
    module, node, _hatch, network = _two_zones(0.1)
    mass_kg = module.mass_kg + node.mass_kg
    network.advance_to(600.0)
    assert module.mass_kg + node.mass_kg == pytest.approx(mass_kg, rel=1e-13)
    final_pa = mass_kg * R_AIR_J_PER_KG_K * T0_K / 0.7
    assert module.pressure_pa == pytest.approx(final_pa, rel=1e-9)
    assert node.pressure_pa == pytest.approx(final_pa, rel=1e-9)


def test_a_narrow_hatch_equalises_slowly_and_a_closed_one_passes_nothing() -> None:
    module, node, hatch, network = _two_zones(2e-3)
    network.advance_to(5.0)
    difference_pa = module.pressure_pa - node.pressure_pa
    assert 10_000.0 < difference_pa < 21_325.0  # it has started, far from done
    hatch.open = False
    masses = (module.mass_kg, node.mass_kg)
    network.advance_to(300.0)
    assert (module.mass_kg, node.mass_kg) == masses
    hatch.open = True
    network.advance_to(2000.0)
    assert module.pressure_pa == pytest.approx(node.pressure_pa, rel=1e-9)
    assert module.mass_kg + node.mass_kg == pytest.approx(sum(masses), rel=1e-13)


def test_a_leak_drains_both_zones_through_an_open_hatch() -> None:
    module, node, _hatch, network = _two_zones(0.5)
    node.energy_j = module.energy_j * 0.2 / 0.5  # start equal
    node.mass_kg = module.mass_kg * 0.2 / 0.5
    module.holes.append(Hole(1e-3, 0.62))
    network.advance_to(600.0)
    assert node.pressure_pa == pytest.approx(module.pressure_pa, abs=0.05)
    # The two as one 0.7 m³ volume with the module's hole.
    unit = orifice_mass_flow_kg_per_s(
        upstream_pa=1.0,
        downstream_pa=0.0,
        temperature_k=T0_K,
        area_m2=_area_m2(1e-3),
        discharge_coefficient=0.62,
    )
    tau_s = 0.7 / (unit * R_AIR_J_PER_KG_K * T0_K)
    assert module.pressure_pa == pytest.approx(P0_PA * math.exp(-600.0 / tau_s), rel=2e-3)


# --- valves ---


def test_a_refill_valve_fills_to_the_supply_pressure_and_no_further() -> None:
    chamber = _chamber(pressure_pa=60_000.0)
    valve = Valve("fill", chamber, _area_m2(4e-3), 0.62, supply_pressure_pa=P0_PA, open=True)
    network = Network([chamber], valves=[valve])
    network.advance_to(1.0)
    assert 60_000.0 < chamber.pressure_pa < P0_PA
    network.advance_to(900.0)
    assert chamber.pressure_pa == pytest.approx(P0_PA, rel=1e-9)
    valve.open = False
    mass_kg = chamber.mass_kg
    network.advance_to(1000.0)
    assert chamber.mass_kg == mass_kg


def test_a_vent_valve_empties_into_the_ambient() -> None:
    chamber = _chamber(ambient_pressure_pa=20_000.0)
    valve = Valve("vent", chamber, _area_m2(4e-3), 0.62, open=True)
    network = Network([chamber], valves=[valve])
    network.advance_to(2.0)
    assert chamber.pressure_pa < P0_PA - 500.0
    network.advance_to(3600.0)
    assert chamber.pressure_pa == pytest.approx(20_000.0, rel=1e-9)


# --- a sensor's thermal lag ---


def test_thermal_lag_step_response_is_one_minus_exp() -> None:
    tau_s = 20.0
    lag = FirstOrderLag(tau_s, T0_K)
    lag.follow(0.0, T0_K + 1.0)  # the gas steps by 1 K at t = 0
    for t_s in (1.0, 5.0, 20.0, 60.0):
        lag.follow(t_s, T0_K + 1.0)
        assert lag.value - T0_K == pytest.approx(1.0 - math.exp(-t_s / tau_s), rel=1e-12)


def test_thermal_lag_is_exact_whatever_the_call_spacing() -> None:
    """A ramp followed in 1 call or in 1000 gives the same value (the update is exact)."""
    coarse, fine = FirstOrderLag(15.0, T0_K), FirstOrderLag(15.0, T0_K)
    coarse.follow(100.0, T0_K + 2.0)
    for k in range(1, 1001):
        fine.follow(0.1 * k, T0_K + 0.02 * 0.1 * k)
    expected = T0_K + 0.02 * (100.0 - 15.0 * (1.0 - math.exp(-100.0 / 15.0)))
    assert coarse.value == pytest.approx(expected, abs=1e-9)
    assert fine.value == pytest.approx(expected, abs=1e-9)


def test_without_a_time_constant_the_lag_follows_at_once() -> None:
    lag = FirstOrderLag(0.0, T0_K)
    assert lag.follow(3.0, 301.0) == 301.0


def test_internal_energy_is_m_cv_t() -> None:
    chamber = _chamber()
    assert chamber.energy_j == pytest.approx(chamber.mass_kg * CV_AIR_J_PER_KG_K * T0_K)

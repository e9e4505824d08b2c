"""Hatches, valves and heater steps as a scenario declares them, on the world's clock,
and the truth the verdicts are judged against."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from hullwatch.daemon.detection.physics import R_AIR_J_PER_KG_K, orifice_mass_flow_kg_per_s
from hullwatch.hil.run_result import truth_at
from hullwatch.hil.scenario import Scenario
from hullwatch.hil.world import World

P0_PA = 101_325.0
T0_K = 295.15


def _scenario(**extra: Any) -> Scenario:
    zones = [
        {"id": "module", "volume_m3": 0.2, "pressure_pa": P0_PA, "temperature_k": T0_K},
        {"id": "node", "volume_m3": 0.1, "pressure_pa": P0_PA, "temperature_k": T0_K},
    ]
    return Scenario.model_validate(
        {
            "zones": zones,
            "sensors": [{"kind": "bmp388", "zone": "module", "address": 0x77}],
            **extra,
        }
    )


def _world(scenario: Scenario) -> World:
    return World(scenario.model_copy(update={"sensors": []}), lambda: 0.0)


HATCH = {"id": "h", "between": ["module", "node"], "diameter_mm": 300.0}
HOLE = {"at_s": 10.0, "zone": "module", "action": "open_hole", "diameter_mm": 0.5}


def test_a_hole_behind_an_open_hatch_drains_both_zones_until_the_hatch_closes() -> None:
    scenario = _scenario(
        hatches=[HATCH],
        events=[HOLE, {"at_s": 60.0, "action": "close_hatch", "hatch": "h"}],
    )
    world = _world(scenario)
    mass_kg = sum(chamber.mass_kg for chamber in world.chambers.values())
    world.advance_to(59.0)
    module, node = world.chambers["module"], world.chambers["node"]
    assert node.pressure_pa == pytest.approx(module.pressure_pa, abs=0.01)
    assert node.pressure_pa < P0_PA - 300.0
    # What left is what went out of the module's hole, nothing more.
    world.advance_to(60.0)
    fired = [event.description for event in world.take_fired()]
    assert any("hatch h (module|node) closed" in text for text in fired)
    node_kg = node.mass_kg
    world.advance_to(120.0)
    assert node.mass_kg == node_kg
    assert module.pressure_pa < node.pressure_pa - 500.0
    assert module.mass_kg + node.mass_kg < mass_kg


def test_a_valve_with_a_duration_shuts_itself() -> None:
    scenario = _scenario(
        valves=[{"id": "vent", "zone": "node", "diameter_mm": 1.0}],
        events=[{"at_s": 5.0, "action": "open_valve", "valve": "vent", "duration_s": 10.0}],
    )
    world = _world(scenario)
    node = world.chambers["node"]
    world.advance_to(14.0)
    assert world.valves["vent"].open
    assert node.pressure_pa < P0_PA - 500.0
    world.advance_to(15.0)
    assert not world.valves["vent"].open
    mass_kg = node.mass_kg
    world.advance_to(100.0)
    assert node.mass_kg == mass_kg
    assert world.chambers["module"].pressure_pa == P0_PA


def test_a_refill_valve_raises_the_pressure_towards_its_supply() -> None:
    scenario = _scenario(
        valves=[
            {"id": "fill", "zone": "node", "diameter_mm": 1.0, "supply_pressure_pa": 110_000.0}
        ],
        events=[{"at_s": 0.0, "action": "open_valve", "valve": "fill"}],
    )
    world = _world(scenario)
    world.advance_to(5.0)
    assert P0_PA + 100.0 < world.chambers["node"].pressure_pa < 110_000.0
    world.advance_to(1200.0)
    assert world.chambers["node"].pressure_pa == pytest.approx(110_000.0, rel=1e-9)


def test_a_heater_step_moves_a_sealed_zones_pressure_by_the_gas_law_only() -> None:
    scenario = _scenario(
        events=[{"at_s": 5.0, "zone": "node", "action": "heater_step", "delta_k": 2.0}]
    )
    world = _world(scenario)
    node = world.chambers["node"]
    mass_kg = node.mass_kg
    world.advance_to(200.0)
    assert node.temperature_k == pytest.approx(T0_K + 2.0, abs=1e-6)
    assert node.pressure_pa == pytest.approx(P0_PA * (T0_K + 2.0) / T0_K, rel=1e-8)
    assert node.mass_kg == mass_kg


def test_the_truth_of_a_zone_is_its_own_holes() -> None:
    scenario = _scenario(hatches=[HATCH], events=[HOLE])
    module = truth_at(scenario, "module", 40.0)
    node = truth_at(scenario, "node", 40.0)
    world = _world(scenario)
    world.advance_to(40.0)
    chamber = world.chambers["module"]
    flow = orifice_mass_flow_kg_per_s(
        upstream_pa=chamber.pressure_pa,
        downstream_pa=0.0,
        temperature_k=chamber.temperature_k,
        area_m2=math.pi * 0.0005**2 / 4,
        discharge_coefficient=0.62,
    )
    assert module.leak_rate_pa_m3_per_s == pytest.approx(
        flow * R_AIR_J_PER_KG_K * chamber.temperature_k, rel=1e-12
    )
    assert module.hole_diameter_mm == pytest.approx(0.5)
    assert node.leak_rate_pa_m3_per_s == 0.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"events": [{"at_s": 1.0, "action": "close_hatch", "hatch": "nope"}]}, "unknown hatch"),
        ({"events": [{"at_s": 1.0, "action": "open_valve", "valve": "nope"}]}, "unknown valve"),
        ({"events": [{"at_s": 1.0, "action": "open_hatch"}]}, "open_hatch needs hatch"),
        ({"events": [{"at_s": 1.0, "action": "heater_step", "zone": "node"}]}, "needs delta_k"),
        (
            {"events": [{"at_s": 1.0, "action": "close_hatch", "hatch": "h", "zone": "node"}]},
            "takes no zone",
        ),
        ({"hatches": [{**HATCH, "between": ["module", "attic"]}]}, "unknown zone 'attic'"),
        ({"hatches": [{**HATCH, "between": ["node", "node"]}]}, "two different zones"),
        ({"hatches": [{**HATCH, "area_m2": 0.1}]}, "either diameter_mm or area_m2"),
        ({"valves": [{"id": "v", "zone": "node"}]}, "either diameter_mm or area_m2"),
    ],
)
def test_bad_openings_are_refused(extra: dict[str, Any], message: str) -> None:
    if "hatches" not in extra and "hatch" in str(extra):
        extra = {"hatches": [HATCH], **extra}
    with pytest.raises(ValidationError, match=message):
        _scenario(**extra)

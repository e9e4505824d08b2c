"""What one HIL run produced, the verdict on it, and its JSON report."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hullwatch.daemon.detection.physics import R_AIR_J_PER_KG_K

from .expectations import Observed, Truth, Verdict, judge
from .scenario import Scenario
from .world import World


@dataclass
class RunResult:
    scenario: str
    mode: str  # "accelerated" or "realtime"
    duration_s: float
    wall_time_s: float
    alerts: list[Observed] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(verdict.met for verdict in self.verdicts)

    def report(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "mode": self.mode,
            "duration_s": self.duration_s,
            "wall_time_s": round(self.wall_time_s, 2),
            "passed": self.passed,
            "verdicts": [asdict(verdict) for verdict in self.verdicts],
            "alerts": [{"t_s": round(a.t_s, 3), **a.document.wire_dict()} for a in self.alerts],
            "events": self.events,
            "logs": self.logs,
        }

    def write_report(self, path: Path) -> None:
        path.write_text(json.dumps(self.report(), indent=2) + "\n")

    def summary(self) -> str:
        lines = [
            f"{self.scenario} ({self.mode}): {self.duration_s:g} s simulated in "
            f"{self.wall_time_s:.1f} s, {len(self.alerts)} alerts"
        ]
        for verdict in self.verdicts:
            mark = "met   " if verdict.met else "MISSED"
            lines.append(f"  {mark} {verdict.expectation}: {verdict.detail}")
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


def score(result: RunResult, scenario: Scenario) -> RunResult:
    result.verdicts = judge(
        scenario.expect,
        result.alerts,
        duration_s=scenario.duration_s,
        truth_at=lambda zone, t_s: truth_at(scenario, zone, t_s),
    )
    return result


def truth_at(scenario: Scenario, zone_id: str, t_s: float) -> Truth:
    """Replay the chambers alone (no sensors, no noise) to `t_s`: the leak as it was.

    A zone's leak is what leaves through its own holes to the ambient, as a pV
    flow at the gas temperature, and its hole the one round hole (of the
    daemon's discharge coefficient) that passes it. Gas that leaves through an
    open hatch or a valve is not a leak of this zone. The daemon cannot tell
    the difference: it reports V·(−dP/dt) of the zone's gas, so while a hatch
    joins it to a leaking zone each of the two reports its share of the fall
    (V_zone/ΣV of the whole leak when the hatch is wide), the sound one too.
    Judge estimates after the hatch closes.
    """
    now = [0.0]
    bare = scenario.model_copy(update={"sensors": [], "serial_sensors": [], "faults": []})
    world = World(bare, lambda: now[0])
    now[0] = t_s
    world.advance_to(t_s)
    chamber = world.chambers[zone_id]
    zone = next(z for z in scenario.zones if z.id == zone_id)
    leak_pv = chamber.outflow_kg_per_s() * R_AIR_J_PER_KG_K * chamber.temperature_k
    # The one round hole, of the daemon's discharge coefficient, that passes the same flow.
    cd = zone.detector.discharge_coefficient
    area_sum = sum(hole.discharge_coefficient * hole.diameter_m**2 for hole in chamber.holes)
    return Truth(leak_pv, math.sqrt(area_sum / cd) * 1e3)

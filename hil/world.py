"""The simulated world one scenario describes: chambers, sensor chips, events, one clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from hullwatch.daemon.physics import KELVIN_AT_0_C

from .bmp3_sim import Bmp3Simulator
from .chamber import Chamber, Hole, ThermalProfile
from .i2c_bus import SimulatedI2CBus
from .scenario import EventSpec, Scenario

CHIP_IDS = {"bmp388": 0x50, "bmp390": 0x60}


@dataclass(frozen=True, slots=True)
class FiredEvent:
    at_s: float
    zone: str
    description: str


class World:
    """Advances lazily: whenever a chip converts, the chamber is brought up to that time."""

    def __init__(self, scenario: Scenario, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.chambers = {
            zone.id: Chamber.filled(
                volume_m3=zone.volume_m3,
                pressure_pa=zone.pressure_pa,
                ambient_pressure_pa=zone.ambient_pressure_pa,
                thermal=ThermalProfile(
                    base_k=zone.temperature_k,
                    drift_k_per_s=zone.drift_k_per_s,
                    cycle_amplitude_k=zone.cycle_amplitude_k,
                    cycle_period_s=zone.cycle_period_s,
                ),
            )
            for zone in scenario.zones
        }
        self._pending = sorted(scenario.events, key=lambda event: event.at_s)
        self.fired: list[FiredEvent] = []
        self.bus = SimulatedI2CBus()
        rng = random.Random(scenario.seed)
        for sensor in scenario.sensors:
            self.bus.attach(
                sensor.address,
                Bmp3Simulator(
                    chip_id=CHIP_IDS[sensor.kind],
                    clock=clock,
                    conditions=self._conditions_for(sensor.zone),
                    rng=random.Random(rng.getrandbits(64)),
                    noise=sensor.noise,
                ),
            )

    def advance_to(self, t_s: float) -> list[FiredEvent]:
        """Bring every chamber to `t_s`, applying the events due on the way."""
        fired = []
        while self._pending and self._pending[0].at_s <= t_s:
            event = self._pending.pop(0)
            chamber = self.chambers[event.zone]
            chamber.advance_to(event.at_s)
            fired.append(self._apply(event))
        for chamber in self.chambers.values():
            chamber.advance_to(t_s)
        self.fired.extend(fired)
        return fired

    def _conditions_for(self, zone_id: str) -> Callable[[float], tuple[float, float]]:
        def conditions(t_s: float) -> tuple[float, float]:
            self.advance_to(t_s)
            chamber = self.chambers[zone_id]
            return chamber.pressure_pa, chamber.temperature_k - KELVIN_AT_0_C

        return conditions

    def _apply(self, event: EventSpec) -> FiredEvent:
        chamber = self.chambers[event.zone]
        if event.action == "open_hole":
            assert event.diameter_mm is not None
            chamber.holes.append(Hole(event.diameter_mm / 1000.0, event.discharge_coefficient))
            text = f"hole of {event.diameter_mm} mm opened (Cd {event.discharge_coefficient})"
        else:
            chamber.holes.clear()
            text = "holes closed"
        return FiredEvent(event.at_s, event.zone, text)

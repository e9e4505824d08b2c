"""The simulated world one scenario describes: chambers, sensor chips, events, faults, one clock."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hullwatch.daemon.physics import KELVIN_AT_0_C
from hullwatch.drivers.ms5611 import variant_by_name as ms56xx_variant

from .bmp3_sim import Bmp3Simulator
from .chamber import Chamber, Hole, ThermalProfile
from .faults import BUS_FAULTS, ActiveWindow, FaultyDevice, SimulatedChip
from .i2c_bus import SimulatedI2CBus
from .ms5611_sim import Ms5611Simulator
from .scenario import EventSpec, FaultSpec, Scenario, SensorSpec

BMP3_CHIP_IDS = {"bmp388": 0x50, "bmp390": 0x60}

Conditions = Callable[[float], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class FiredEvent:
    at_s: float
    zone: str
    description: str


@dataclass(order=True)
class _Action:
    at_s: float
    order: int
    apply: Callable[[], FiredEvent] = field(compare=False)


class World:
    """Advances lazily: whenever a chip converts, the world is brought up to that time."""

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
        self.fired: list[FiredEvent] = []
        self.bus = SimulatedI2CBus()
        self.chips: dict[int, SimulatedChip] = {}
        self._sensors = {sensor.address: sensor for sensor in scenario.sensors}
        self._drifts: dict[int, list[FaultSpec]] = {}
        self._wrappers: dict[int, FaultyDevice] = {}
        rng = random.Random(scenario.seed)
        self._seeds = {sensor.address: rng.getrandbits(64) for sensor in scenario.sensors}
        for sensor in scenario.sensors:
            self._wrappers[sensor.address] = FaultyDevice(self._new_chip(sensor), clock)
            self.bus.attach(sensor.address, self._wrappers[sensor.address])
        self._actions: list[_Action] = []
        for event in scenario.events:
            self._schedule(event.at_s, functools.partial(self._apply_event, event))
        for fault in scenario.faults:
            self._add_fault(fault)
        self._actions.sort()

    def advance_to(self, t_s: float) -> list[FiredEvent]:
        """Bring every chamber to `t_s`, applying the events and faults due on the way."""
        fired = []
        while self._actions and self._actions[0].at_s <= t_s:
            action = self._actions.pop(0)
            for chamber in self.chambers.values():
                chamber.advance_to(action.at_s)
            fired.append(action.apply())
        for chamber in self.chambers.values():
            chamber.advance_to(t_s)
        self.fired.extend(fired)
        return fired

    # --- sensors ---

    def _new_chip(self, sensor: SensorSpec) -> SimulatedChip:
        """A powered-on chip; a chip that reappears gets a new one with fresh state."""
        chip: SimulatedChip
        rng = random.Random(self._seeds[sensor.address])
        conditions = self._conditions_for(sensor)
        if sensor.kind in BMP3_CHIP_IDS:
            chip = Bmp3Simulator(
                chip_id=BMP3_CHIP_IDS[sensor.kind],
                clock=self.clock,
                conditions=conditions,
                rng=rng,
                noise=sensor.noise,
            )
        else:
            chip = Ms5611Simulator(
                clock=self.clock,
                conditions=conditions,
                rng=rng,
                noise=sensor.noise,
                variant=ms56xx_variant(sensor.kind),
            )
        self._seeds[sensor.address] += 1
        self.chips[sensor.address] = chip
        return chip

    def _conditions_for(self, sensor: SensorSpec) -> Conditions:
        def conditions(t_s: float) -> tuple[float, float]:
            self.advance_to(t_s)
            chamber = self.chambers[sensor.zone]
            offset_pa = sum(
                fault.drift_pa_per_s * (t_s - fault.at_s)
                for fault in self._drifts.get(sensor.address, [])
                if fault.at_s <= t_s < fault.end_s
            )
            return chamber.pressure_pa + offset_pa, chamber.temperature_k - KELVIN_AT_0_C

        return conditions

    # --- timeline ---

    def _schedule(self, at_s: float, apply: Callable[[], FiredEvent]) -> None:
        self._actions.append(_Action(at_s, len(self._actions), apply))

    def _apply_event(self, event: EventSpec) -> FiredEvent:
        chamber = self.chambers[event.zone]
        if event.action == "open_hole":
            assert event.diameter_mm is not None
            chamber.holes.append(Hole(event.diameter_mm / 1000.0, event.discharge_coefficient))
            text = f"hole of {event.diameter_mm} mm opened (Cd {event.discharge_coefficient})"
        else:
            chamber.holes.clear()
            text = "holes closed"
        return FiredEvent(event.at_s, event.zone, text)

    def _add_fault(self, fault: FaultSpec) -> None:
        address = fault.address
        zone = self._sensors[address].zone
        where = f"sensor at 0x{address:02x}"

        def note(at_s: float, text: str) -> Callable[[], FiredEvent]:
            return lambda: FiredEvent(at_s, zone, f"{where}: {text}")

        def both(first: Callable[[], object], event: Callable[[], FiredEvent]) -> FiredEvent:
            first()
            return event()

        if fault.kind in BUS_FAULTS:
            self._wrappers[address].add(fault.kind, ActiveWindow(fault.at_s, fault.end_s))
            self._schedule(fault.at_s, note(fault.at_s, f"{fault.kind} begins"))
            if fault.duration_s is not None:
                self._schedule(fault.end_s, note(fault.end_s, f"{fault.kind} ends"))
            return
        if fault.kind == "drift":
            self._drifts.setdefault(address, []).append(fault)
            starts = f"drifting {fault.drift_pa_per_s:+g} Pa/s"
            self._schedule(fault.at_s, note(fault.at_s, starts))
        elif fault.kind == "spike":
            self._schedule(
                fault.at_s,
                lambda: both(
                    lambda: self.chips[address].inject_spike(fault.spike_pa),
                    note(fault.at_s, f"spike of {fault.spike_pa:+g} Pa"),
                ),
            )
            return
        elif fault.kind == "stuck":
            self._schedule(
                fault.at_s,
                lambda: both(
                    lambda: self.chips[address].freeze_output(True), note(fault.at_s, "stuck")
                ),
            )
        elif fault.kind == "corrupt_calibration":
            self._schedule(
                fault.at_s,
                lambda: both(
                    lambda: self.chips[address].blank_calibration(),
                    note(fault.at_s, "calibration memory blanked"),
                ),
            )
        elif fault.kind == "disappear":
            self._schedule(
                fault.at_s,
                lambda: both(lambda: self.bus.detach(address), note(fault.at_s, "gone")),
            )
        if fault.duration_s is not None:
            self._schedule(fault.end_s, lambda: self._end_fault(fault))

    def _end_fault(self, fault: FaultSpec) -> FiredEvent:
        address = fault.address
        chip = self.chips[address]
        if fault.kind == "stuck":
            chip.freeze_output(False)
        elif fault.kind == "corrupt_calibration":
            chip.restore_calibration()
        elif fault.kind == "disappear":
            wrapper = self._wrappers[address]
            wrapper.device = self._new_chip(self._sensors[address])
            self.bus.attach(address, wrapper)
        zone = self._sensors[address].zone
        return FiredEvent(fault.end_s, zone, f"sensor at 0x{address:02x}: {fault.kind} ends")

"""The simulated world one scenario describes: chambers, sensors, events, faults, one clock.

The world advances lazily: whenever a sensor converts, it is brought up to that
time, applying the chamber events and I2C faults due on the way. Serial
instruments run on their own threads and also ask for conditions, so that path
is guarded by a lock; their faults are applied by `tick` from the simulator's
main loop (within its 0.1 s tick), never from inside an instrument's thread,
which would otherwise wait on itself.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hullwatch.daemon.detection.physics import KELVIN_AT_0_C
from hullwatch.drivers.ms5611 import variant_by_name as ms56xx_variant

from .bmp3_sim import Bmp3Simulator
from .chamber import Chamber, FirstOrderLag, Hatch, Hole, Network, ThermalProfile, Valve
from .faults import BUS_FAULTS, ActiveWindow, FaultyDevice, SimulatedChip
from .i2c_bus import SimulatedI2CBus
from .ms5611_sim import Ms5611Simulator
from .scenario import (
    EventSpec,
    FaultSpec,
    Scenario,
    SensorSpec,
    SerialSensorSpec,
    sensor_noise,
    serial_sensor_noise,
)
from .sensor_noise import SensorNoise, SlowNoise
from .serial_sims import BridgeSimulator, PtbSimulator

BMP3_CHIP_IDS = {"bmp388": 0x50, "bmp390": 0x60}

Conditions = Callable[[float], tuple[float, float]]
SerialInstrument = BridgeSimulator | PtbSimulator


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
    def __init__(self, scenario: Scenario, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.RLock()
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
                wall_time_constant_s=zone.wall_time_constant_s,
            )
            for zone in scenario.zones
        }
        self.hatches = {
            hatch.id: Hatch(
                hatch.id,
                self.chambers[hatch.between[0]],
                self.chambers[hatch.between[1]],
                hatch.opening_m2,
                hatch.discharge_coefficient,
                hatch.open,
            )
            for hatch in scenario.hatches
        }
        self._hatch_zones = {hatch.id: hatch.between for hatch in scenario.hatches}
        self.valves = {
            valve.id: Valve(
                valve.id,
                self.chambers[valve.zone],
                valve.opening_m2,
                valve.discharge_coefficient,
                valve.supply_pressure_pa,
                valve.supply_temperature_k,
                valve.open,
            )
            for valve in scenario.valves
        }
        self._valve_zone = {valve.id: valve.zone for valve in scenario.valves}
        self.network = Network(
            list(self.chambers.values()), self.hatches.values(), self.valves.values()
        )
        self.fired: list[FiredEvent] = []
        self._order = itertools.count()
        rng = random.Random(scenario.seed)
        # Each sensor's temperature lag, kept by address or link so that a chip that
        # leaves the bus and returns is still as warm as it was.
        self._lags: dict[int | str, FirstOrderLag] = {}
        for sensor in scenario.sensors:
            self._lags[sensor.address] = self._new_lag(sensor.zone, sensor.thermal_lag_s)
        for spec in scenario.serial_sensors:
            self._lags[spec.link] = self._new_lag(spec.zone, spec.thermal_lag_s)
        # Each sensor's noise beyond white, kept by address or link like its lag (the
        # same silicon when a chip returns), each from a random stream of its own so
        # that the white noise the chips draw is what it was without it.
        self._noise: dict[int, SensorNoise] = {
            sensor.address: sensor_noise(sensor, scenario.sensor_noise)
            for sensor in scenario.sensors
        }
        self._slow_noise: dict[int | str, SlowNoise] = {}
        for address, noise in self._noise.items():
            if noise.realistic:
                stream = random.Random(f"{scenario.seed}:noise:{address}")
                self._slow_noise[address] = SlowNoise(noise.slow, stream)
        self._serial_noise = {
            spec.link: serial_sensor_noise(spec) for spec in scenario.serial_sensors
        }
        for link, noise in self._serial_noise.items():
            if noise.realistic:
                stream = random.Random(f"{scenario.seed}:noise:{link}")
                self._slow_noise[link] = SlowNoise(noise.slow, stream)

        self.bus = SimulatedI2CBus()
        self.chips: dict[int, SimulatedChip] = {}
        self._sensors = {sensor.address: sensor for sensor in scenario.sensors}
        self._seeds = {sensor.address: rng.getrandbits(64) for sensor in scenario.sensors}
        self._drifts: dict[int, list[FaultSpec]] = {}
        self._wrappers: dict[int, FaultyDevice] = {}
        for sensor in scenario.sensors:
            self._wrappers[sensor.address] = FaultyDevice(self._new_chip(sensor), clock)
            self.bus.attach(sensor.address, self._wrappers[sensor.address])

        self.serial: dict[str, SerialInstrument] = {
            spec.link: self._new_instrument(spec, random.Random(rng.getrandbits(64)))
            for spec in scenario.serial_sensors
        }
        self._serial_zone = {spec.link: spec.zone for spec in scenario.serial_sensors}

        self._actions: list[_Action] = []
        self._serial_actions: list[_Action] = []
        for event in scenario.events:
            self._schedule(self._actions, event.at_s, functools.partial(self._apply_event, event))
            if event.duration_s is not None:  # an open_valve that shuts itself
                end_s = event.at_s + event.duration_s
                end = event.model_copy(
                    update={"at_s": end_s, "action": "close_valve", "duration_s": None}
                )
                self._schedule(self._actions, end_s, functools.partial(self._apply_event, end))
        for fault in scenario.faults:
            self._add_fault(fault)
        for sensor in scenario.sensors:
            if sensor.spikes_per_hour > 0:
                # A stream of its own, so that spikes leave the sensors' noise as it was.
                spike_rng = random.Random(f"{scenario.seed}:spikes:{sensor.address}")
                self._schedule_random_spike(sensor, spike_rng, 0.0)
        self._actions.sort()
        self._serial_actions.sort()

    # --- time ---

    def advance_to(self, t_s: float) -> list[FiredEvent]:
        """Bring every chamber to `t_s`, applying the events and I2C faults due on the way."""
        with self._lock:
            fired = []
            while self._actions and self._actions[0].at_s <= t_s:
                action = self._actions.pop(0)
                self.network.advance_to(action.at_s)
                fired.append(action.apply())
            self.network.advance_to(t_s)
            self.fired.extend(fired)
            return fired

    def tick(self, t_s: float) -> None:
        """Advance, and apply the serial faults due (from the main loop only)."""
        self.advance_to(t_s)
        while self._serial_actions and self._serial_actions[0].at_s <= t_s:
            event = self._serial_actions.pop(0).apply()
            with self._lock:
                self.fired.append(event)

    def take_fired(self) -> list[FiredEvent]:
        """The events fired since the last call, whoever advanced the world."""
        with self._lock:
            fired, self.fired = self.fired, []
            return fired

    def start(self) -> None:
        """Open the serial instruments' pseudo-terminals and start serving them."""
        for instrument in self.serial.values():
            instrument.start()

    def close(self) -> None:
        for instrument in self.serial.values():
            instrument.close()

    # --- sensors ---

    def _new_lag(self, zone_id: str, time_constant_s: float) -> FirstOrderLag:
        return FirstOrderLag(time_constant_s, self.chambers[zone_id].temperature_k)

    def _new_chip(self, sensor: SensorSpec) -> SimulatedChip:
        """A powered-on chip; a chip that reappears gets a new one with fresh state."""
        chip: SimulatedChip
        rng = random.Random(self._seeds[sensor.address])
        self._seeds[sensor.address] += 1
        conditions = self._conditions_for(
            sensor.zone, sensor.address, self._lags[sensor.address], sensor.address
        )
        noise = self._noise[sensor.address]
        if sensor.kind in BMP3_CHIP_IDS:
            chip = Bmp3Simulator(
                chip_id=BMP3_CHIP_IDS[sensor.kind],
                clock=self.clock,
                conditions=conditions,
                rng=rng,
                noise=noise.white,
                white_noise_pa=noise.white_pa,
                white_noise_scale=noise.white_scale,
            )
        else:
            chip = Ms5611Simulator(
                clock=self.clock,
                conditions=conditions,
                rng=rng,
                noise=noise.white,
                white_noise_pa=noise.white_pa,
                white_noise_scale=noise.white_scale,
                variant=ms56xx_variant(sensor.kind),
            )
        self.chips[sensor.address] = chip
        return chip

    def _new_instrument(self, spec: SerialSensorSpec, rng: random.Random) -> SerialInstrument:
        exact = self._conditions_for(spec.zone, None, self._lags[spec.link], spec.link)
        white_pa = self._serial_noise[spec.link].white_pa
        white_pa = spec.noise_pa if white_pa is None else white_pa

        def noisy(t_s: float) -> tuple[float, float]:
            pressure_pa, temperature_c = exact(t_s)
            return pressure_pa + rng.gauss(0.0, white_pa), temperature_c

        Path(spec.link).parent.mkdir(parents=True, exist_ok=True)
        if spec.kind == "serial_bridge":
            return BridgeSimulator(noisy, self.clock, spec.rate_hz, link_path=Path(spec.link))
        return PtbSimulator(
            noisy,
            self.clock,
            link_path=Path(spec.link),
            address=spec.address or 0,
            smode="STOP" if spec.address is None else "POLL",
        )

    def _conditions_for(
        self, zone_id: str, address: int | None, lag: FirstOrderLag, sensor: int | str
    ) -> Conditions:
        """What a sensor sees at `t_s`: the gas pressure (plus its drift fault and its
        noise beyond white) and its own temperature, which follows the gas through
        its thermal lag."""
        slow_noise = self._slow_noise.get(sensor)

        def conditions(t_s: float) -> tuple[float, float]:
            with self._lock:
                self.advance_to(t_s)
                chamber = self.chambers[zone_id]
                drifts = self._drifts.get(address, []) if address is not None else []
                offset_pa = sum(
                    fault.drift_pa_per_s * (t_s - fault.at_s)
                    for fault in drifts
                    if fault.at_s <= t_s < fault.end_s
                )
                temperature_c = lag.follow(t_s, chamber.temperature_k) - KELVIN_AT_0_C
                if slow_noise is not None:
                    offset_pa += slow_noise.offset_pa(t_s, temperature_c)
                return chamber.pressure_pa + offset_pa, temperature_c

        return conditions

    # --- timeline ---

    def _schedule(
        self, actions: list[_Action], at_s: float, apply: Callable[[], FiredEvent]
    ) -> None:
        bisect.insort(actions, _Action(at_s, next(self._order), apply))

    def _schedule_random_spike(
        self, sensor: SensorSpec, rng: random.Random, after_s: float
    ) -> None:
        at_s = after_s + rng.expovariate(sensor.spikes_per_hour / 3600.0)
        spike_pa = sensor.spike_pa * rng.choice((-1.0, 1.0))

        def spike() -> FiredEvent:
            self.chips[sensor.address].inject_spike(spike_pa)
            self._schedule_random_spike(sensor, rng, at_s)
            where = f"sensor at 0x{sensor.address:02x}"
            return FiredEvent(at_s, sensor.zone, f"{where}: random spike of {spike_pa:+g} Pa")

        self._schedule(self._actions, at_s, spike)

    def _apply_event(self, event: EventSpec) -> FiredEvent:
        """Change the chambers; the event names the zone it happened in (a hatch: its
        first zone, the description names both)."""
        action = event.action
        if event.hatch is not None:
            hatch = self.hatches[event.hatch]
            hatch.open = action == "open_hatch"
            first, second = self._hatch_zones[event.hatch]
            state = "opened" if hatch.open else "closed"
            return FiredEvent(event.at_s, first, f"hatch {hatch.id} ({first}|{second}) {state}")
        if event.valve is not None:
            valve = self.valves[event.valve]
            valve.open = action == "open_valve"
            where = (
                "the ambient"
                if valve.supply_pressure_pa is None
                else f"a supply at {valve.supply_pressure_pa:g} Pa"
            )
            state = "opened" if valve.open else "closed"
            text = f"valve {valve.id} to {where} {state}"
            return FiredEvent(event.at_s, self._valve_zone[event.valve], text)
        assert event.zone is not None
        chamber = self.chambers[event.zone]
        if action == "open_hole":
            assert event.diameter_mm is not None
            chamber.holes.append(Hole(event.diameter_mm / 1000.0, event.discharge_coefficient))
            text = f"hole of {event.diameter_mm} mm opened (Cd {event.discharge_coefficient})"
        elif action == "heater_step":
            assert event.delta_k is not None
            chamber.wall_offset_k += event.delta_k
            text = f"heater: wall temperature {event.delta_k:+g} K"
        else:
            chamber.holes.clear()
            text = "holes closed"
        return FiredEvent(event.at_s, event.zone, text)

    def _add_fault(self, fault: FaultSpec) -> None:
        if fault.address is not None:
            actions = self._actions
            zone = self._sensors[fault.address].zone
            where = f"sensor at 0x{fault.address:02x}"
            if fault.kind in BUS_FAULTS:
                window = ActiveWindow(fault.at_s, fault.end_s)
                self._wrappers[fault.address].add(fault.kind, window)
            if fault.kind == "drift":
                self._drifts.setdefault(fault.address, []).append(fault)
        else:
            assert fault.link is not None
            actions = self._serial_actions
            zone = self._serial_zone[fault.link]
            where = f"serial sensor at {fault.link}"

        def begin() -> FiredEvent:
            return FiredEvent(fault.at_s, zone, f"{where}: {self._begin_fault(fault)}")

        def end() -> FiredEvent:
            return FiredEvent(fault.end_s, zone, f"{where}: {self._end_fault(fault)}")

        self._schedule(actions, fault.at_s, begin)
        if fault.duration_s is not None:
            self._schedule(actions, fault.end_s, end)

    def _begin_fault(self, fault: FaultSpec) -> str:
        kind = fault.kind
        if fault.address is not None:
            chip = self.chips[fault.address]
            if kind == "spike":
                chip.inject_spike(fault.spike_pa)
                return f"spike of {fault.spike_pa:+g} Pa"
            if kind == "stuck":
                chip.freeze_output(True)
            elif kind == "corrupt_calibration":
                chip.blank_calibration()
            elif kind == "disappear":
                self.bus.detach(fault.address)
            elif kind == "drift":
                return f"drifting {fault.drift_pa_per_s:+g} Pa/s"
            return f"{kind} begins"
        assert fault.link is not None
        instrument = self.serial[fault.link]
        if kind == "unplug":
            instrument.unplug()
        elif kind == "silence":
            instrument.pause()
        elif kind == "garbage":
            instrument.inject_garbage(b"\x8f\xfe\x13$HW\xa0\xff\r\n")
        elif kind == "corrupt_line":
            if isinstance(instrument, BridgeSimulator):
                instrument.inject_corrupted_line()
            else:
                instrument.inject_corrupted_reply()
        elif kind == "truncated_line":
            if isinstance(instrument, BridgeSimulator):
                instrument.inject_truncated_line()
            else:
                instrument.inject_truncated_reply()
        return f"{kind} begins"

    def _end_fault(self, fault: FaultSpec) -> str:
        kind = fault.kind
        if fault.address is not None:
            chip = self.chips[fault.address]
            if kind == "stuck":
                chip.freeze_output(False)
            elif kind == "corrupt_calibration":
                chip.restore_calibration()
            elif kind == "disappear":
                wrapper = self._wrappers[fault.address]
                wrapper.device = self._new_chip(self._sensors[fault.address])
                self.bus.attach(fault.address, wrapper)
        elif fault.link is not None:
            instrument = self.serial[fault.link]
            if kind == "unplug":
                instrument.replug()
            elif kind == "silence":
                instrument.resume()
        return f"{kind} ends"

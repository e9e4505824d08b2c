"""Scenario files: zones of gas, the openings between them, sensors, timed events.

    seed = 1                      # noise is reproducible for a given seed
    [[zones]]
    id = "chamber"
    volume_m3 = 0.05
    pressure_pa = 101325.0
    temperature_k = 295.15        # the wall's temperature, and the gas's at t = 0
    ambient_pressure_pa = 0.0     # outside the holes and vents: 0 for vacuum
    drift_k_per_s = 0.0           # the wall's drift ...
    cycle_amplitude_k = 0.0       # ... and cycle
    cycle_period_s = 5520.0
    wall_time_constant_s = 10.0   # the gas follows the wall with this τ (0: isothermal)
    [[hatches]]                   # an opening between two zones
    id = "module-node"
    between = ["chamber", "node"]
    diameter_mm = 800.0           # or area_m2
    discharge_coefficient = 0.62
    open = true                   # at the start
    [[valves]]                    # a line to the zone's ambient, or to a supply
    id = "fill"
    zone = "chamber"
    diameter_mm = 1.0             # or area_m2
    discharge_coefficient = 0.62
    supply_pressure_pa = 105000.0 # absent: a vent to the zone's ambient
    supply_temperature_k = 295.15 # absent: the zone's wall temperature
    open = false                  # at the start
    [[sensors]]
    kind = "bmp388"               # or "bmp390", "ms5611", "ms5607"
    zone = "chamber"
    address = 0x77
    noise = true
    thermal_lag_s = 0.0           # the die's first-order lag behind the gas temperature
    spikes_per_hour = 0.0         # random one-sample spikes of ±spike_pa
    spike_pa = 200.0
    [[events]]
    at_s = 20.0
    zone = "chamber"
    action = "open_hole"          # diameter_mm, discharge_coefficient
    diameter_mm = 0.05
    # also: "close_holes" (zone), "heater_step" (zone, delta_k: the wall steps),
    # "open_hatch" / "close_hatch" (hatch), "open_valve" (valve, optional
    # duration_s: it shuts again after) / "close_valve" (valve)

Times are seconds after the simulator starts. The format is documented in
hil/README.md.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hullwatch.drivers.catalog import DRIVERS

from .chamber import DEFAULT_WALL_TIME_CONSTANT_S
from .expectations import Expectation
from .sensor_noise import CHIP_NOISE, NO_NOISE, SERIAL_NOISE, SensorNoise, resolve_noise

_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorSpec(BaseModel):
    """The daemon's settings for a zone in a HIL run (keys of `[[zones]]` in its config).

    The keys named here get HIL defaults; any other key is passed through to the
    daemon's zone settings unchanged, and the daemon's own config model judges it,
    so a new detector setting needs no change here.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    floor_pa: float = Field(default=70_000.0, gt=0)
    window_s: float = Field(default=30.0, gt=0)
    warning_pa_per_s: float = Field(default=0.2, gt=0)
    critical_pa_per_s: float = Field(default=5.0, gt=0)
    significance_sigma: float = Field(default=5.0, ge=2)
    discharge_coefficient: float = Field(default=0.62, gt=0, le=1)


class ZoneSpec(_Strict):
    id: str = Field(pattern=_ID)
    detector: DetectorSpec = Field(default_factory=DetectorSpec)
    volume_m3: float = Field(gt=0)
    pressure_pa: float = Field(gt=0)
    temperature_k: float = Field(gt=0)
    ambient_pressure_pa: float = Field(default=0.0, ge=0)
    drift_k_per_s: float = 0.0
    cycle_amplitude_k: float = Field(default=0.0, ge=0)
    cycle_period_s: float = Field(default=5520.0, gt=0)
    # The gas follows the wall temperature above with this time constant.
    wall_time_constant_s: float = Field(default=DEFAULT_WALL_TIME_CONSTANT_S, ge=0)


class HatchSpec(_Strict):
    """An opening between two zones, open or shut at the start."""

    id: str = Field(pattern=_ID)
    between: tuple[str, str]
    diameter_mm: float | None = Field(default=None, gt=0)
    area_m2: float | None = Field(default=None, gt=0)
    discharge_coefficient: float = Field(default=0.62, gt=0, le=1)
    open: bool = True

    @property
    def opening_m2(self) -> float:
        return _opening_m2(self.diameter_mm, self.area_m2)

    @model_validator(mode="after")
    def _one_size(self) -> HatchSpec:
        _check_one_size(self.diameter_mm, self.area_m2)
        if self.between[0] == self.between[1]:
            raise ValueError("a hatch joins two different zones")
        return self


class ValveSpec(_Strict):
    """A zone's line to the zone's ambient (a vent) or, with `supply_pressure_pa`,
    to a supply; shut at the start unless `open`."""

    id: str = Field(pattern=_ID)
    zone: str
    diameter_mm: float | None = Field(default=None, gt=0)
    area_m2: float | None = Field(default=None, gt=0)
    discharge_coefficient: float = Field(default=0.62, gt=0, le=1)
    supply_pressure_pa: float | None = Field(default=None, ge=0)
    supply_temperature_k: float | None = Field(default=None, gt=0)  # absent: the wall's
    open: bool = False

    @property
    def opening_m2(self) -> float:
        return _opening_m2(self.diameter_mm, self.area_m2)

    @model_validator(mode="after")
    def _one_size(self) -> ValveSpec:
        _check_one_size(self.diameter_mm, self.area_m2)
        return self


def _check_one_size(diameter_mm: float | None, area_m2: float | None) -> None:
    if (diameter_mm is None) == (area_m2 is None):
        raise ValueError("give either diameter_mm or area_m2")


def _opening_m2(diameter_mm: float | None, area_m2: float | None) -> float:
    if area_m2 is not None:
        return area_m2
    assert diameter_mm is not None
    return math.pi * (diameter_mm / 1000.0) ** 2 / 4.0


NoiseModelName = Literal["white", "realistic"]


class NoiseSpec(_Strict):
    """`[sensors.noise]`: a sensor's noise model, each term overridable.

    `model = "white"`: the datasheet's white noise only (what scenarios had before
    the realistic model); `"realistic"`: white, flicker, random walk, tempco and
    popcorn, defaults per chip in `hullwatch.hil.sensor_noise.CHIP_NOISE`. A key
    given here replaces that default (in the white model only `white_pa` applies).
    """

    model: NoiseModelName = "realistic"
    white_pa: float | None = Field(default=None, ge=0)  # RMS per conversion, before the IIR
    flicker_pa: float | None = Field(default=None, ge=0)  # its flat Allan deviation
    random_walk_pa_per_sqrt_s: float | None = Field(default=None, ge=0)
    tempco_pa_per_k: float | None = None  # of the die temperature, from 25 °C
    popcorn_per_hour: float | None = Field(default=None, ge=0)
    popcorn_pa: float | None = None

    @model_validator(mode="after")
    def _white_model_takes_white_only(self) -> NoiseSpec:
        if self.model == "white":
            slow = (
                "flicker_pa",
                "random_walk_pa_per_sqrt_s",
                "tempco_pa_per_k",
                "popcorn_per_hour",
                "popcorn_pa",
            )
            given = [key for key in slow if getattr(self, key) is not None]
            if given:
                raise ValueError(f'model = "white" takes no {", ".join(given)}')
        return self


class SensorSpec(_Strict):
    kind: Literal["bmp388", "bmp390", "ms5611", "ms5607"]
    zone: str
    address: int = Field(ge=0x03, le=0x77)
    # true: the scenario's `sensor_noise` model; false: none at all; a model name;
    # or a table of overrides ([sensors.noise]).
    noise: bool | NoiseModelName | NoiseSpec = True
    # The die lags the gas: dT_s/dt = (T_gas − T_s)/τ, from the gas temperature at t = 0.
    thermal_lag_s: float = Field(default=0.0, ge=0)
    # Random single-sample spikes of ±spike_pa (sign at random), a Poisson process
    # seeded from the scenario seed and this sensor's address.
    spikes_per_hour: float = Field(default=0.0, ge=0)
    spike_pa: float = Field(default=200.0, gt=0)
    # How the daemon samples it in a HIL run (keys of `[[sensors]]` in its config).
    id: str | None = Field(default=None, pattern=_ID)
    rate_hz: float = Field(default=25.0, gt=0)
    pressure_oversampling: int | None = None
    temperature_oversampling: int | None = None
    iir_coefficient: int | None = None

    @property
    def sensor_id(self) -> str:
        return self.id or f"{self.kind}-{self.address:02x}"

    @model_validator(mode="after")
    def _rate_the_chip_reaches(self) -> SensorSpec:
        """Refused here as the daemon's configuration would refuse it (drivers/catalog.py)."""
        driver = DRIVERS[self.kind]
        driver.check_rate(
            self.rate_hz, {t.key: getattr(self, t.key, None) for t in driver.tunables}
        )
        return self


EventAction = Literal[
    "open_hole",
    "close_holes",
    "open_hatch",
    "close_hatch",
    "open_valve",
    "close_valve",
    "heater_step",
]
_EVENT_NEEDS: dict[str, tuple[str, ...]] = {
    "open_hole": ("zone", "diameter_mm"),
    "close_holes": ("zone",),
    "open_hatch": ("hatch",),
    "close_hatch": ("hatch",),
    "open_valve": ("valve",),
    "close_valve": ("valve",),
    "heater_step": ("zone", "delta_k"),
}


class EventSpec(_Strict):
    """Something done to the chambers at `at_s`: a hole, a hatch, a valve, a heater."""

    at_s: float = Field(ge=0)
    action: EventAction
    zone: str | None = None  # open_hole, close_holes, heater_step
    diameter_mm: float | None = Field(default=None, gt=0)  # open_hole
    discharge_coefficient: float = Field(default=0.62, gt=0, le=1)  # open_hole
    hatch: str | None = None  # open_hatch, close_hatch
    valve: str | None = None  # open_valve, close_valve
    duration_s: float | None = Field(default=None, gt=0)  # open_valve: shut again after
    delta_k: float | None = None  # heater_step: the wall temperature's step

    @model_validator(mode="after")
    def _has_what_its_action_needs(self) -> EventSpec:
        needs = _EVENT_NEEDS[self.action]
        for key in needs:
            if getattr(self, key) is None:
                raise ValueError(f"{self.action} needs {key}")
        for key in ("zone", "hatch", "valve", "diameter_mm", "delta_k"):
            if key not in needs and getattr(self, key) is not None:
                raise ValueError(f"{self.action} takes no {key}")
        if self.duration_s is not None and self.action != "open_valve":
            raise ValueError("duration_s belongs to open_valve only")
        return self


class SerialSensorSpec(_Strict):
    """An instrument on a serial line, served on a pseudo-terminal behind `link`."""

    kind: Literal["serial_bridge", "ptb330"]
    zone: str
    link: str  # absolute path of the symlink the daemon opens, like /dev/serial/by-id/...
    # A bridge's frame rate, at most what the daemon accepts for one.
    rate_hz: float = Field(default=10.0, gt=0, le=DRIVERS["serial_bridge"].fastest_rate_hz())
    address: int | None = Field(default=None, ge=0, le=255)  # a PTB330's RS-485 address
    noise_pa: float = Field(default=0.5, ge=0)
    # Slow noise terms as for [[sensors]] (`[serial_sensors.noise]`, white is noise_pa);
    # absent: white only.
    noise: NoiseSpec | None = None
    thermal_lag_s: float = Field(default=0.0, ge=0)  # as for [[sensors]]

    @model_validator(mode="after")
    def _absolute_link(self) -> SerialSensorSpec:
        if not self.link.startswith("/"):
            raise ValueError(f"link must be an absolute path, got {self.link!r}")
        return self


I2C_FAULTS = frozenset(
    {"nack", "eio", "hang", "stuck", "spike", "drift", "disappear", "corrupt_calibration"}
)
SERIAL_FAULTS = frozenset({"unplug", "garbage", "corrupt_line", "truncated_line", "silence"})
FaultKind = Literal[
    "nack",
    "eio",
    "hang",
    "stuck",
    "spike",
    "drift",
    "disappear",
    "corrupt_calibration",
    "unplug",
    "garbage",
    "corrupt_line",
    "truncated_line",
    "silence",
]


class FaultSpec(_Strict):
    """A fault in one sensor from `at_s` for `duration_s` (absent: until the end).

    The sensor is an I2C chip by `address` or a serial instrument by `link`.
    """

    at_s: float = Field(ge=0)
    address: int | None = Field(default=None, ge=0x03, le=0x77)
    link: str | None = None
    kind: FaultKind
    duration_s: float | None = Field(default=None, gt=0)
    spike_pa: float = 500.0  # `spike`: added to one sample
    drift_pa_per_s: float = -0.5  # `drift`: offset growth while active

    @property
    def end_s(self) -> float:
        return float("inf") if self.duration_s is None else self.at_s + self.duration_s

    @model_validator(mode="after")
    def _one_target_that_can_have_it(self) -> FaultSpec:
        if (self.address is None) == (self.link is None):
            raise ValueError("a fault names either an I2C address or a serial link")
        if self.address is not None and self.kind not in I2C_FAULTS:
            raise ValueError(f"{self.kind!r} is a serial fault: name the sensor's link")
        if self.link is not None and self.kind not in SERIAL_FAULTS:
            raise ValueError(f"{self.kind!r} is an I2C fault: name the sensor's address")
        return self


class Scenario(_Strict):
    seed: int = 1
    title: str = ""
    # The noise model of every sensor whose `noise` is true (the default): "white"
    # as scenarios always had, or "realistic" (hullwatch.hil.sensor_noise).
    sensor_noise: NoiseModelName = "white"
    duration_s: float = Field(default=60.0, gt=0)
    zones: list[ZoneSpec] = Field(min_length=1)
    hatches: list[HatchSpec] = Field(default_factory=list)
    valves: list[ValveSpec] = Field(default_factory=list)
    sensors: list[SensorSpec] = Field(default_factory=list)
    serial_sensors: list[SerialSensorSpec] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
    faults: list[FaultSpec] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        zone_ids = {zone.id for zone in self.zones}
        if len(zone_ids) != len(self.zones):
            raise ValueError("zone ids must be unique")
        if not self.sensors and not self.serial_sensors:
            raise ValueError("a scenario needs at least one sensor or serial sensor")
        referring = [
            *(sensor.zone for sensor in self.sensors),
            *(sensor.zone for sensor in self.serial_sensors),
            *(event.zone for event in self.events if event.zone is not None),
            *(zone for hatch in self.hatches for zone in hatch.between),
            *(valve.zone for valve in self.valves),
        ]
        for zone in referring:
            if zone not in zone_ids:
                raise ValueError(f"unknown zone {zone!r}; zones are {sorted(zone_ids)}")
        self._openings_resolve()
        addresses = [sensor.address for sensor in self.sensors]
        if len(set(addresses)) != len(addresses):
            raise ValueError("two sensors share an I2C address on the simulated bus")
        links = [sensor.link for sensor in self.serial_sensors]
        if len(set(links)) != len(links):
            raise ValueError("two serial sensors share a link path")
        for fault in self.faults:
            if fault.address is not None and fault.address not in addresses:
                raise ValueError(f"fault at 0x{fault.address:02x}: no sensor at that address")
            if fault.link is not None and fault.link not in links:
                raise ValueError(f"fault at {fault.link}: no serial sensor has that link")
        return self

    def _openings_resolve(self) -> None:
        hatch_ids = [hatch.id for hatch in self.hatches]
        valve_ids = [valve.id for valve in self.valves]
        if len(set(hatch_ids)) != len(hatch_ids) or len(set(valve_ids)) != len(valve_ids):
            raise ValueError("hatch ids and valve ids must be unique")
        for event in self.events:
            if event.hatch is not None and event.hatch not in hatch_ids:
                raise ValueError(f"unknown hatch {event.hatch!r}; hatches are {hatch_ids}")
            if event.valve is not None and event.valve not in valve_ids:
                raise ValueError(f"unknown valve {event.valve!r}; valves are {valve_ids}")


def load_scenario(path: Path) -> Scenario:
    with path.open("rb") as handle:
        return Scenario.model_validate(tomllib.load(handle))


def sensor_noise(sensor: SensorSpec, scenario_model: str) -> SensorNoise:
    """What noise a chip on the simulated bus makes, its chip's defaults resolved."""
    spec = sensor.noise
    if isinstance(spec, NoiseSpec):
        return resolve_noise(CHIP_NOISE[sensor.kind], spec.model, **_overrides(spec))
    if spec is False:
        return NO_NOISE
    return resolve_noise(CHIP_NOISE[sensor.kind], scenario_model if spec is True else spec)


def serial_sensor_noise(sensor: SerialSensorSpec) -> SensorNoise:
    """A serial instrument's noise: white `noise_pa`, slow terms only as its table gives."""
    if sensor.noise is None:
        return resolve_noise(SERIAL_NOISE, "white", white_pa=sensor.noise_pa)
    overrides = _overrides(sensor.noise)
    if sensor.noise.white_pa is None:
        overrides["white_pa"] = sensor.noise_pa
    return resolve_noise(SERIAL_NOISE, sensor.noise.model, **overrides)


def _overrides(spec: NoiseSpec) -> dict[str, float | None]:
    return spec.model_dump(exclude={"model"})

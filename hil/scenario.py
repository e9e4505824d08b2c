"""Scenario files: the chamber, the sensors on the simulated bus, and timed events.

    seed = 1                      # noise is reproducible for a given seed
    [[zones]]
    id = "chamber"
    volume_m3 = 0.05
    pressure_pa = 101325.0
    temperature_k = 295.15
    ambient_pressure_pa = 0.0     # outside the hole: 0 for vacuum
    drift_k_per_s = 0.0
    cycle_amplitude_k = 0.0
    cycle_period_s = 5520.0
    [[sensors]]
    kind = "bmp388"               # or "bmp390"
    zone = "chamber"
    address = 0x77
    noise = true
    [[events]]
    at_s = 20.0
    zone = "chamber"
    action = "open_hole"          # or "close_holes"
    diameter_mm = 0.05
    discharge_coefficient = 0.62

Times are seconds after the simulator starts. The format is documented in
hil/README.md.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .expectations import Expectation

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


class SensorSpec(_Strict):
    kind: Literal["bmp388", "bmp390", "ms5611", "ms5607"]
    zone: str
    address: int = Field(ge=0x03, le=0x77)
    noise: bool = True
    # How the daemon samples it in a HIL run (keys of `[[sensors]]` in its config).
    id: str | None = Field(default=None, pattern=_ID)
    rate_hz: float = Field(default=25.0, gt=0)
    pressure_oversampling: int | None = None
    temperature_oversampling: int | None = None
    iir_coefficient: int | None = None

    @property
    def sensor_id(self) -> str:
        return self.id or f"{self.kind}-{self.address:02x}"


class EventSpec(_Strict):
    at_s: float = Field(ge=0)
    zone: str
    action: Literal["open_hole", "close_holes"]
    diameter_mm: float | None = Field(default=None, gt=0)
    discharge_coefficient: float = Field(default=0.62, gt=0, le=1)

    @model_validator(mode="after")
    def _hole_has_size(self) -> EventSpec:
        if self.action == "open_hole" and self.diameter_mm is None:
            raise ValueError("open_hole needs diameter_mm")
        return self


class SerialSensorSpec(_Strict):
    """An instrument on a serial line, served on a pseudo-terminal behind `link`."""

    kind: Literal["serial_bridge", "ptb330"]
    zone: str
    link: str  # absolute path of the symlink the daemon opens, like /dev/serial/by-id/...
    rate_hz: float = Field(default=10.0, gt=0, le=100)  # a bridge's frame rate
    address: int | None = Field(default=None, ge=0, le=255)  # a PTB330's RS-485 address
    noise_pa: float = Field(default=0.5, ge=0)

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
    duration_s: float = Field(default=60.0, gt=0)
    zones: list[ZoneSpec] = Field(min_length=1)
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
            *(event.zone for event in self.events),
        ]
        for zone in referring:
            if zone not in zone_ids:
                raise ValueError(f"unknown zone {zone!r}; zones are {sorted(zone_ids)}")
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


def load_scenario(path: Path) -> Scenario:
    with path.open("rb") as handle:
        return Scenario.model_validate(tomllib.load(handle))

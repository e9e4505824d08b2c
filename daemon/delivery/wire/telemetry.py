"""The telemetry document: `<prefix>/<station>/zones/<zone>/telemetry`, QoS 0, not retained."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .fields import Identifier, LevelName, UtcTime, WireDocument


class TemperatureLag(WireDocument):
    """One sensor's thermal lag: the configured one and the one measured from its data."""

    configured_s: float = Field(description="`temperature_lag_s` as configured, s.")
    estimated_s: float | None = Field(
        description="The lag measured online, s; null until it is known (about 40 minutes "
        "into a thermal cycle)."
    )
    estimated_stderr_s: float | None = Field(
        description="Standard error of `estimated_s`, s; null when that is null."
    )


class Telemetry(WireDocument):
    """A zone's figures every `telemetry_interval_s`, best effort: while the broker is away
    only the newest `telemetry_buffer_per_zone` are kept. No version field: a field is
    only ever added (subscribers ignore what they do not know)."""

    station: Identifier = Field(description="The station (`station`).")
    zone: Identifier = Field(description="The zone (`zones[].id`).")
    time: UtcTime = Field(description="When (UTC, wall clock; a replay: recording time).")
    pressure_pa: float = Field(description="Newest pressure, Pa (mean over the zone's sensors).")
    temperature_c: float = Field(description="Newest temperature, °C (mean over the sensors).")
    dpdt_pa_per_s: float = Field(description="Temperature-compensated pressure rate, Pa/s.")
    dpdt_stderr_pa_per_s: float = Field(description="Standard error of `dpdt_pa_per_s`, Pa/s.")
    level: LevelName = Field(description="The zone's level now.")
    window_fill: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        description="Fraction of the window that holds samples, 0 to 1 (the fullest of the "
        "zone's windows)."
    )
    sensors: list[Identifier] = Field(description="The sensors whose samples made these figures.")
    sensors_suspect: list[Identifier] = Field(
        default_factory=list,
        description="Sensors whose rate disagrees with the zone's others (set aside). Absent "
        "(empty here) from the telemetry of the first daemons, before sensors voted.",
    )
    temperature_lag: dict[Identifier, TemperatureLag] = Field(
        default_factory=dict,
        description="Per sensor of the zone, its thermal lag. Absent (empty here) from the "
        "telemetry of daemons before the lag was measured online.",
    )

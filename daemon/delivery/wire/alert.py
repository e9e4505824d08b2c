"""The alert document: `<prefix>/<station>/zones/<zone>/alert`, QoS 1, retained."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field

from .fields import INT64_MAX, EventId, Identifier, LevelName, UtcTime, WireDocument

# Bumped when a field is removed, renamed or changes its type or meaning; a field
# added is not a new version (subscribers ignore what they do not know).
ALERT_SCHEMA_VERSION: Final = 1
AlertKind = Literal["level_change", "update"]

# Fields that alerts of schema 1 gained after the first daemon (`sensors_suspect`, then
# with issue 5 the uncertainties, the mass rate, the window and its significance) have
# a default: what an older daemon's alert means by leaving them out.
_SINCE_ISSUE_5 = "Absent (null here) from the alerts of daemons before issue 5."


class Alert(WireDocument):
    """A zone's level and the leak's figures, on every level change and every
    `alert_update_interval_s` while not `ok`. At least once: drop duplicates by
    `event_id`. An empty retained message on the topic clears it (the zone was removed)."""

    schema_version: Literal[1] = Field(
        alias="schema", description="Document version: 1. Any other number is another contract."
    )
    event_id: EventId = Field(description="UUID 4 of this alert; a redelivery repeats it.")
    seq: Annotated[int, Field(ge=1, le=INT64_MAX)] = Field(
        description="Alerts of the station counted from 1; never goes backwards, across "
        "restarts too. A gap is a dropped alert (the delivery report says so)."
    )
    station: Identifier = Field(description="The station that raised it (`station`).")
    zone: Identifier = Field(description="The zone it is about (`zones[].id`).")
    kind: AlertKind = Field(
        description="`level_change` when the level moved, `update` for fresh figures at a level."
    )
    level: LevelName = Field(description="The zone's level now.")
    previous_level: LevelName = Field(description="The level the previous alert published.")
    time: UtcTime = Field(
        description="When it was raised (UTC, wall clock; a replay: recording time)."
    )
    pressure_pa: float = Field(description="Newest pressure, Pa (mean over the zone's sensors).")
    temperature_c: float = Field(description="Newest temperature, °C (mean over the sensors).")
    dpdt_pa_per_s: float = Field(description="Temperature-compensated pressure rate, Pa/s.")
    dpdt_stderr_pa_per_s: float = Field(description="Standard error of `dpdt_pa_per_s`, Pa/s.")
    leak_rate_pa_m3_per_s: float = Field(description="pV leak rate V·|dP/dt|, Pa·m³/s.")
    leak_rate_stderr_pa_m3_per_s: float | None = Field(
        None,
        description="Standard error of `leak_rate_pa_m3_per_s`, Pa·m³/s. Every daemon sends "
        "it; optional to subscribers, as `hullwatch watch` has always read it.",
    )
    leak_rate_sccm: float = Field(
        description="The leak rate in standard cm³/min (0 °C, 1013.25 hPa), sccm."
    )
    hole_diameter_mm: float | None = Field(
        description="The round hole that passes this flow (orifice law), mm; null when the "
        "pressure is not falling."
    )
    reserve_time_s: float | None = Field(
        description="Time until `floor_pa` through a fixed hole, s; null when not falling."
    )
    leak_rate_stderr_sccm: float | None = Field(
        None, description=f"Standard error of `leak_rate_sccm`, sccm. {_SINCE_ISSUE_5}"
    )
    leak_rate_kg_per_day: float | None = Field(
        None, description=f"The leak rate as a mass of air lost per day, kg/day. {_SINCE_ISSUE_5}"
    )
    leak_rate_stderr_kg_per_day: float | None = Field(
        None, description=f"Standard error of `leak_rate_kg_per_day`, kg/day. {_SINCE_ISSUE_5}"
    )
    hole_diameter_stderr_mm: float | None = Field(
        None,
        description="Standard error of `hole_diameter_mm`, mm; null when that is null. "
        + _SINCE_ISSUE_5,
    )
    reserve_time_stderr_s: float | None = Field(
        None,
        description="Standard error of `reserve_time_s`, s; null when that is null. "
        + _SINCE_ISSUE_5,
    )
    estimate_window_s: float | None = Field(
        None,
        description="The window the figures come from, s (with a bank of windows, the "
        f"longest that agrees with every shorter one). {_SINCE_ISSUE_5}",
    )
    significance_sigma: float | None = Field(
        None,
        description="The significance that window must reach to raise a level, in standard "
        f"errors. {_SINCE_ISSUE_5}",
    )
    sensors: list[Identifier] = Field(description="The sensors whose samples made these figures.")
    sensors_suspect: list[Identifier] = Field(
        default_factory=list,
        description="Sensors whose rate disagrees with the zone's others (set aside). Absent "
        "(empty here) from the alerts of the first daemons, before sensors voted.",
    )
    reason: str = Field(description="Why, in words: the rate, its significance, the threshold.")

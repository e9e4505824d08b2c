"""The documents the service publishes (alert, telemetry, sensor health), built from its
figures as the wire contract's models (`wire`), rounded as published."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Protocol, cast

from ..detection.assessment import Assessment
from ..detection.lag_estimate import LagEstimate
from .wire import (
    ALERT_SCHEMA_VERSION,
    Alert,
    AlertKind,
    SensorHealth,
    Telemetry,
    TemperatureLag,
    utc_time,
)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def alert_document(
    assessment: Assessment, *, station: str, seq: int, kind: str, now: datetime | None = None
) -> Alert:
    """`kind` is `level_change` when the level moved, `update` for fresh estimates at a level."""
    a = assessment
    return Alert(
        schema=ALERT_SCHEMA_VERSION,
        event_id=str(uuid.uuid4()),
        seq=seq,
        station=station,
        zone=a.zone_id,
        kind=cast(AlertKind, kind),  # the model refuses any other
        level=a.level.value,
        previous_level=a.previous_level.value,
        time=utc_time(now),
        pressure_pa=round(a.pressure_pa, 2),
        temperature_c=round(a.temperature_c, 3),
        dpdt_pa_per_s=round(a.dpdt_pa_per_s, 6),
        dpdt_stderr_pa_per_s=round(a.dpdt_stderr_pa_per_s, 6),
        leak_rate_pa_m3_per_s=round(a.leak_rate_pa_m3_per_s, 9),
        leak_rate_stderr_pa_m3_per_s=round(a.leak_rate_stderr_pa_m3_per_s, 9),
        leak_rate_sccm=round(a.leak_rate_sccm, 4),
        hole_diameter_mm=_rounded(a.hole_diameter_mm, 5),
        reserve_time_s=_rounded(a.reserve_time_s, 1),
        # One standard error each, propagated from the slope's (docs/detection.md).
        leak_rate_stderr_sccm=round(a.leak_rate_stderr_sccm, 4),
        leak_rate_kg_per_day=round(a.leak_rate_kg_per_day, 6),
        leak_rate_stderr_kg_per_day=round(a.leak_rate_stderr_kg_per_day, 6),
        hole_diameter_stderr_mm=_rounded(a.hole_diameter_stderr_mm, 5),
        reserve_time_stderr_s=_rounded(a.reserve_time_stderr_s, 1),
        estimate_window_s=round(a.estimate_window_s, 3),
        significance_sigma=round(a.significance_sigma, 3),
        sensors=list(a.sensors_used),
        sensors_suspect=list(a.sensors_suspect),
        reason=a.reason,
    )


def telemetry_document(
    assessment: Assessment,
    *,
    station: str,
    lags: dict[str, tuple[float, LagEstimate | None]] | None = None,
    now: datetime | None = None,
) -> Telemetry:
    """`lags`: per sensor, the configured thermal lag and the measured one; `now`: the
    document's time (default: the wall clock; a replay gives recording time)."""
    a = assessment
    return Telemetry(
        station=station,
        zone=a.zone_id,
        time=utc_time(now),
        pressure_pa=round(a.pressure_pa, 2),
        temperature_c=round(a.temperature_c, 3),
        dpdt_pa_per_s=round(a.dpdt_pa_per_s, 6),
        dpdt_stderr_pa_per_s=round(a.dpdt_stderr_pa_per_s, 6),
        level=a.level.value,
        window_fill=round(a.window_fill, 3),
        sensors=list(a.sensors_used),
        sensors_suspect=list(a.sensors_suspect),
        temperature_lag={
            sensor_id: TemperatureLag(
                configured_s=configured_s,
                estimated_s=None if estimate is None else round(estimate.lag_s, 2),
                estimated_stderr_s=None if estimate is None else round(estimate.stderr_s, 2),
            )
            for sensor_id, (configured_s, estimate) in (lags or {}).items()
        },
    )


class SensorState(Protocol):
    """What a health document tells of a sensor (the service's pollers have it):
    delivery needs no poller, only these."""

    @property
    def sensor_id(self) -> str: ...
    @property
    def health(self) -> Enum: ...
    @property
    def health_reason(self) -> str: ...
    @property
    def health_since(self) -> datetime: ...
    @property
    def samples_taken(self) -> int: ...
    @property
    def samples_accepted(self) -> int: ...


def health_document(poller: SensorState, *, station: str, zone_id: str) -> SensorHealth:
    return SensorHealth(
        station=station,
        sensor=poller.sensor_id,
        zone=zone_id,
        health=poller.health.value,
        reason=poller.health_reason,
        since=utc_time(poller.health_since),
        time=utc_time(),
        samples_taken=poller.samples_taken,
        samples_accepted=poller.samples_accepted,
    )

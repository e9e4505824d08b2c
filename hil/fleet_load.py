"""The documents of simulated stations, made by the daemon's own document functions.

For the archive's and the wire contract's tests and `bench/archive_throughput.py`:
each station has zones that publish telemetry (`telemetry_document`) and raise
alerts (`alert_document`), with the figures a leaking 50 L zone would report, and
sensors that publish their health (`health_document`), so sizes and shapes are the
daemon's to the byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hullwatch.daemon.delivery.alert_document import (
    alert_document,
    health_document,
    telemetry_document,
)
from hullwatch.daemon.delivery.topics import Topics
from hullwatch.daemon.delivery.wire import Alert, SensorHealth, Telemetry
from hullwatch.daemon.detection.assessment import Assessment
from hullwatch.daemon.detection.lag_estimate import LagEstimate
from hullwatch.daemon.detection.levels import Level
from hullwatch.daemon.service.poller import Health

PREFIX = "hullwatch"


def _assessment(zone: str, level: Level, previous: Level, dpdt_pa_per_s: float) -> Assessment:
    fall = max(-dpdt_pa_per_s, 0.0)
    leak_pv = fall * 0.05  # a 50 L zone
    return Assessment(
        zone_id=zone,
        level=level,
        previous_level=previous,
        reason=f"pressure falling {fall:.4g} ± 0.05 Pa/s (9.1 σ over 10 s)",
        pressure_pa=101_300.0 - 50 * fall,
        temperature_c=21.437,
        dpdt_pa_per_s=dpdt_pa_per_s,
        dpdt_stderr_pa_per_s=0.0512,
        leak_rate_pa_m3_per_s=leak_pv,
        leak_rate_stderr_pa_m3_per_s=0.00256,
        leak_rate_sccm=leak_pv * 592.2,
        hole_diameter_mm=0.05 + fall / 100 if fall else None,
        reserve_time_s=86_400.0 / (1 + fall) if fall else None,
        sensors_used=("bmp-a", "bmp-b"),
        sensors_suspect=(),
        window_fill=1.0,
        leak_rate_stderr_sccm=1.516,
        leak_rate_kg_per_day=leak_pv * 1.02,
        leak_rate_stderr_kg_per_day=0.0026,
        hole_diameter_stderr_mm=0.0027 if fall else None,
        reserve_time_stderr_s=7_900.0 if fall else None,
        estimate_window_s=10.0,
        significance_sigma=5.0,
    )


def station_alert(
    station: str, zone: str, seq: int, *, level: Level = Level.WARNING, now: datetime | None = None
) -> Alert:
    """The station's alert number `seq`: a level change from ok for the first, then updates."""
    previous = Level.OK if seq == 1 else level
    kind = "level_change" if level is not previous else "update"
    return alert_document(
        _assessment(zone, level, previous, -0.25 - 0.001 * seq),
        station=station,
        seq=seq,
        kind=kind,
        now=now,
    )


def alert_message(
    station: str, zone: str, seq: int, *, level: Level = Level.WARNING, now: datetime | None = None
) -> tuple[str, str, dict[str, Any]]:
    """(topic, payload, document) of one alert (`station_alert`), as the daemon publishes it."""
    document = station_alert(station, zone, seq, level=level, now=now)
    return Topics(PREFIX, station).alert(zone), document.wire_json(), document.wire_dict()


def station_telemetry(
    station: str, zone: str, *, now: datetime | None = None, level: Level = Level.OK
) -> Telemetry:
    # The daemon lists every sensor's thermal lag (configured, and measured once known).
    lags: dict[str, tuple[float, LagEstimate | None]] = {
        "bmp-a": (60.0, None),
        "bmp-b": (60.0, None),
    }
    return telemetry_document(
        _assessment(zone, level, level, -0.0012), station=station, lags=lags, now=now
    )


def telemetry_message(
    station: str, zone: str, *, now: datetime, level: Level = Level.OK
) -> tuple[str, str]:
    """(topic, payload) of one telemetry document, as the daemon publishes it."""
    document = station_telemetry(station, zone, now=now, level=level)
    return Topics(PREFIX, station).telemetry(zone), document.wire_json()


@dataclass(frozen=True)
class _Sensor:
    """What `health_document` reads of a poller."""

    sensor_id: str
    health: Health
    health_reason: str
    health_since: datetime
    samples_taken: int
    samples_accepted: int


def station_health(
    station: str, zone: str, sensor: str, *, health: Health = Health.OK, reason: str = "ok"
) -> SensorHealth:
    since = utc_now() - timedelta(minutes=5)
    state = _Sensor(sensor, health, reason, since, samples_taken=7500, samples_accepted=7490)
    return health_document(state, station=station, zone_id=zone)


def health_message(
    station: str, zone: str, sensor: str, *, health: Health = Health.OK, reason: str = "ok"
) -> tuple[str, str]:
    """(topic, payload) of one sensor health document, as the daemon publishes it."""
    document = station_health(station, zone, sensor, health=health, reason=reason)
    return Topics(PREFIX, station).health(sensor), document.wire_json()


def telemetry_times(start: datetime, count: int, interval_s: float = 1.0) -> list[datetime]:
    return [start + timedelta(seconds=i * interval_s) for i in range(count)]


def utc_now() -> datetime:
    return datetime.now(UTC)

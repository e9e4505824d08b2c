"""From an MQTT message to a row of the archive, or the reason it cannot be one.

Pure: no I/O. The shapes are the daemon's wire contract (`hullwatch.daemon.delivery.wire`,
docs/schema/), read by the subscriber's rules (`parse_document`): fields a newer daemon
adds are ignored; a document the contract refuses (a field missing or of the wrong
type, another schema version), a station or zone that differs from the topic's, or a
topic the archive does not know makes a `Rejection` (stored in the `rejected` table,
never dropped).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from hullwatch.daemon.delivery.wire import (
    Alert,
    DeliveryReport,
    DocumentError,
    SensorHealth,
    StationStatus,
    Telemetry,
    WireDocument,
    parse_document,
)

D = TypeVar("D", bound=WireDocument)
_REASON_MAX_CHARS = 500


class Table(Enum):
    ALERT = "alert"
    TELEMETRY = "telemetry"
    HEALTH = "sensor_health"
    STATUS = "station_status"
    DELIVERY = "delivery"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # the contract's `UtcTime`: ISO 8601, `Z`


def _alert_row(alert: Alert, received_at: datetime, payload: bytes) -> tuple[Any, ...]:
    a = alert
    return (
        UUID(a.event_id), a.station, a.zone, a.seq, a.kind, a.level, a.previous_level,
        _time(a.time), received_at, a.pressure_pa, a.temperature_c, a.dpdt_pa_per_s,
        a.dpdt_stderr_pa_per_s, a.leak_rate_pa_m3_per_s, a.leak_rate_sccm,
        a.leak_rate_kg_per_day, a.hole_diameter_mm, a.reserve_time_s, a.reason,
        payload.decode(),
    )  # fmt: skip


def _telemetry_row(t: Telemetry, received_at: datetime, payload: bytes) -> tuple[Any, ...]:
    return (
        t.station, t.zone, _time(t.time), t.pressure_pa, t.temperature_c, t.dpdt_pa_per_s,
        t.dpdt_stderr_pa_per_s, t.level, t.window_fill,
    )  # fmt: skip


def _health_row(h: SensorHealth, received_at: datetime, payload: bytes) -> tuple[Any, ...]:
    return (
        h.station, h.sensor, h.zone, h.health, h.reason, _time(h.since), _time(h.time),
        h.samples_taken, h.samples_accepted,
    )  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One row for `table`; `values` in the order of `COLUMNS[table]`."""

    table: Table
    station: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Rejection:
    station: str | None
    reason: str


@dataclass(frozen=True)
class Cleared:
    """An empty retained message: the daemon deleted a zone's alert or a sensor's health
    topic (the zone or sensor left its configuration). Nothing to store."""


Parsed = Row | Rejection | Cleared

COLUMNS: dict[Table, tuple[str, ...]] = {
    Table.ALERT: (
        "event_id", "station", "zone", "seq", "kind", "level", "previous_level", "time",
        "received_at", "pressure_pa", "temperature_c", "dpdt_pa_per_s", "dpdt_stderr_pa_per_s",
        "leak_rate_pa_m3_per_s", "leak_rate_sccm", "leak_rate_kg_per_day", "hole_diameter_mm",
        "reserve_time_s", "reason", "document",
    ),
    Table.TELEMETRY: (
        "station", "zone", "time", "pressure_pa", "temperature_c", "dpdt_pa_per_s",
        "dpdt_stderr_pa_per_s", "level", "window_fill",
    ),
    Table.HEALTH: (
        "station", "sensor", "zone", "health", "reason", "since", "time", "samples_taken",
        "samples_accepted",
    ),
    Table.STATUS: ("station", "status", "received_at"),
    Table.DELIVERY: ("station", "delivery", "received_at"),
}  # fmt: skip


def parse_message(prefix: str, topic: str, payload: bytes, received_at: datetime) -> Parsed:
    """What the message on `topic` becomes in the archive (`prefix`: the daemons'
    `mqtt.topic_prefix`)."""
    if not topic.startswith(prefix + "/"):
        return Rejection(None, f"topic outside the prefix {prefix!r}")
    levels = topic[len(prefix) + 1 :].split("/")
    station = levels[0]
    match levels[1:]:
        case ["status"]:
            return _status(station, payload, received_at)
        case ["delivery"]:
            return _delivery(station, payload, received_at)
        case ["zones", zone, "alert"]:
            if not payload:
                return Cleared()
            return _document_row(
                Table.ALERT, Alert, _alert_row, station, ("zone", zone), payload, received_at
            )
        case ["zones", zone, "telemetry"]:
            return _document_row(
                Table.TELEMETRY, Telemetry, _telemetry_row, station, ("zone", zone), payload,
                received_at,
            )  # fmt: skip
        case ["sensors", sensor, "health"]:
            if not payload:
                return Cleared()
            return _document_row(
                Table.HEALTH, SensorHealth, _health_row, station, ("sensor", sensor), payload,
                received_at,
            )  # fmt: skip
    return Rejection(station, "unknown topic: not a status, alert, telemetry, health or delivery")


def _status(station: str, payload: bytes, received_at: datetime) -> Parsed:
    try:
        status = StationStatus.from_payload(payload)
    except ValueError:
        return Rejection(station, "status must be `online` or `offline`")
    return Row(Table.STATUS, station, (station, status.payload, received_at))


def _delivery(station: str, payload: bytes, received_at: datetime) -> Parsed:
    try:
        report = parse_document(DeliveryReport, payload)
    except DocumentError as exc:
        return Rejection(station, str(exc))
    mismatch = _mismatch("station", station, report.station)
    if mismatch:
        return Rejection(station, mismatch)
    return Row(Table.DELIVERY, station, (station, json.dumps(report.wire_dict()), received_at))


def _document_row(
    table: Table,
    model: type[D],
    row: Callable[[D, datetime, bytes], tuple[Any, ...]],
    station: str,
    named: tuple[str, str],
    payload: bytes,
    received_at: datetime,
) -> Parsed:
    """`named`: the topic level besides the station that the document must repeat
    (`("zone", "chamber")`, `("sensor", "bmp-a")`); `row`: the row's values, in the order
    of `COLUMNS[table]`."""
    try:
        document = parse_document(model, payload)
    except DocumentError as exc:
        return Rejection(station, str(exc))
    what, in_topic = named
    mismatch = _mismatch("station", station, getattr(document, "station", None)) or _mismatch(
        what, in_topic, getattr(document, what)
    )
    if mismatch:
        return Rejection(station, mismatch)
    return Row(table, station, row(document, received_at, payload))


def _mismatch(what: str, in_topic: str, in_document: object) -> str | None:
    if in_document == in_topic:
        return None
    return f"{what} {in_document!r} in the document, {in_topic!r} in the topic"[:_REASON_MAX_CHARS]

"""From an MQTT message to a row of the archive, or the reason it cannot be one.

Pure: no I/O. The shapes are the daemon's (`hullwatch.daemon.delivery.alert_document`,
`hullwatch.daemon.delivery.topics`, the README's "MQTT topics and payloads"). Fields a newer
daemon adds are ignored; a field the archive stores that is missing or of the wrong
type, a station or zone that differs from the topic's, or a topic the archive does
not know makes a `Rejection` (stored in the `rejected` table, never dropped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

Level = Literal["ok", "warning", "critical"]
_MAX_BIGINT = 2**63 - 1
BigInt = Annotated[int, Field(ge=0, le=_MAX_BIGINT)]
_REASON_MAX_CHARS = 500


class Table(Enum):
    ALERT = "alert"
    TELEMETRY = "telemetry"
    HEALTH = "sensor_health"
    STATUS = "station_status"
    DELIVERY = "delivery"


class _Document(BaseModel):
    # Strict JSON validation: a number is not a string, a bool is not a number.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class _StoredDocument(_Document):
    station: str

    def row_values(self, received_at: datetime, payload: bytes) -> tuple[Any, ...]:
        """The row, in the order of `COLUMNS[table]`."""
        raise NotImplementedError


class AlertDocument(_StoredDocument):
    schema_: Literal[1] = Field(alias="schema")
    event_id: UUID
    seq: BigInt
    station: str
    zone: str
    kind: Literal["level_change", "update"]
    level: Level
    previous_level: Level
    time: AwareDatetime
    pressure_pa: float | None = None
    temperature_c: float | None = None
    dpdt_pa_per_s: float | None = None
    dpdt_stderr_pa_per_s: float | None = None
    leak_rate_pa_m3_per_s: float | None = None
    leak_rate_sccm: float | None = None
    leak_rate_kg_per_day: float | None = None
    hole_diameter_mm: float | None = None
    reserve_time_s: float | None = None
    reason: str | None = None

    def row_values(self, received_at: datetime, payload: bytes) -> tuple[Any, ...]:
        return (
            self.event_id, self.station, self.zone, self.seq, self.kind, self.level,
            self.previous_level, self.time, received_at, self.pressure_pa, self.temperature_c,
            self.dpdt_pa_per_s, self.dpdt_stderr_pa_per_s, self.leak_rate_pa_m3_per_s,
            self.leak_rate_sccm, self.leak_rate_kg_per_day, self.hole_diameter_mm,
            self.reserve_time_s, self.reason, payload.decode(),
        )  # fmt: skip


class TelemetryDocument(_StoredDocument):
    station: str
    zone: str
    time: AwareDatetime
    pressure_pa: float
    temperature_c: float
    dpdt_pa_per_s: float | None
    dpdt_stderr_pa_per_s: float | None
    level: Level
    window_fill: Annotated[float, Field(ge=0.0, le=1.0)]

    def row_values(self, received_at: datetime, payload: bytes) -> tuple[Any, ...]:
        return (
            self.station, self.zone, self.time, self.pressure_pa, self.temperature_c,
            self.dpdt_pa_per_s, self.dpdt_stderr_pa_per_s, self.level, self.window_fill,
        )  # fmt: skip


class HealthDocument(_StoredDocument):
    station: str
    sensor: str
    zone: str
    health: Literal["ok", "degraded", "failed"]
    reason: str | None
    since: AwareDatetime
    time: AwareDatetime
    samples_taken: BigInt
    samples_accepted: BigInt

    def row_values(self, received_at: datetime, payload: bytes) -> tuple[Any, ...]:
        return (
            self.station, self.sensor, self.zone, self.health, self.reason, self.since,
            self.time, self.samples_taken, self.samples_accepted,
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
_M = TypeVar("_M", bound=_Document)

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
                Table.ALERT, AlertDocument, station, ("zone", zone), payload, received_at
            )
        case ["zones", zone, "telemetry"]:
            return _document_row(
                Table.TELEMETRY, TelemetryDocument, station, ("zone", zone), payload, received_at
            )
        case ["sensors", sensor, "health"]:
            if not payload:
                return Cleared()
            return _document_row(
                Table.HEALTH, HealthDocument, station, ("sensor", sensor), payload, received_at
            )
    return Rejection(station, "unknown topic: not a status, alert, telemetry, health or delivery")


def _status(station: str, payload: bytes, received_at: datetime) -> Parsed:
    if payload not in (b"online", b"offline"):
        return Rejection(station, "status must be `online` or `offline`")
    return Row(Table.STATUS, station, (station, payload.decode(), received_at))


def _delivery(station: str, payload: bytes, received_at: datetime) -> Parsed:
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        return Rejection(station, f"not JSON: {exc}"[:_REASON_MAX_CHARS])
    if not isinstance(document, dict):
        return Rejection(station, "not a JSON object")
    mismatch = _mismatch("station", station, document.get("station"))
    if mismatch:
        return Rejection(station, mismatch)
    return Row(Table.DELIVERY, station, (station, json.dumps(document), received_at))


def _document_row(
    table: Table,
    model: type[_StoredDocument],
    station: str,
    named: tuple[str, str],
    payload: bytes,
    received_at: datetime,
) -> Parsed:
    """`named`: the topic level besides the station that the document must repeat
    (`("zone", "chamber")`, `("sensor", "bmp-a")`)."""
    document = _validated(model, payload)
    if isinstance(document, str):
        return Rejection(station, document)
    what, in_topic = named
    mismatch = _mismatch("station", station, document.station) or _mismatch(
        what, in_topic, getattr(document, what)
    )
    if mismatch:
        return Rejection(station, mismatch)
    return Row(table, station, document.row_values(received_at, payload))


def _validated(model: type[_M], payload: bytes) -> _M | str:
    """The document, or why it is not one (`field: problem; ...`)."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        return _explain(exc)


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["type"] == "json_invalid":
            problems.append(f"not JSON: {error['msg'].removeprefix('Invalid JSON: ')}")
            continue
        if error["type"] == "model_type":
            problems.append("not a JSON object")
            continue
        field = ".".join(str(part) for part in error["loc"])
        problems.append(f"{field}: {error['msg']}")
    return "; ".join(problems)[:_REASON_MAX_CHARS]


def _mismatch(what: str, in_topic: str, in_document: object) -> str | None:
    if in_document == in_topic:
        return None
    return f"{what} {in_document!r} in the document, {in_topic!r} in the topic"[:_REASON_MAX_CHARS]

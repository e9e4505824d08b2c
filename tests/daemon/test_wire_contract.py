"""The wire contract (daemon/delivery/wire/): the models, the JSON Schema files generated
from them (docs/schema/), and what the daemon's producers publish: current files, every
published payload valid against them and read back byte for byte, the wire format
unchanged, and the versioning rules (producers refuse unknown fields, subscribers
ignore them)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from hullwatch.daemon.delivery.alert_document import alert_document, telemetry_document
from hullwatch.daemon.delivery.delivery_queue import DELIVERY_TOPIC_LEVEL
from hullwatch.daemon.delivery.outbox import Outbox
from hullwatch.daemon.delivery.publisher import Publisher
from hullwatch.daemon.delivery.topics import Topics
from hullwatch.daemon.delivery.wire import (
    OFFLINE,
    ONLINE,
    Alert,
    DocumentError,
    LevelName,
    SensorHealth,
    StationStatus,
    Telemetry,
    WireDocument,
    parse_document,
)
from hullwatch.daemon.delivery.wire.schema import DOCUMENTS, schema_text
from hullwatch.daemon.detection.assessment import Assessment
from hullwatch.daemon.detection.lag_estimate import LagEstimate
from hullwatch.daemon.detection.levels import Level
from hullwatch.daemon.service.alert_policy import AlertPolicy
from hullwatch.daemon.service.poller import Health
from hullwatch.daemon.settings.config import MqttSettings, load_config
from hullwatch.hil.fleet_load import station_alert, station_health, station_telemetry
from tests.daemon.test_restart_levels import CONFIG as ONE_SENSOR
from tests.daemon.test_restart_levels import RATE_HZ
from tests.wire_schemas import SCHEMA_DIR, check_payload, validator

NOW = datetime(2026, 12, 3, 12, 0, 0, 123_456, tzinfo=UTC)
# The restart tests' zone and sensor, and a second sensor beside it (two sensors vote).
CONFIG = f"""{ONE_SENSOR}
[[sensors]]
id = "b"
zone = "hull"
driver = "bmp388"
bus = "/dev/i2c-1"
address = 0x76
rate_hz = {RATE_HZ}
"""


# --- the schema files ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_schema_files_are_what_the_models_give(name: str) -> None:
    path = SCHEMA_DIR / f"{name}.schema.json"
    assert path.read_text(encoding="utf-8") == schema_text(DOCUMENTS[name]), (
        f"{path} is stale: run `.venv/bin/python scripts/generate-schema`"
    )
    Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_every_topic_the_daemon_publishes_on_has_a_document() -> None:
    topic_builders = {name for name in vars(Topics) if not name.startswith("_")} - {"base"}
    assert {*topic_builders, DELIVERY_TOPIC_LEVEL} == set(DOCUMENTS)
    assert {path.name for path in SCHEMA_DIR.iterdir()} == {
        f"{name}.schema.json" for name in DOCUMENTS
    }


def test_the_literals_are_the_daemons_enums() -> None:
    assert set(get_args(LevelName)) == {level.value for level in Level}
    health = SensorHealth.model_fields["health"].annotation
    # A poller is `starting` until its first health change: never published.
    assert set(get_args(health)) == {h.value for h in Health} - {Health.STARTING.value}


# --- what the producers publish --------------------------------------------------------


def _assessments(tmp_path: Path) -> list[tuple[Assessment, str]]:
    """(assessment, alert kind) of a zone of two sensors that starts sealed and then leaks
    ever faster, through the daemon's router: ok, warning and critical, with and without
    a hole, the figures before the window is full too."""
    path = tmp_path / "bench.toml"
    path.write_text(CONFIG)
    alerts: list[tuple[Assessment, str]] = []
    router = AlertPolicy(load_config(path, {}), lambda a, kind, t_s: alerts.append((a, kind)))
    rng = random.Random(5)
    seen: list[tuple[Assessment, str]] = []
    pressure_pa = 100_000.0
    for i in range(int(60 * RATE_HZ)):
        t_s = i / RATE_HZ
        fall_pa_per_s = 0.0 if t_s < 20 else (2.0 if t_s < 40 else 40.0)
        pressure_pa -= fall_pa_per_s / RATE_HZ
        for sensor in ("a", "b"):
            noisy_pa = pressure_pa + rng.gauss(0.0, 0.05)
            assessment = router.add_sample(sensor, t_s, noisy_pa, 21.0 + rng.gauss(0, 0.01))
            if assessment is not None and i % 97 == 0:
                seen.append((assessment, "update"))
    assert {a.level for a, _ in alerts} == {Level.WARNING, Level.CRITICAL}
    return seen + alerts


def _published(tmp_path: Path) -> list[tuple[str, str]]:
    """(topic, payload) of everything a publisher would send for these assessments: the
    outbox's alerts and health documents, the telemetry, the delivery report, the
    status and the last will."""
    outbox = Outbox.open(tmp_path / "state", max_messages=10_000)
    settings = MqttSettings(topic_prefix="hwtest", telemetry_buffer_per_zone=10_000)
    publisher = Publisher(settings, station="bench", zone_ids=["hull"])
    durable = Publisher(
        MqttSettings(topic_prefix="hwtest"), station="bench", zone_ids=["hull"], outbox=outbox
    )
    lag = LagEstimate(
        lag_s=61.234,
        stderr_s=2.345,
        span_s=3600.0,
        excitation=3.3e-5,
        rows=40,
        segments_used=2,
        segments_set_aside=0,
    )
    lags: dict[str, tuple[float, LagEstimate | None]] = {"a": (60.0, lag), "b": (0.0, None)}
    for seq, (assessment, kind) in enumerate(_assessments(tmp_path), start=1):
        alert = alert_document(assessment, station="bench", seq=seq, kind=kind, now=NOW)
        publisher.publish_alert("hull", alert)
        publisher.publish_telemetry(
            "hull", telemetry_document(assessment, station="bench", lags=lags, now=NOW)
        )
    reasons = ["ok", "[Errno 121] Remote I/O error", "stuck: the same reading 10 times in a row"]
    for health, reason in zip((Health.OK, Health.DEGRADED, Health.FAILED), reasons, strict=True):
        document = station_health("bench", "hull", "a", health=health, reason=f"{reason} (é, \x1b)")
        publisher.publish_health("a", document)
    publisher.clear_retained(publisher.topics.health("gone"))
    published = [(entry.topic, entry.payload) for entry in publisher.outbox.pending()]
    while (telemetry := _telemetry(publisher)) is not None:
        published.append(telemetry)
    for queue in (publisher, durable):
        published.append((queue.delivery_topic, queue.delivery_report().wire_json()))
    will = publisher.connect_options().will
    assert will is not None
    published += [
        (publisher.topics.status, ONLINE.payload),
        (publisher.topics.status, OFFLINE.payload),
        (will.topic, will.payload),
    ]
    outbox.close()
    return published


def _telemetry(publisher: Publisher) -> tuple[str, str] | None:
    """The next buffered telemetry, whether or not the outbox is empty."""
    return publisher._telemetry.popleft() if publisher._telemetry else None


def test_every_published_payload_is_valid_against_its_schema_file(tmp_path: Path) -> None:
    published = _published(tmp_path)
    kinds: dict[str, int] = {}
    for topic, payload in published:
        check_payload(topic, payload)
        name = topic.rsplit("/", 1)[1]
        kinds[name] = kinds.get(name, 0) + 1
    print(f"[wire] payloads checked against docs/schema: {kinds}")
    assert set(kinds) == set(DOCUMENTS)


def test_a_subscriber_reads_back_what_was_published_byte_for_byte(tmp_path: Path) -> None:
    for topic, payload in _published(tmp_path):
        name = topic.rsplit("/", 1)[1]
        if not payload:
            continue  # a cleared retained topic
        if name == "status":
            assert StationStatus.from_payload(payload.encode()).payload == payload
            continue
        model = DOCUMENTS[name]
        assert issubclass(model, WireDocument)
        assert parse_document(model, payload).wire_json() == payload


def test_the_wire_format_is_unchanged() -> None:
    """Key order, rounding, the time to the millisecond with `Z`, compact ASCII JSON: byte
    for byte what the dict-building producers wrote before the models (their output for
    these two, checked when the models came in)."""
    event_id = "0b6f4e2c-0000-4000-8000-000000000000"
    alert = station_alert("lab-1", "chamber", 2, now=NOW).model_copy(update={"event_id": event_id})
    assert alert.wire_json() == (
        '{"schema":1,"event_id":"0b6f4e2c-0000-4000-8000-000000000000","seq":2,'
        '"station":"lab-1","zone":"chamber","kind":"update","level":"warning",'
        '"previous_level":"warning","time":"2026-12-03T12:00:00.123Z","pressure_pa":101287.4,'
        '"temperature_c":21.437,"dpdt_pa_per_s":-0.252,"dpdt_stderr_pa_per_s":0.0512,'
        '"leak_rate_pa_m3_per_s":0.0126,"leak_rate_stderr_pa_m3_per_s":0.00256,'
        '"leak_rate_sccm":7.4617,"hole_diameter_mm":0.05252,"reserve_time_s":69009.6,'
        '"leak_rate_stderr_sccm":1.516,"leak_rate_kg_per_day":0.012852,'
        '"leak_rate_stderr_kg_per_day":0.0026,"hole_diameter_stderr_mm":0.0027,'
        '"reserve_time_stderr_s":7900.0,"estimate_window_s":10.0,"significance_sigma":5.0,'
        '"sensors":["bmp-a","bmp-b"],"sensors_suspect":[],'
        '"reason":"pressure falling 0.252 \\u00b1 0.05 Pa/s (9.1 \\u03c3 over 10 s)"}'
    )
    telemetry = station_telemetry("lab-1", "chamber", now=NOW)
    assert telemetry.wire_json() == (
        '{"station":"lab-1","zone":"chamber","time":"2026-12-03T12:00:00.123Z",'
        '"pressure_pa":101299.94,"temperature_c":21.437,"dpdt_pa_per_s":-0.0012,'
        '"dpdt_stderr_pa_per_s":0.0512,"level":"ok","window_fill":1.0,'
        '"sensors":["bmp-a","bmp-b"],"sensors_suspect":[],"temperature_lag":{'
        '"bmp-a":{"configured_s":60.0,"estimated_s":null,"estimated_stderr_s":null},'
        '"bmp-b":{"configured_s":60.0,"estimated_s":null,"estimated_stderr_s":null}}}'
    )


# --- versioning: producers refuse what is not in the contract, subscribers ignore it ---


ALERT_FIELDS = station_alert("lab-1", "chamber", 1, now=NOW).wire_dict()


def _alert_fields() -> dict[str, Any]:
    return dict(ALERT_FIELDS)


def test_a_producer_cannot_publish_a_field_outside_the_contract() -> None:
    with pytest.raises(ValidationError, match="leak_rate_kgs_per_day"):
        Alert.model_validate({**_alert_fields(), "leak_rate_kgs_per_day": 1.0})
    with pytest.raises(ValidationError, match="finite"):
        Alert.model_validate({**_alert_fields(), "reserve_time_s": float("inf")})


def test_a_subscriber_ignores_fields_a_newer_daemon_adds() -> None:
    payload = json.dumps({**_alert_fields(), "leak_colour": "blue", "figures": {"x": [1]}})
    alert = parse_document(Alert, payload)
    assert alert.model_dump(mode="json") == _alert_fields()
    newer = {"leak_colour": {"type": "string"}}
    validator("alert").validate({**_alert_fields(), **newer})  # the file allows them too


def test_an_alert_of_the_first_daemons_is_read_with_its_later_fields_absent() -> None:
    """Schema 1 gained fields after the first daemon (sensors_suspect, the uncertainties):
    an alert without them is still an alert of schema 1."""
    later = {
        "leak_rate_stderr_pa_m3_per_s", "leak_rate_stderr_sccm", "leak_rate_kg_per_day",
        "leak_rate_stderr_kg_per_day", "hole_diameter_stderr_mm", "reserve_time_stderr_s",
        "estimate_window_s", "significance_sigma", "sensors_suspect",
    }  # fmt: skip
    first = {key: value for key, value in _alert_fields().items() if key not in later}
    alert = parse_document(Alert, json.dumps(first))
    assert (alert.leak_rate_kg_per_day, alert.sensors_suspect) == (None, [])
    validator("alert").validate(first)
    required = set(json.loads((SCHEMA_DIR / "alert.schema.json").read_text())["required"])
    assert required == set(first)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"schema": 2}, "schema: Input should be 1"),
        ({"time": "2026-12-03T12:00:00Z"}, "time: Input should be a UTC time to the millisecond"),
        ({"time": "2026-13-03T12:00:00.000Z"}, "time: Input should be a UTC time"),
        ({"seq": 0}, "seq: Input should be greater than or equal to 1"),
        ({"seq": "7"}, "seq: Input should be a valid integer"),
        ({"level": "alarm"}, "level: Input should be 'ok', 'warning' or 'critical'"),
        ({"event_id": str(uuid.uuid4()).upper()}, "event_id: String should match pattern"),
        ({"zone": "a/b"}, "zone: String should match pattern"),
        ({"sensors": "bmp-a"}, "sensors: Input should be a valid array"),
        ({"hole_diameter_mm": "0.1"}, "hole_diameter_mm: Input should be a valid number"),
    ],
)
def test_a_bad_alert_is_refused_naming_the_field(change: dict[str, Any], error: str) -> None:
    with pytest.raises(DocumentError) as refused:
        parse_document(Alert, json.dumps({**_alert_fields(), **change}))
    assert str(refused.value).startswith(error), refused.value


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b'{"reserve_time_s": 1e400', "not JSON: "),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON: recursion limit exceeded"),
        (b"\xff\xfe", "not JSON: "),
    ],
)
def test_what_is_not_a_document_is_refused_in_one_line(payload: bytes, error: str) -> None:
    with pytest.raises(DocumentError) as refused:
        parse_document(Telemetry, payload)
    assert str(refused.value).startswith(error)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"NaN", b"Infinity", b"9" * 400])
def test_a_number_json_cannot_carry_is_refused(number: bytes) -> None:
    text = json.dumps({**_alert_fields(), "reserve_time_s": 1.0}).replace(
        '"reserve_time_s": 1.0', '"reserve_time_s": ' + number.decode()
    )
    with pytest.raises(DocumentError, match="reserve_time_s: Input should be a finite number"):
        parse_document(Alert, text)


def test_the_status_is_bare_text() -> None:
    assert StationStatus.from_payload(b"online") == ONLINE
    for payload in (b'"online"', b"Online", b"online\n", b"\xff"):
        with pytest.raises(ValueError):  # noqa: PT011  pydantic's, or the UTF-8 decoder's
            StationStatus.from_payload(payload)

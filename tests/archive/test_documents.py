"""From a message to a row or a reason (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hullwatch.archive.documents import COLUMNS, Cleared, Rejection, Row, Table, parse_message
from hullwatch.hil.fleet_load import alert_message, telemetry_message
from tests.daemon.test_fuzz_inputs import PAYLOADS

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_a_daemon_alert_becomes_an_alert_row_with_its_document() -> None:
    topic, payload, document = alert_message("lab-1", "chamber", 7)
    row = parse_message("hullwatch", topic, payload.encode(), NOW)
    assert isinstance(row, Row)
    assert row.table is Table.ALERT
    values = dict(zip(COLUMNS[Table.ALERT], row.values, strict=True))
    assert values["event_id"] == UUID(document["event_id"])
    assert values["seq"] == 7
    assert values["leak_rate_sccm"] == document["leak_rate_sccm"]
    assert json.loads(values["document"]) == document


def test_telemetry_and_status_rows() -> None:
    topic, payload = telemetry_message("lab-1", "chamber", now=NOW)
    row = parse_message("hullwatch", topic, payload.encode(), NOW)
    assert isinstance(row, Row)
    assert row.values[:3] == ("lab-1", "chamber", NOW)
    status = parse_message("hullwatch", "hullwatch/lab-1/status", b"offline", NOW)
    assert status == Row(Table.STATUS, "lab-1", ("lab-1", "offline", NOW))


def test_an_empty_retained_alert_is_a_clearing_not_a_rejection() -> None:
    assert parse_message("hullwatch", "hullwatch/s/zones/z/alert", b"", NOW) == Cleared()


@pytest.mark.parametrize(
    ("topic", "mutate", "reason"),
    [
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: b"\xff\xfe", "not JSON"),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: b"[1, 2]", "not a JSON object"),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: {**d, "seq": True}, "seq: Input"),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: {**d, "seq": -1}, "seq: Input"),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: {**d, "level": "bad"}, "level: Input"),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: {**d, "schema": 2}, "schema: Input"),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: {**d, "time": "noon"}, "time: Input"),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: {**d, "event_id": "x"}, "event_id: "),
        ("hullwatch/lab-1/zones/chamber/alert", lambda d: {**d, "pressure_pa": "1"}, "pressure"),
        (
            "hullwatch/lab-1/zones/chamber/alert",
            lambda d: {k: v for k, v in d.items() if k != "event_id"},
            "event_id: Field required",
        ),
        ("hullwatch/lab-1/zones/other/alert", lambda d: d, "zone 'chamber' in the document"),
        ("hullwatch/lab-2/zones/chamber/alert", lambda d: d, "station 'lab-1' in the document"),
        ("hullwatch/lab-1/zones/chamber", lambda d: d, "unknown topic"),
        ("elsewhere/lab-1/zones/chamber/alert", lambda d: d, "topic outside the prefix"),
        ("hullwatch/lab-1/status", lambda d: b"maybe", "status must be"),
    ],
)
def test_bad_messages_are_rejections_with_a_reason(topic: str, mutate: object, reason: str) -> None:
    _, _, document = alert_message("lab-1", "chamber", 1)
    changed = mutate(document)  # type: ignore[operator]
    payload = changed if isinstance(changed, bytes) else json.dumps(changed).encode()
    result = parse_message("hullwatch", topic, payload, NOW)
    assert isinstance(result, Rejection)
    assert result.reason.startswith(reason) or reason in result.reason, result.reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=PAYLOADS,
    topic=st.sampled_from(
        [
            "hullwatch/demo/zones/chamber/alert",
            "hullwatch/demo/zones/chamber/telemetry",
            "hullwatch/demo/sensors/a/health",
            "hullwatch/demo/status",
            "hullwatch/demo/delivery",
        ]
    ),
)
def test_any_payload_is_a_row_a_rejection_or_a_clearing_never_an_exception(
    payload: bytes, topic: str
) -> None:
    result = parse_message("hullwatch", topic, payload, NOW)
    assert isinstance(result, Row | Rejection | Cleared)
    if isinstance(result, Rejection):
        assert result.reason

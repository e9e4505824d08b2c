"""`hullwatch archive` between a real Mosquitto and a real PostgreSQL."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable

import pytest

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.fleet_load import alert_message, telemetry_message, telemetry_times, utc_now
from hullwatch.hil.postgres import PostgresServer

from .conftest import (
    StartArchiver,
    StationPublisher,
    archive_config,
    query,
    scalar,
    wait_until,
)

pytestmark = pytest.mark.integration

TIMEOUT_S = 60.0


def test_documents_rows_rejections_and_views(
    central_broker: MosquittoBroker, database: str, start_archiver: StartArchiver
) -> None:
    archiver = start_archiver(archive_config(central_broker, database))
    wait_until(
        lambda: scalar(database, "SELECT count(*) FROM archive_schema") == 1,
        TIMEOUT_S,
        "schema applied",
        logs=archiver.log_text,
    )
    wait_until(lambda: "subscribed" in archiver.log_text(), TIMEOUT_S, "subscribed")
    stations = StationPublisher(central_broker)
    stations.publish("hullwatch/lab-1/status", "online", retain=True)
    topic, payload, first = alert_message("lab-1", "chamber", 1)
    stations.publish(topic, payload, retain=True)
    stations.publish(topic, payload, retain=True)  # redelivered: stored once
    topic2, payload2, second = alert_message("lab-1", "chamber", 2)
    stations.publish(topic2, payload2, retain=True)
    for moment in telemetry_times(utc_now(), 5):
        stations.publish(*telemetry_message("lab-1", "chamber", now=moment), qos=0)
    health = {
        "station": "lab-1", "sensor": "bmp-a", "zone": "chamber", "health": "degraded",
        "reason": "I2C read failed", "since": "2026-12-03T10:00:00.000Z",
        "time": "2026-12-03T10:00:00.100Z", "samples_taken": 10, "samples_accepted": 9,
    }  # fmt: skip
    stations.publish("hullwatch/lab-1/sensors/bmp-a/health", json.dumps(health))
    stations.publish("hullwatch/lab-2/status", "offline", retain=True)
    # A zone removed from a station's configuration: its retained alert is cleared (an
    # empty message), which is neither stored nor a rejection.
    stations.publish("hullwatch/lab-1/zones/old/alert", b"", retain=True)
    bad = {
        "not json": ("hullwatch/lab-1/zones/chamber/alert", b"{\"schema\": 1,"),
        "wrong type": (
            "hullwatch/lab-1/zones/chamber/alert",
            payload.replace('"seq":1', '"seq":"one"').encode(),
        ),
        "other station": ("hullwatch/lab-9/zones/chamber/alert", payload.encode()),
        "unknown topic": ("hullwatch/lab-1/zones/chamber/whatever", b"{}"),
        "nul in text": (
            "hullwatch/lab-1/zones/chamber/alert",
            json.dumps({**first, "event_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                        "reason": "a\u0000b"}).encode(),
        ),
    }  # fmt: skip
    for bad_topic, bad_payload in bad.values():
        stations.publish(bad_topic, bad_payload)
    stations.close()

    wait_until(
        lambda: (
            scalar(database, "SELECT count(*) FROM rejected") == len(bad)
            and scalar(database, "SELECT count(*) FROM telemetry") == 5
            and scalar(database, "SELECT count(*) FROM sensor_health") == 1
        ),
        TIMEOUT_S,
        "every document stored",
        logs=archiver.log_text,
    )
    alerts = query(database, "SELECT event_id::text, seq, level FROM alert ORDER BY seq")
    assert alerts == [(first["event_id"], 1, "warning"), (second["event_id"], 2, "warning")]
    reasons = [row[0] for row in query(database, "SELECT reason FROM rejected ORDER BY id")]
    assert reasons[0].startswith("not JSON")
    assert reasons[1].startswith("seq: Input should be a valid integer")
    assert reasons[2] == "station 'lab-1' in the document, 'lab-9' in the topic"
    assert reasons[3].startswith("unknown topic")
    assert reasons[4].startswith("PostgreSQL refused it")
    stored_bad = query(database, "SELECT payload FROM rejected ORDER BY id")
    assert [bytes(row[0]) for row in stored_bad] == [p for _, p in bad.values()]

    open_alerts = query(database, "SELECT station, zone, level, seq FROM open_alerts")
    assert open_alerts == [("lab-1", "chamber", "warning", 2)]
    offline = query(database, "SELECT station, status FROM stations_offline")
    assert offline == [("lab-2", "offline")]
    history = query(database, "SELECT seq FROM zone_leak_rate_history WHERE station = 'lab-1'")
    assert sorted(row[0] for row in history) == [1, 2]
    summary = query(
        database,
        "SELECT station, alerts, warnings_raised, telemetry_points, rejected FROM daily_summary "
        "WHERE station = 'lab-1'",
    )
    assert summary == [("lab-1", 2, 1, 5, 4)]  # the "other station" one is lab-9's
    assert scalar(database, "SELECT count(*) FROM alert WHERE zone = 'old'") == 0
    assert archiver.alive()
    assert archiver.stop() == 0


class _Burst:
    """`count` alerts from `stations` stations, QoS 1, published from a thread while the
    test breaks things."""

    def __init__(self, broker: MosquittoBroker, count: int, stations: int) -> None:
        self.event_ids: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._publish, args=(broker, count, stations))
        self._thread.start()

    def _publish(self, broker: MosquittoBroker, count: int, stations: int) -> None:
        publisher = StationPublisher(broker)
        for i in range(count):
            topic, payload, document = alert_message(
                f"lab-{i % stations}", "chamber", i // stations + 1
            )
            publisher.publish(topic, payload, retain=True)
            self.event_ids.append(document["event_id"])
            if i % 200 == 199:
                publisher.flush()  # each acknowledged by the broker
        publisher.close()
        self._done.set()

    def wait_until_stored(self, database: str, count: int, logs: Callable[[], str]) -> int:
        wait_until(
            lambda: (scalar(database, "SELECT count(*) FROM alert") or 0) >= count,
            TIMEOUT_S,
            f"{count} alerts stored",
            logs=logs,
        )
        return int(scalar(database, "SELECT count(*) FROM alert"))

    def assert_all_stored_once(self, database: str, logs: Callable[[], str]) -> None:
        self._thread.join(TIMEOUT_S)
        assert self._done.is_set()
        wait_until(
            lambda: scalar(database, "SELECT count(*) FROM alert") == len(self.event_ids),
            TIMEOUT_S,
            "every alert stored",
            logs=logs,
        )
        stored = {row[0] for row in query(database, "SELECT event_id::text FROM alert")}
        assert stored == set(self.event_ids)  # each once: event_id is the primary key


def test_archiver_killed_mid_burst_stores_every_alert_once(
    central_broker: MosquittoBroker, database: str, start_archiver: StartArchiver
) -> None:
    config = archive_config(central_broker, database)
    archiver = start_archiver(config)
    wait_until(lambda: "subscribed" in archiver.log_text(), TIMEOUT_S, "subscribed")
    burst = _Burst(central_broker, 5000, 20)
    burst.wait_until_stored(database, 1000, archiver.log_text)
    archiver.stop(signal.SIGKILL)
    killed_with = scalar(database, "SELECT count(*) FROM alert")
    restarted = start_archiver(config)
    burst.assert_all_stored_once(database, restarted.log_text)
    assert killed_with < len(burst.event_ids)  # the kill did happen mid-burst
    assert "connected to PostgreSQL" in restarted.log_text()
    assert restarted.stop() == 0


def test_postgres_restart_mid_run_loses_nothing(
    central_broker: MosquittoBroker,
    postgres_server: PostgresServer,
    database: str,
    start_archiver: StartArchiver,
) -> None:
    archiver = start_archiver(archive_config(central_broker, database))
    wait_until(lambda: "subscribed" in archiver.log_text(), TIMEOUT_S, "subscribed")
    burst = _Burst(central_broker, 4000, 10)
    burst.wait_until_stored(database, 500, archiver.log_text)
    postgres_server.stop("fast")
    wait_until(
        lambda: "PostgreSQL unavailable" in archiver.log_text(),
        TIMEOUT_S,
        "the archiver noticed",
        logs=archiver.log_text,
    )
    postgres_server.start()
    burst.assert_all_stored_once(database, archiver.log_text)
    assert archiver.alive()
    assert archiver.stop() == 0

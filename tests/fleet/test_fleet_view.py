"""`hullwatch watch --fleet`: the fleet's picture, as a table and as plain lines."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console

from hullwatch.daemon.detection.levels import Level
from hullwatch.daemon.fleet_view import FleetState, plain_line, render_table
from hullwatch.daemon.service.poller import Health
from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.fleet_load import alert_message, health_message
from hullwatch.hil.processes import hullwatch_command
from tests.daemon.test_fuzz_inputs import PAYLOADS


def _fleet() -> FleetState:
    state = FleetState("hullwatch")
    state.update("hullwatch/lab-1/status", b"online")
    state.update("hullwatch/lab-2/status", b"offline")
    state.update("hullwatch/lab-3/status", b"online")
    topic, payload, _ = alert_message("lab-3", "chamber", 4, level=Level.CRITICAL)
    state.update(topic, payload.encode())
    topic, payload, _ = alert_message("lab-1", "airlock", 2)
    state.update(topic, payload.encode())
    _, health = health_message("lab-1", "airlock", "bmp-a", health=Health.DEGRADED, reason="stuck")
    state.update("hullwatch/lab-1/sensors/bmp-a/health", health.encode())
    return state


def test_stations_in_trouble_come_first_with_their_open_alerts() -> None:
    state = _fleet()
    assert [v.station for v in state.sorted_views()] == ["lab-3", "lab-1", "lab-2"]  # by level
    lab1 = plain_line(state.stations["lab-1"])
    assert lab1.startswith("lab-1 online WARNING | airlock WARNING 7.46 sccm hole 0.053 mm")
    assert lab1.endswith("| sensors bmp-a degraded")
    assert plain_line(state.stations["lab-2"]) == "lab-2 offline OK | no alert"


def test_a_released_alert_a_cleared_zone_and_a_recovered_sensor_leave_the_picture() -> None:
    state = _fleet()
    topic, payload, _ = alert_message("lab-1", "airlock", 3, level=Level.OK)
    state.update(topic, payload.encode())
    state.update("hullwatch/lab-3/zones/chamber/alert", b"")
    _, health = health_message("lab-1", "airlock", "bmp-a", health=Health.OK)
    state.update("hullwatch/lab-1/sensors/bmp-a/health", health.encode())
    assert plain_line(state.stations["lab-1"]) == "lab-1 online OK | no alert"
    assert plain_line(state.stations["lab-3"]) == "lab-3 online OK | no alert"


def test_malformed_and_foreign_messages_change_nothing() -> None:
    state = _fleet()
    before = [plain_line(v) for v in state.sorted_views()]
    assert state.update("hullwatch/lab-1/zones/z/alert", b"{not json") is None
    assert state.update("hullwatch/lab-1/zones/z/alert", b"[1]") is None
    assert state.update("other/lab-1/status", b"online") is None
    assert state.update("hullwatch/lab-1/whatever", b"x") is None
    assert [plain_line(v) for v in state.sorted_views()] == before


def test_a_forged_field_cannot_move_the_terminal_cursor() -> None:
    state = FleetState("hullwatch")
    view = state.update("hullwatch/lab\x1b[2J/status", b"online\x1b[H")
    assert view is not None
    assert "\x1b" not in plain_line(view)


def test_the_table_shows_counts_and_every_station() -> None:
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(render_table(_fleet()))
    text = console.export_text()
    assert "3 stations, 2 online, 2 open alerts" in text
    assert "chamber CRITICAL" in text
    assert "bmp-a degraded" in text
    assert text.index("lab-3") < text.index("lab-1") < text.index("lab-2")


@pytest.mark.integration
def test_watch_fleet_prints_a_line_per_change_when_not_a_terminal(tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path / "centre") as broker:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="stations")
        client.connect(broker.host, broker.port)
        client.loop_start()
        for station in ("lab-1", "lab-2"):
            client.publish(f"hullwatch/{station}/status", "online", qos=1, retain=True)
        topic, payload, _ = alert_message("lab-2", "chamber", 1, level=Level.CRITICAL)
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
        result = subprocess.run(
            [*hullwatch_command(), "watch", "--fleet", "--port", str(broker.port), "--count", "3"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "lab-1 online OK | no alert" in lines
    assert any(line.startswith("lab-2 online CRITICAL | chamber CRITICAL") for line in lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=PAYLOADS,
    topic=st.sampled_from(
        ["hullwatch/s/zones/z/alert", "hullwatch/s/sensors/a/health", "hullwatch/s/status"]
    ),
)
def test_any_payload_leaves_the_view_consistent_and_printable(payload: bytes, topic: str) -> None:
    """Anyone who may publish on the central broker controls these payloads."""
    state = _fleet()
    state.update(topic, payload)
    for view in state.sorted_views():
        line = plain_line(view)
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line), line
    Console(file=io.StringIO(), width=120).print(render_table(state))

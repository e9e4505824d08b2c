"""Sensor faults against the real daemon and a real broker: health is published, the
faulty sensor's values never reach the detector, no leak is invented, and it recovers."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder, Received

from ..wire_schemas import check_payload
from .station import StartStation

pytestmark = pytest.mark.integration

PREFIX = "hwtest/faults"
HEALTH_B = f"{PREFIX}/sensors/b/health"

# A sealed chamber and two BMP3 chips on one bus; the one at 0x77 is the faulty one.
TWO_CHIPS = """
[[zones]]
id = "chamber"
volume_m3 = 0.05
pressure_pa = 101325.0
temperature_k = 295.15
[[sensors]]
kind = "bmp388"
zone = "chamber"
address = 0x76
[[sensors]]
kind = "bmp390"
zone = "chamber"
address = 0x77
"""

SCENARIO = f"""
seed = 3
{TWO_CHIPS}[[faults]]
at_s = 4.0
duration_s = 1.5
address = 0x77
kind = "nack"
[[faults]]
at_s = 9.0
duration_s = 3.0
address = 0x77
kind = "stuck"
[[faults]]
at_s = 14.0
address = 0x77
kind = "spike"
spike_pa = 900.0
[[faults]]
at_s = 16.0
duration_s = 1.5
address = 0x77
kind = "disappear"
"""

CONFIG = """
station = "faults"
[mqtt]
topic_prefix = "hwtest"
reconnect_min_s = 0.2
reconnect_max_s = 1.0
telemetry_interval_s = 0.5
[[zones]]
id = "chamber"
volume_m3 = 0.05
floor_pa = 70000.0
window_s = 4.0
warning_pa_per_s = 0.2
critical_pa_per_s = 5.0
[[sensors]]
id = "a"
zone = "chamber"
driver = "bmp388"
bus = "sim:/placeholder.sock"
address = 0x76
rate_hz = 25.0
[[sensors]]
id = "b"
zone = "chamber"
driver = "bmp390"
bus = "sim:/placeholder.sock"
address = 0x77
rate_hz = 25.0
stuck_samples = 10
"""


def _health(message: Received) -> dict[str, object]:
    document = message.json()
    assert isinstance(document, dict)
    return document


def test_faults_are_reported_as_health_and_never_as_a_leak(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_station: StartStation,
) -> None:
    recorder = recorder_factory([f"{PREFIX}/#"])
    station = start_station(scenario=SCENARIO, config=CONFIG, mqtt_port=broker.port)
    daemon = station.daemon
    try:
        states: list[dict[str, object]] = []  # b's health documents, in arrival order
        matched_up_to = 0

        def health_b(predicate: Callable[[dict[str, object]], bool], what: str) -> None:
            """Wait for a health state of b, later than the one the previous wait matched."""
            nonlocal matched_up_to

            def matches(message: Received) -> bool:
                if message.topic != HEALTH_B or message.at_s <= matched_up_to:
                    return False
                return predicate(_health(message))

            found = recorder.wait_for(matches, 30, what)
            matched_up_to = found.at_s
            states.append(_health(found))

        def failing_with(text: str) -> Callable[[dict[str, object]], bool]:
            return lambda d: d["health"] in ("degraded", "failed") and text in str(d["reason"])

        def ok(d: dict[str, object]) -> bool:
            return d["health"] == "ok"

        health_b(ok, "b ok")
        health_b(failing_with("Remote I/O error"), "b failing while it NACKs")
        health_b(ok, "b ok after the NACKs")
        health_b(failing_with("stuck"), "b stuck")
        recorder.wait_for(
            lambda m: (
                m.topic.endswith("/telemetry")
                and m.at_s > matched_up_to
                and m.json()["sensors"] == ["a"]
            ),
            10,
            "telemetry from a alone while b is stuck",
        )
        health_b(ok, "b ok after being stuck")
        health_b(failing_with("Remote I/O error"), "b gone")
        health_b(ok, "b back")
        recorder.wait_for(
            lambda m: (
                m.topic.endswith("/telemetry")
                and m.at_s > matched_up_to
                and sorted(m.json()["sensors"]) == ["a", "b"]
            ),
            10,
            "telemetry from both again",
        )
    finally:
        station.stop()
    alerts = [m for m in recorder.messages if m.topic.endswith("/alert")]
    assert alerts == [], [m.payload for m in alerts]
    for message in recorder.messages:  # status, health, telemetry, delivery: the contract
        check_payload(message.topic, message.payload)
    log = [json.loads(line) for line in daemon.log_text().splitlines() if line.startswith("{")]
    assert any(line["event"] == "spike rejected" and line["sensor"] == "b" for line in log)
    initialised_b = [
        line for line in log if line["event"] == "sensor initialised" and line["sensor"] == "b"
    ]
    assert len(initialised_b) >= 3  # at start, after the NACKs, after it came back
    print("health of b:", [(s["health"], s["reason"]) for s in states])


SCENARIO_THREE = f"""
seed = 4
{TWO_CHIPS}[[faults]]
at_s = 4.0
duration_s = 1.5
address = 0x77
kind = "eio"
[[faults]]
at_s = 8.0
duration_s = 2.0
address = 0x77
kind = "hang"
[[faults]]
at_s = 12.0
duration_s = 3.0
address = 0x77
kind = "corrupt_calibration"
[[faults]]
at_s = 12.0
duration_s = 1.0
address = 0x77
kind = "nack"
[[faults]]
at_s = 17.0
address = 0x77
kind = "drift"
drift_pa_per_s = -3.0
"""

CONFIG_THREE = """
station = "faults3"
[mqtt]
topic_prefix = "hwtest"
telemetry_interval_s = 0.5
[[zones]]
id = "chamber"
volume_m3 = 0.05
floor_pa = 70000.0
window_s = 4.0
warning_pa_per_s = 0.5
critical_pa_per_s = 5.0
[[sensors]]
id = "a"
zone = "chamber"
driver = "bmp388"
bus = "sim:/placeholder.sock"
address = 0x76
rate_hz = 20.0
[[sensors]]
id = "b"
zone = "chamber"
driver = "bmp390"
bus = "sim:/placeholder.sock"
address = 0x77
rate_hz = 20.0
[[sensors]]
id = "c"
zone = "chamber"
driver = "ms5611"
bus = "sim:/placeholder.sock"
address = 0x77
rate_hz = 20.0
pressure_oversampling = 1024
"""

# A second I2C bus (a second simulator) for the third sensor: the chamber is sealed
# and alike in both, so all three sensors see the same pressure.
SCENARIO_SECOND_BUS = """
seed = 6
[[zones]]
id = "chamber"
volume_m3 = 0.05
pressure_pa = 101325.0
temperature_k = 295.15
[[sensors]]
kind = "ms5611"
zone = "chamber"
address = 0x77
"""


def test_bus_errors_a_hung_bus_a_blank_calibration_and_a_drift(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_station: StartStation,
) -> None:
    """EIO, a hung bus (the client times out) and a blanked NVM seen at re-initialisation
    each show in b's health and pass; then b drifts, and the two others out-vote it."""
    recorder = recorder_factory(["hwtest/faults3/#"])
    station = start_station(
        scenarios={"sim": SCENARIO_THREE, "second": SCENARIO_SECOND_BUS},
        sensor_buses={"a": "sim", "b": "sim", "c": "second"},
        config=CONFIG_THREE,
        mqtt_port=broker.port,
    )
    health_b = "hwtest/faults3/sensors/b/health"
    last_s = 0.0

    def next_health(predicate: Callable[[dict[str, object]], bool], what: str) -> None:
        nonlocal last_s

        def matches(message: Received) -> bool:
            return message.topic == health_b and message.at_s > last_s and predicate(message.json())

        last_s = recorder.wait_for(matches, 30, what).at_s

    def failing(text: str) -> Callable[[dict[str, object]], bool]:
        return lambda d: d["health"] in ("degraded", "failed") and text in str(d["reason"])

    def ok(d: dict[str, object]) -> bool:
        return d["health"] == "ok"

    try:
        next_health(ok, "b ok")
        next_health(failing("Input/output error"), "b failing with EIO")
        next_health(ok, "b ok after EIO")
        next_health(failing("no answer from the simulated bus within 0.5 s"), "b timing out")
        next_health(ok, "b ok after the hang")
        next_health(failing("calibration"), "b refused for its blank calibration")
        next_health(ok, "b ok with its calibration back")
        suspect = recorder.wait_for(
            lambda m: (
                m.topic.endswith("/telemetry")
                and m.at_s > last_s
                and m.json()["sensors_suspect"] == ["b"]
            ),
            20,
            "b out-voted while it drifts",
        ).json()
        assert sorted(suspect["sensors"]) == ["a", "c"]
    finally:
        station.stop()
    assert not [m for m in recorder.messages if m.topic.endswith("/alert")]

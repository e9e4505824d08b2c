"""An MS5611 on the simulated bus, read by the real daemon: pressure on MQTT, a stuck
ADC reported as health and withheld, no alert."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder

from .station import StartStation

pytestmark = pytest.mark.integration

PRESSURE_PA = 97_000.0

SCENARIO = f"""
seed = 5
[[zones]]
id = "lock"
volume_m3 = 2.0
pressure_pa = {PRESSURE_PA}
temperature_k = 290.0
[[sensors]]
kind = "ms5611"
zone = "lock"
address = 0x77
[[faults]]
at_s = 5.0
duration_s = 2.0
address = 0x77
kind = "stuck"
"""

CONFIG = """
station = "ms"
[mqtt]
telemetry_interval_s = 0.5
[[zones]]
id = "lock"
volume_m3 = 2.0
floor_pa = 70000.0
window_s = 4.0
warning_pa_per_s = 0.5
critical_pa_per_s = 5.0
[[sensors]]
id = "baro"
zone = "lock"
driver = "ms5611"
bus = "sim:/placeholder.sock"
address = 0x77
pressure_oversampling = 4096
rate_hz = 20.0
stuck_samples = 6
"""


def test_ms5611_through_the_daemon(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_station: StartStation,
) -> None:
    recorder = recorder_factory(["hullwatch/ms/#"])
    station = start_station(
        scenario=SCENARIO, config=CONFIG, mqtt_port=broker.port, sensor_buses={"baro": "sim"}
    )
    try:
        telemetry = recorder.wait_for(
            lambda m: m.topic.endswith("/telemetry") and m.json()["window_fill"] > 0.5,
            20,
            "telemetry",
        ).json()
        # OSR 4096: 1.2 Pa RMS; the datasheet's absolute error does not apply to a simulator.
        assert telemetry["pressure_pa"] == pytest.approx(PRESSURE_PA, abs=10.0)
        assert telemetry["temperature_c"] == pytest.approx(290.0 - 273.15, abs=0.05)
        # The lag is measured whatever is configured; seconds in, there is no estimate yet.
        assert telemetry["temperature_lag"] == {
            "baro": {"configured_s": 0.0, "estimated_s": None, "estimated_stderr_s": None}
        }
        recorder.wait_for(
            lambda m: m.topic.endswith("/health") and m.json()["reason"].startswith("stuck"),
            20,
            "stuck health",
        )
        recorder.wait_for(
            lambda m: (
                m.topic.endswith("/health")
                and m.json()["health"] == "ok"
                and any(
                    earlier.topic.endswith("/health") and b"stuck" in earlier.payload
                    for earlier in recorder.messages
                )
            ),
            20,
            "ok again after the stuck ADC",
        )
    finally:
        assert station.daemon.stop() == 0
    assert not [m for m in recorder.messages if m.topic.endswith("/alert")]

"""Serial instruments through the real daemon: a `$HWP` bridge and a PTB330 on
pseudo-terminals served by the simulator process, with bad lines, an unplugged
cable and a silent instrument."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder, Received

from .station import StartStation

pytestmark = pytest.mark.integration

PRESSURE_PA = 100_400.0


def _scenario(links: Path) -> str:
    return f"""
seed = 9
[[zones]]
id = "tank"
volume_m3 = 0.2
pressure_pa = {PRESSURE_PA}
temperature_k = 296.0
[[serial_sensors]]
kind = "serial_bridge"
zone = "tank"
link = "{links}/bridge"
rate_hz = 20.0
[[serial_sensors]]
kind = "ptb330"
zone = "tank"
link = "{links}/ptb330"
[[faults]]
at_s = 3.0
link = "{links}/bridge"
kind = "corrupt_line"
[[faults]]
at_s = 3.5
link = "{links}/bridge"
kind = "garbage"
[[faults]]
at_s = 4.0
link = "{links}/bridge"
kind = "truncated_line"
[[faults]]
at_s = 5.0
duration_s = 2.0
link = "{links}/bridge"
kind = "unplug"
[[faults]]
at_s = 9.0
duration_s = 4.0
link = "{links}/ptb330"
kind = "silence"
"""


def _config(links: Path) -> str:
    return f"""
station = "serial"
[mqtt]
telemetry_interval_s = 0.5
reconnect_min_s = 0.2
reconnect_max_s = 1.0
[[zones]]
id = "tank"
volume_m3 = 0.2
floor_pa = 70000.0
window_s = 4.0
warning_pa_per_s = 1.0
critical_pa_per_s = 20.0
[[sensors]]
id = "bridge"
zone = "tank"
driver = "serial_bridge"
bus = "{links}/bridge"
rate_hz = 20.0
timeout_s = 0.5
[[sensors]]
id = "ptb"
zone = "tank"
driver = "ptb330"
bus = "{links}/ptb330"
rate_hz = 2.0
timeout_s = 0.5
"""


def test_serial_sensors_read_fail_and_recover(
    tmp_path: Path,
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_station: StartStation,
) -> None:
    links = tmp_path / "serial"
    recorder = recorder_factory(["hullwatch/serial/#"])
    station = start_station(
        scenario=_scenario(links), config=_config(links), mqtt_port=broker.port, sensor_buses={}
    )

    def health(sensor: str, state: str, after_s: float = 0.0) -> Callable[[Received], bool]:
        def matches(message: Received) -> bool:
            return (
                message.topic == f"hullwatch/serial/sensors/{sensor}/health"
                and message.at_s > after_s
                and message.json()["health"] == state
            )

        return matches

    try:
        both = recorder.wait_for(
            lambda m: (
                m.topic.endswith("/telemetry") and sorted(m.json()["sensors"]) == ["bridge", "ptb"]
            ),
            20,
            "telemetry from both instruments",
        ).json()
        assert both["pressure_pa"] == pytest.approx(PRESSURE_PA, abs=5.0)
        assert both["temperature_c"] == pytest.approx(296.0 - 273.15, abs=0.05)

        unplugged = recorder.wait_for(health("bridge", "degraded"), 20, "bridge unplugged")
        assert "bridge" in unplugged.json()["sensor"]
        recorder.wait_for(health("bridge", "ok", unplugged.at_s), 20, "bridge plugged back")
        silent = recorder.wait_for(health("ptb", "degraded"), 20, "PTB330 silent")
        assert "did not complete within 0.5 s" in silent.json()["reason"]
        recorder.wait_for(health("ptb", "ok", silent.at_s), 20, "PTB330 answering again")
    finally:
        station.stop()
    assert not [m for m in recorder.messages if m.topic.endswith("/alert")]
    print(
        "bridge health:",
        [
            (m.json()["health"], m.json()["reason"][:70])
            for m in recorder.messages
            if m.topic.endswith("bridge/health")
        ],
    )

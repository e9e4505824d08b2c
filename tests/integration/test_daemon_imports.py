"""A running daemon has imported no simulator module, from start-up to a clean stop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder

from ..imported_modules import imported_modules, simulator_modules
from .station import StartStation, chamber_config, chamber_scenario

pytestmark = pytest.mark.integration

STATION = "imports"
PREFIX = "hwtest"
TELEMETRY_TOPIC = f"{PREFIX}/{STATION}/zones/chamber/telemetry"


def test_running_daemon_imports_no_simulator_module(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_station: StartStation,
) -> None:
    recorder = recorder_factory([TELEMETRY_TOPIC])
    station = start_station(
        scenario=chamber_scenario(seed=3),
        config=chamber_config(station=STATION, prefix=PREFIX, mqtt="telemetry_interval_s = 0.5"),
        mqtt_port=broker.port,
        # Every import the daemon makes goes to its stderr, which is its log.
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    # Telemetry means a sensor was read, the detector ran and the publisher delivered.
    recorder.wait_for(lambda m: m.topic == TELEMETRY_TOPIC, 20, "on telemetry")
    assert station.daemon.stop() == 0
    log = station.daemon.log_text()
    modules = imported_modules(log)
    assert {"hullwatch.daemon.service.service", "hullwatch.drivers.bmp3.device"} <= modules
    assert simulator_modules(log) == []

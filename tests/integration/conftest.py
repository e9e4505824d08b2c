"""Real processes for integration tests: a private Mosquitto, the simulator, the daemon."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder
from hullwatch.hil.processes import start_daemon, start_simulator

from .station import StartStation, Station


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def recorder_factory(broker: MosquittoBroker) -> Iterator[object]:
    recorders: list[MqttRecorder] = []

    def make(topics: list[str]) -> MqttRecorder:
        recorder = MqttRecorder(broker.host, broker.port, topics)
        recorders.append(recorder)
        return recorder

    yield make
    for recorder in recorders:
        recorder.close()


@pytest.fixture
def start_station(tmp_path: Path) -> Iterator[StartStation]:
    """Start simulators and a daemon on them; everything is stopped after the test.

    `scenarios` maps a bus name to its scenario text (one simulator, one socket per bus);
    `sensor_buses` maps a sensor's environment key (its index or id, as in
    `HULLWATCH_SENSORS__<KEY>__BUS`) to the bus it is on. By default every `[[sensors]]`
    of the config is on the first bus. The daemon logs JSON and talks to `mqtt_port`.
    """
    started: list[Station] = []

    def start(
        *,
        scenario: str | None = None,
        config: str,
        mqtt_port: int,
        scenarios: Mapping[str, str] | None = None,
        sensor_buses: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Station:
        buses = dict(scenarios or {"sim": scenario or ""})
        if sensor_buses is None:
            first = next(iter(buses))
            sensor_buses = {str(i): first for i in range(config.count("[[sensors]]"))}
        config_path = tmp_path / "hullwatch.toml"
        config_path.write_text(config)
        simulators = {}
        for bus, text in buses.items():
            (tmp_path / f"{bus}.toml").write_text(text)
            simulators[bus] = start_simulator(
                tmp_path / f"{bus}.toml", tmp_path / f"{bus}.sock", tmp_path / f"{bus}.log"
            )
        environment = {
            "HULLWATCH_MQTT__PORT": str(mqtt_port),
            "HULLWATCH_LOGGING__FORMAT": "json",
            **{
                f"HULLWATCH_SENSORS__{key.upper()}__BUS": f"sim:{tmp_path / f'{bus}.sock'}"
                for key, bus in sensor_buses.items()
            },
            **(env or {}),
        }
        daemon = start_daemon(config_path, tmp_path / "daemon.log", env=environment)
        station = Station(tmp_path, config_path, daemon, simulators)
        started.append(station)
        return station

    yield start
    for station in started:
        station.stop()
        # Shown by pytest only when the test failed.
        print("--- daemon log ---", station.daemon.log_text())
        for simulator in [*station.restarted, *station.simulators.values()]:
            print(f"--- {simulator.log_path.name} ---", simulator.log_text())

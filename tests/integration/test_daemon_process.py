"""The daemon as a process: refusing a bad configuration, and living through a lost simulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hullwatch.daemon.exit_codes import ExitCode
from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder, Received
from hullwatch.hil.processes import ManagedProcess, hullwatch_command

from .station import StartStation, chamber_config, chamber_scenario

pytestmark = pytest.mark.integration

STATION = "faults"
PREFIX = "hwtest"
ALERT_TOPIC = f"{PREFIX}/{STATION}/zones/chamber/alert"
TELEMETRY_TOPIC = f"{PREFIX}/{STATION}/zones/chamber/telemetry"
STATUS_TOPIC = f"{PREFIX}/{STATION}/status"
TELEMETRY_INTERVAL_S = 0.5
OUTAGE_S = 4 * TELEMETRY_INTERVAL_S

# A sealed chamber at constant temperature: nothing for the detector to alert on.
SCENARIO = chamber_scenario(seed=11)
CONFIG = chamber_config(
    station=STATION,
    prefix=PREFIX,
    mqtt=f"telemetry_interval_s = {TELEMETRY_INTERVAL_S}",
    extra="timeout_s = 0.5",
)

BAD_ADDRESS_CONFIG = CONFIG.replace("address = 0x77", "address = 0x40")


# --- configuration refused ---------------------------------------------------------


@pytest.mark.parametrize(
    ("config_text", "env", "expected"),
    [
        pytest.param(BAD_ADDRESS_CONFIG, {}, "hullwatch.toml: sensors[0].address: ", id="file-key"),
        pytest.param(
            CONFIG, {"HULLWATCH_MQTT__PORT": "70000"}, "HULLWATCH_MQTT__PORT: mqtt.port: ", id="env"
        ),
    ],
)
def test_invalid_configuration_exits_78_naming_the_key(
    tmp_path: Path, config_text: str, env: dict[str, str], expected: str
) -> None:
    config = tmp_path / "hullwatch.toml"
    config.write_text(config_text)
    result = subprocess.run(
        [*hullwatch_command(), "run", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**_clean_environment(), **env},
        check=False,
    )
    assert result.returncode == ExitCode.CONFIG == 78, result.stderr
    assert expected in result.stderr
    assert "refusing to start" in result.stderr
    assert result.stdout == ""


def _clean_environment() -> dict[str, str]:
    """This process's environment without HULLWATCH_* overrides a developer may have set."""
    return {key: value for key, value in os.environ.items() if not key.startswith("HULLWATCH_")}


# --- the simulator dies and comes back ---------------------------------------------


LogLine = dict[str, Any]


def _log_lines(process: ManagedProcess) -> list[LogLine]:
    lines = []
    for text in process.log_text().splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue  # not a structlog line (a traceback would be caught by other checks)
        if isinstance(line, dict):
            lines.append(line)
    return lines


def _wait_for_log(
    process: ManagedProcess,
    predicate: Callable[[list[LogLine]], LogLine | None],
    timeout_s: float,
    what: str,
) -> LogLine:
    deadline = time.monotonic() + timeout_s
    while True:
        found = predicate(_log_lines(process))
        if found is not None:
            return found
        if not process.alive():
            raise AssertionError(f"{process.name} exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line {what} within {timeout_s} s")
        time.sleep(0.05)


def _nth(event: str, n: int, **fields: object) -> Callable[[list[LogLine]], LogLine | None]:
    """The n-th (1-based) log line with this event and these fields."""

    def find(lines: list[LogLine]) -> LogLine | None:
        matching = [
            line
            for line in lines
            if line.get("event") == event and all(line.get(k) == v for k, v in fields.items())
        ]
        return matching[n - 1] if len(matching) >= n else None

    return find


def _fault_health(lines: list[LogLine]) -> LogLine | None:
    for line in lines:
        if line.get("event") == "sensor health" and line.get("health") in ("degraded", "failed"):
            return line
    return None


def _when(line_or_document: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(str(line_or_document[key]))


def test_daemon_survives_a_killed_simulator_and_resumes_when_it_returns(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_station: StartStation,
) -> None:
    recorder = recorder_factory([STATUS_TOPIC, ALERT_TOPIC, TELEMETRY_TOPIC])
    station = start_station(
        scenario=SCENARIO,
        config=CONFIG,
        mqtt_port=broker.port,
        env=_clean_environment(),
    )
    daemon = station.daemon
    try:
        _wait_for_log(daemon, _nth("sensor initialised", 1, sensor="bmp-a"), 15, "initialised")
        recorder.wait_for(lambda m: m.topic == TELEMETRY_TOPIC, 15, "on telemetry")

        station.simulators["sim"].stop(signal.SIGKILL)
        fault = _wait_for_log(daemon, _fault_health, 10, "of a sensor fault")
        assert fault["sensor"] == "bmp-a"
        assert "simulated bus connection failed" in fault["reason"]
        assert "address 0x77" in fault["reason"]
        # Re-initialisation is attempted while the simulator is away, and fails.
        failed = _wait_for_log(
            daemon,
            _nth("sensor health", 1, sensor="bmp-a", health="failed"),
            10,
            "of a failed initialisation",
        )
        assert "initialisation failed" in failed["reason"]
        assert "Connection refused" in failed["reason"]  # the dead simulator's socket file
        assert daemon.alive()
        # Keep the simulator away for several telemetry intervals: the outage whose
        # telemetry is checked below, not a wait for something to happen.
        time.sleep(OUTAGE_S)
        assert daemon.alive()

        station.restart_simulator()
        again = _wait_for_log(
            daemon, _nth("sensor initialised", 2, sensor="bmp-a"), 20, "initialised again"
        )
        recovered = _wait_for_log(
            daemon, _nth("sensor health", 2, sensor="bmp-a", health="ok"), 5, "of health ok again"
        )
        assert _when(recovered, "timestamp") >= _when(again, "timestamp")

        def fresh_telemetry(message: Received) -> bool:
            return message.topic == TELEMETRY_TOPIC and _when(message.json(), "time") > _when(
                again, "timestamp"
            )

        resumed = recorder.wait_for(fresh_telemetry, 15, "on telemetry after the restart").json()
        assert resumed["pressure_pa"] == pytest.approx(101_325.0, abs=50.0)
        assert resumed["sensors"] == ["bmp-a"]
        assert resumed["level"] == "ok"
        assert daemon.alive()

        # While the sensor was down the daemon did not repeat its last estimate.
        telemetry = [m.json() for m in list(recorder.messages) if m.topic == TELEMETRY_TOPIC]
        stale = [
            document
            for document in telemetry
            if _when(fault, "timestamp") < _when(document, "time") < _when(again, "timestamp")
        ]
        assert stale == []
        assert [m for m in list(recorder.messages) if m.topic == ALERT_TOPIC] == []
        assert [line for line in _log_lines(daemon) if line.get("event") == "alert"] == []
        assert daemon.stop(signal.SIGTERM) == ExitCode.OK
    finally:
        station.stop()

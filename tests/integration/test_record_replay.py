"""Record and replay with real processes: the daemon records what its detector accepted,
`hullwatch replay` of that recording decides what the daemon decided, and
`hullwatch record` surveys the simulated sensor without a broker."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from hullwatch.daemon.service.recording import FLAG_AFTER_SPIKE, recording_files
from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder, Received
from hullwatch.hil.processes import hullwatch_command, start_simulator

from .station import StartStation, chamber_config, chamber_scenario

pytestmark = pytest.mark.integration

ALERT_TOPIC = "hwtest/rec/zones/chamber/alert"

SCENARIO = chamber_scenario(
    seed=11,
    extra="""
[[events]]
at_s = 8.0
zone = "chamber"
action = "open_hole"
diameter_mm = 0.1
[[faults]]
at_s = 3.0
duration_s = 0.05
address = 0x77
kind = "spike"
spike_pa = 900.0
""",
)

CONFIG = chamber_config(
    station="rec",
    mqtt="alert_update_interval_s = 2.0",
    extra="""
[recording]
enabled = true
flush_interval_s = 0.5
""",
)


def _rows(directory: Path) -> list[list[str]]:
    rows = []
    for path in recording_files(directory):
        with gzip.open(path, "rt") as file:
            lines = file.read().splitlines()
        assert lines[0].startswith("# hullwatch-recording ")
        assert json.loads(lines[0].split(" ", 2)[2])["sensors"] == {"bmp-a": "chamber"}
        assert lines[1] == "t_s,wall_time,sensor,zone,pressure_pa,temperature_c,flags"
        rows += [line.split(",") for line in lines[2:]]
    return rows


def test_replay_of_the_daemons_recording_decides_what_the_daemon_decided(
    broker: MosquittoBroker, start_station: StartStation, recorder_factory, tmp_path: Path
) -> None:
    alerts: MqttRecorder = recorder_factory([ALERT_TOPIC])
    station = start_station(scenario=SCENARIO, config=CONFIG, mqtt_port=broker.port)

    def warning_update(message: Received) -> bool:
        document = message.json()
        return document["level"] == "warning" and document["kind"] == "update"

    alerts.wait_for(warning_update, 60, "a warning and one update")
    assert station.daemon.stop(signal.SIGTERM) == 0
    published = [m.json() for m in alerts.messages if m.topic == ALERT_TOPIC and not m.retain]

    # What the detector accepted: every sample of the sensor, the spike left out.
    rows = _rows(tmp_path / "daemon.state" / "recordings")
    assert len(rows) > 25 * 10
    pressures = [float(row[4]) for row in rows]
    times = [float(row[0]) for row in rows]
    assert times == sorted(times)
    assert {row[2] for row in rows} == {"bmp-a"}
    assert {row[3] for row in rows} == {"chamber"}
    assert max(pressures) - min(pressures) < 300  # a 900 Pa spike did not get in
    assert any(FLAG_AFTER_SPIKE in row[6].split(";") for row in rows)

    replay = subprocess.run(
        [
            *hullwatch_command(),
            "replay",
            str(tmp_path / "daemon.state" / "recordings"),
            "--config",
            str(station.config_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    replayed = [
        line["payload"]
        for line in map(json.loads, replay.stdout.splitlines())
        if line["topic"] == ALERT_TOPIC
    ]

    def decision(document: dict[str, object]) -> tuple[object, ...]:
        keys = ("kind", "level", "previous_level", "dpdt_pa_per_s", "reason")
        return tuple(document[key] for key in keys)

    assert [decision(d) for d in replayed] == [decision(d) for d in published]
    # Recording time: the daemon's wall clock, to the millisecond it was written with.
    for ours, theirs in zip(replayed, published, strict=True):
        offset_s = datetime.fromisoformat(ours["time"]) - datetime.fromisoformat(theirs["time"])
        assert abs(offset_s.total_seconds()) < 0.1


def test_record_surveys_the_sensor_without_detecting(tmp_path: Path) -> None:
    (tmp_path / "sim.toml").write_text(chamber_scenario(seed=3))
    socket = tmp_path / "sim.sock"
    simulator = start_simulator(tmp_path / "sim.toml", socket, tmp_path / "sim.log")
    try:
        config = tmp_path / "hullwatch.toml"
        config.write_text(chamber_config(station="survey"))
        out = tmp_path / "survey"
        env = {
            **os.environ,
            "HULLWATCH_SENSORS__0__BUS": f"sim:{socket}",
            "HULLWATCH_STATE_DIR": str(tmp_path / "state"),
            "HULLWATCH_LOGGING__FORMAT": "json",
        }
        result = subprocess.run(
            [*hullwatch_command(), "record", str(config), "--duration", "4s", "--output", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        simulator.stop()
    assert result.returncode == 0, result.stderr
    files = recording_files(out)
    assert [str(path) for path in files] == result.stdout.split()
    rows = _rows(out)
    # 25 Hz for 4 s, less the start-up and the sample the guard holds back.
    assert 50 <= len(rows) <= 101
    assert all(abs(float(row[4]) - 101_325) < 200 for row in rows)
    assert not (tmp_path / "state" / "recordings").exists()
    replay = subprocess.run(
        [*hullwatch_command(), "replay", str(out), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == ""  # a sealed chamber at rest: nothing to say

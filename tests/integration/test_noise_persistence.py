"""The learned noise across a restart of a real daemon process (daemon/service/noise_store.py):
saved at SIGTERM, taken up by the next daemon, a malformed file ignored with one line.

The daemon runs on the simulator and a private Mosquitto; it is stopped as
`test_delivery.stop_and_flush` explains (simulator first, then SIGTERM).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hullwatch.daemon.service.noise_store import NOISE_FILE, learned_octaves, parse_noise
from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder, Received
from hullwatch.hil.processes import ManagedProcess, start_daemon, start_simulator

from .station import chamber_config, chamber_scenario
from .test_delivery import log_lines, stop_and_flush, wait_until

pytestmark = pytest.mark.integration

STATION = "noise"
SENSOR = "bmp-a"
TELEMETRY_TOPIC = f"hwtest/{STATION}/zones/chamber/telemetry"
TELEMETRY_INTERVAL_S = 0.5


@dataclass
class Bench:
    tmp_path: Path
    broker: MosquittoBroker
    recorder: MqttRecorder
    config: Path
    daemons: list[ManagedProcess]
    simulator: ManagedProcess | None = None

    @property
    def noise_path(self) -> Path:
        return self.tmp_path / "state" / NOISE_FILE

    def start(self) -> ManagedProcess:
        """A simulator and a daemon on it (the state_dir and log shared by every run)."""
        socket_path = self.tmp_path / "sim.sock"
        scenario = self.tmp_path / "scenario.toml"
        scenario.write_text(chamber_scenario(seed=5))
        self.simulator = start_simulator(
            scenario, socket_path, self.tmp_path / f"sim-{len(self.daemons)}.log"
        )
        daemon = start_daemon(
            self.config,
            self.tmp_path / "daemon.log",
            env={
                "HULLWATCH_MQTT__PORT": str(self.broker.port),
                "HULLWATCH_SENSORS__0__BUS": f"sim:{socket_path}",
                "HULLWATCH_LOGGING__FORMAT": "json",
                "HULLWATCH_LOGGING__LEVEL": "debug",
                "HULLWATCH_STATE_DIR": str(self.tmp_path / "state"),
            },
        )
        self.daemons.append(daemon)
        return daemon

    def run_for(self, daemon: ManagedProcess, telemetry: int) -> None:
        """Until `telemetry` more telemetry documents arrived: that many
        TELEMETRY_INTERVAL_S of samples in the detector."""
        seen = len(self._telemetry())

        def enough() -> bool:
            assert daemon.alive(), daemon.log_text()[-3000:]
            return len(self._telemetry()) >= seen + telemetry

        wait_until(enough, 30, f"{telemetry} telemetry documents")

    def stop(self, daemon: ManagedProcess) -> None:
        assert self.simulator is not None
        stop_and_flush(daemon, self.simulator)

    def _telemetry(self) -> list[Received]:
        return [m for m in self.recorder.messages if m.topic == TELEMETRY_TOPIC]


def this_run(daemon: ManagedProcess) -> list[dict[str, Any]]:
    """The log lines of the newest run (the log holds every run)."""
    lines = log_lines(daemon)
    starts = [i for i, line in enumerate(lines) if line.get("event") == "outbox opened"]
    return lines[starts[-1] if starts else 0 :]


def events(daemon: ManagedProcess, prefix: str) -> list[dict[str, Any]]:
    return [line for line in this_run(daemon) if str(line.get("event", "")).startswith(prefix)]


@pytest.fixture
def bench(tmp_path: Path, broker: MosquittoBroker) -> Iterator[Bench]:
    config = tmp_path / "hullwatch.toml"
    config.write_text(
        chamber_config(
            station=STATION,
            window_s=16.0,
            zone="min_window_s = 1.0",
            mqtt=f"telemetry_interval_s = {TELEMETRY_INTERVAL_S}",
        )
    )
    recorder = MqttRecorder(broker.host, broker.port, [TELEMETRY_TOPIC])
    rig = Bench(tmp_path, broker, recorder, config, [])
    yield rig
    for daemon in rig.daemons:
        daemon.stop(signal.SIGKILL)
    if rig.simulator is not None:
        rig.simulator.stop()
    recorder.close()
    print("--- daemon log ---", (tmp_path / "daemon.log").read_text(errors="replace")[-6000:])


def _terms(state: dict[str, Any]) -> float:
    return float(sum(row[1] for row in state["octaves"]))


# --- the tests ------------------------------------------------------------------------


def test_learned_noise_survives_a_restart(bench: Bench) -> None:
    first = bench.start()
    bench.run_for(first, 16)  # 8 s of samples
    bench.stop(first)
    saved = parse_noise(bench.noise_path.read_text())
    assert list(saved) == ["chamber"]
    assert list(saved["chamber"]) == [SENSOR]
    state = saved["chamber"][SENSOR]
    octaves = learned_octaves(state)
    print(f"[noise] first run: {octaves} octaves, {_terms(state):.0f} terms saved")
    assert octaves >= 3
    # A zone and a sensor the configuration does not have (any more).
    saved["gone"] = {"old": state}
    saved["chamber"]["old"] = state
    bench.noise_path.write_text(json.dumps({"version": 1, "zones": saved}))

    second = bench.start()
    bench.run_for(second, 4)  # a shorter run than the first
    (restored,) = events(second, "noise model restored for sensor")
    assert restored["event"] == f"noise model restored for sensor {SENSOR} ({octaves} octaves)"
    assert (restored["sensor"], restored["level"]) == (SENSOR, "debug")
    bench.stop(second)
    again = parse_noise(bench.noise_path.read_text())
    assert list(again) == ["chamber"]
    assert list(again["chamber"]) == [SENSOR]  # what the configuration lacks is dropped
    # The second run went on from what the first had learned: a fresh start would
    # hold fewer terms than the longer first run did.
    print(f"[noise] second run: {_terms(again['chamber'][SENSOR]):.0f} terms saved")
    assert _terms(again["chamber"][SENSOR]) > _terms(state)


def test_a_malformed_noise_file_is_logged_once_and_ignored(bench: Bench) -> None:
    bench.noise_path.parent.mkdir(mode=0o700)
    bench.noise_path.write_text('{"version": 1, "zones": {"chamber": [')
    daemon = bench.start()
    bench.run_for(daemon, 4)
    ignored = events(daemon, "noise file ignored")
    assert len(ignored) == 1, ignored
    assert ignored[0]["path"] == str(bench.noise_path)
    assert ignored[0]["reason"].startswith("not JSON")
    assert events(daemon, "noise model restored") == []
    bench.stop(daemon)
    # Learned afresh, and saved whole over the bad file.
    assert list(parse_noise(bench.noise_path.read_text())["chamber"]) == [SENSOR]

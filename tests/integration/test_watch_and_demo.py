"""`hullwatch watch`, `hullwatch demo`, and a daemon that starts before its broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty, Queue

import paho.mqtt.client as mqtt
import pytest

from hullwatch.hil.broker import MosquittoBroker, free_tcp_port
from hullwatch.hil.mqtt_recorder import MqttRecorder
from hullwatch.hil.processes import hullwatch_command

from .station import StartStation

pytestmark = pytest.mark.integration

ALERT = {
    "schema": 1,
    "event_id": "3c1f6a52-4b0e-4d5e-9a51-0d2f1c7e9b10",
    "seq": 7,
    "station": "lab",
    "zone": "airlock",
    "kind": "level_change",
    "level": "critical",
    "previous_level": "warning",
    "time": "2026-11-26T01:02:03.456Z",
    "pressure_pa": 98765.4,
    "temperature_c": 21.5,
    "dpdt_pa_per_s": -12.5,
    "dpdt_stderr_pa_per_s": 0.05,
    "leak_rate_pa_m3_per_s": 0.625,
    "leak_rate_stderr_pa_m3_per_s": 0.0025,
    "leak_rate_sccm": 342.0,
    "hole_diameter_mm": 0.254,
    "reserve_time_s": 3725.0,
    "sensors": ["bmp-a"],
    "reason": "pressure falling 12.5 ± 0.05 Pa/s (250 σ): above the critical threshold 5 Pa/s",
}


class LineReader:
    """Reads a child's stdout on a thread, so a test can wait for a line with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.lines: Queue[str] = Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(process.stdout,), daemon=True).start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[str], bool], timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching line within {timeout_s} s; saw {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return line


def _publish(broker: MosquittoBroker, topic: str, payload: bytes, retain: bool) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def watcher(broker: MosquittoBroker) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*hullwatch_command(), "watch", "--port", str(broker.port), "--prefix", "hw", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_watch_prints_alerts_and_status_and_skips_malformed_payloads(
    broker: MosquittoBroker, watcher: Callable[..., subprocess.Popen[str]]
) -> None:
    _publish(broker, "hw/lab/status", b"online", retain=True)
    _publish(broker, "hw/lab/zones/airlock/alert", b"{not json", retain=False)
    _publish(broker, "hw/lab/zones/airlock/alert", json.dumps(ALERT).encode(), retain=True)
    process = watcher("--count", "1")
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    lines = stdout.splitlines()
    assert "station lab: online" in lines
    alert_line = next(line for line in lines if "lab/airlock" in line)
    for fragment in (
        "CRITICAL (was warning)",
        "-12.5",
        "0.625 ± 0.0025 Pa·m³/s",
        "0.254 mm",
        "1h02m",
        "#7",
    ):
        assert fragment in alert_line
    # A malformed message seen live is reported on stderr and the watcher carries on.
    # (Zone `hatch` has nothing retained, so only live messages arrive for it.)
    live = watcher("--count", "2", "--json")
    reader = LineReader(live)
    reader.wait_for(lambda line: '"airlock"' in line, 10)  # the retained alert
    _publish(broker, "hw/lab/zones/hatch/alert", b"[1, 2]", retain=False)
    hatch_alert = {**ALERT, "zone": "hatch", "event_id": "9b0d1a77-52e4-4d0c-8f0e-1a2b3c4d5e6f"}
    _publish(broker, "hw/lab/zones/hatch/alert", json.dumps(hatch_alert).encode(), retain=False)
    document = json.loads(reader.wait_for(lambda line: '"hatch"' in line, 10))
    assert document["event_id"] == hatch_alert["event_id"]
    assert live.wait(timeout=10) == 0
    assert live.stderr is not None
    assert "ignoring malformed alert on hw/lab/zones/hatch/alert" in live.stderr.read()
    assert "malformed" not in stderr  # the first watcher never saw the dropped one


def test_watch_exits_69_when_the_broker_is_unreachable() -> None:
    result = subprocess.run(
        [*hullwatch_command(), "watch", "--port", str(free_tcp_port())],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 69
    assert "hullwatch watch: broker 127.0.0.1:" in result.stderr


def test_daemon_started_before_its_broker_announces_itself_when_the_broker_comes(
    tmp_path: Path, start_station: StartStation
) -> None:
    """Sampling starts without a broker; once one listens, `online` arrives."""
    broker = MosquittoBroker(tmp_path / "broker")  # its port is chosen, nothing listens yet
    station = start_station(
        scenario=(
            '[[zones]]\nid = "c"\nvolume_m3 = 0.05\npressure_pa = 101325.0\n'
            'temperature_k = 295.0\n[[sensors]]\nkind = "bmp388"\nzone = "c"\naddress = 0x76\n'
        ),
        config=(
            'station = "early"\n[mqtt]\nreconnect_min_s = 0.2\nreconnect_max_s = 0.5\n'
            '[[zones]]\nid = "c"\nvolume_m3 = 0.05\nfloor_pa = 70000\nwarning_pa_per_s = 0.2\n'
            'critical_pa_per_s = 5\n[[sensors]]\nid = "s"\nzone = "c"\ndriver = "bmp388"\n'
            'bus = "sim:/x.sock"\naddress = 0x76\nrate_hz = 10\n'
        ),
        mqtt_port=broker.port,
    )
    daemon = station.daemon
    try:
        deadline = time.monotonic() + 15
        while "broker unreachable" not in daemon.log_text() or "sensor initialised" not in (
            daemon.log_text()
        ):
            assert time.monotonic() < deadline, daemon.log_text()
            assert daemon.alive(), daemon.log_text()
            time.sleep(0.05)
        with broker:
            recorder = MqttRecorder(broker.host, broker.port, ["hullwatch/early/#"])
            try:
                recorder.wait_for(lambda m: m.payload == b"online", 15, "online")
                recorder.wait_for(
                    lambda m: m.topic.endswith("/telemetry"), 15, "telemetry from samples"
                )
            finally:
                recorder.close()
            assert daemon.stop() == 0
    finally:
        station.stop()


def test_demo_starts_everything_and_stops_cleanly_on_ctrl_c() -> None:
    """`make demo`'s command: the broker, simulator, daemon and watcher come up and
    `online` is printed; SIGINT (Ctrl-C) ends it with nothing left running."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HULLWATCH_")}
    demo = subprocess.Popen(
        [*hullwatch_command(), "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    reader = LineReader(demo)
    try:
        header = reader.wait_for(lambda line: line.startswith("broker 127.0.0.1:"), 20)
        reader.wait_for(lambda line: line == "station demo: online", 20)
        daemon_pid = int(header.rsplit("daemon pid ", 1)[1])
        # Ctrl-C reaches the whole foreground process group.
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    reader.wait_for(lambda line: line == "stopping the demo", 5)
    with pytest.raises(ProcessLookupError):
        os.kill(daemon_pid, 0)

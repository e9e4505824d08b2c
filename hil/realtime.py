"""A scenario in real time with real processes: a private Mosquitto (or a given
broker), the simulator process, and the daemon process exactly as `hullwatch run`
runs on a Pi. Every alert is taken off the broker; the verdict is the same as in
accelerated mode."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import TextIO

from hullwatch.daemon.delivery.wire import Alert

from .broker import MosquittoBroker
from .expectations import Observed
from .hil_config import HIL_PREFIX, HIL_STATION, daemon_config, to_toml
from .mqtt_recorder import MqttRecorder
from .processes import start_daemon, start_simulator
from .run_result import RunResult, score
from .scenario import Scenario

PROGRESS_EVERY_S = 10.0


def run_realtime(
    scenario: Scenario,
    *,
    name: str,
    scenario_path: Path,
    workdir: Path,
    broker_address: tuple[str, int] | None = None,
    progress: TextIO | None = sys.stderr,
) -> RunResult:
    workdir.mkdir(parents=True, exist_ok=True)
    broker = None
    if broker_address is None:
        broker = MosquittoBroker(workdir / "broker")
        broker.start()
        broker_address = (broker.host, broker.port)
    host, port = broker_address
    socket_path = workdir / "sim.sock"
    config_path = workdir / "hullwatch.toml"
    config = daemon_config(scenario, socket_path=socket_path, broker_port=port)
    config["mqtt"]["host"] = host
    config_path.write_text(to_toml(config))
    alert_topics = f"{HIL_PREFIX}/{HIL_STATION}/zones/+/alert"
    recorder = MqttRecorder(host, port, [alert_topics])
    wall_start = time.monotonic()
    simulator = start_simulator(scenario_path, socket_path, workdir / "sim.log")
    # The simulator's clock started as it opened its socket, just now.
    start_s = time.monotonic()
    # The daemon's outbox (start_daemon: next to its log) starts empty: alerts an earlier
    # run in this workdir left undelivered must not be judged as this run's.
    shutil.rmtree(workdir / "daemon.state", ignore_errors=True)
    daemon = start_daemon(config_path, workdir / "daemon.log", env={})
    try:
        next_report_s = PROGRESS_EVERY_S
        while (elapsed_s := time.monotonic() - start_s) < scenario.duration_s:
            if not daemon.alive():
                raise RuntimeError(f"the daemon exited early:\n{daemon.log_text()[-2000:]}")
            time.sleep(min(0.2, scenario.duration_s - elapsed_s))
            if progress is not None and elapsed_s >= next_report_s:
                next_report_s += PROGRESS_EVERY_S
                count = sum(1 for m in recorder.messages if not m.retain)
                print(
                    f"  t = {elapsed_s:6.0f} s of {scenario.duration_s:g} s, {count} alerts",
                    file=progress,
                    flush=True,
                )
    finally:
        daemon.stop()
        simulator.stop()
        recorder.close()
        if broker is not None:
            broker.stop()
    alerts = [
        Observed(message.at_s - start_s, message.document(Alert))
        for message in recorder.messages
        if not message.retain  # a shared broker may hold an earlier run's alerts
    ]
    result = RunResult(
        scenario=name,
        mode="realtime",
        duration_s=scenario.duration_s,
        wall_time_s=time.monotonic() - wall_start,
        alerts=alerts,
        logs={"daemon": str(workdir / "daemon.log"), "simulator": str(workdir / "sim.log")},
    )
    return score(result, scenario)

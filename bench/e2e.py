"""End to end, side by side: the daemon against the floor, on the simulator, in real time.

    .venv/bin/python bench/e2e.py            # make bench-e2e
    .venv/bin/python bench/e2e.py --measure-s 120

Issue 14's setup: one 50 L zone read by two BMP390 at 50 Hz each on the
simulator's socket, the bank of windows from 1 to 120 s with a 365-day
false-alarm budget and a 30 s thermal lag. Four processes beside a private
Mosquitto, all started here as they run on a Pi:

- the daemon (`hullwatch run`) on simulator A;
- the floor (`bench/e2e_floor.py`: a bare asyncio loop reading the same
  sensors through the same driver, transport and schedule) on simulator B;
- the two simulators (`hullwatch sim`), which count the pressure readings
  their chips served (sent on SIGUSR1 to their log).

After `--warm-s` (the windows fill, the temperature fit settles), the CPU time
of the daemon and the floor (utime + stime from /proc/PID/stat) and the
readings each simulator served are taken at the start and the end of
`--measure-s`, at the same moments: CPU per sample and their ratio. Then a
0.5 mm hole opens in simulator A's chamber: the zone goes critical and sends
an `update` every second; each alert's latency is its receipt (wall clock)
minus its `time` (the daemon's wall clock when it built the document),
both on this machine. RSS is the daemon's at the end of the quiet phase and
its peak (VmHWM).

Both processes run at once on a shared machine, so slow phases weigh on both:
read the ratio. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.hil_config import HIL_PREFIX, HIL_STATION, daemon_config, to_toml
from hullwatch.hil.processes import ManagedProcess, start_daemon, start_simulator
from hullwatch.hil.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
RATE_HZ = 50.0
ADDRESSES = (0x76, 0x77)
# The simulator's log line (structlog's console renderer: key=repr(value)).
COUNTS_LINE = re.compile(r"pressure_reads=(\{[^}]*\})")


def scenario_text(leak_at_s: float) -> str:
    sensors = "".join(
        f"""
[[sensors]]
kind = "bmp390"
zone = "chamber"
address = {address}
rate_hz = {RATE_HZ}
thermal_lag_s = 30.0
"""
        for address in ADDRESSES
    )
    return f"""title = "bench-e2e: two BMP390 at 50 Hz, a 0.5 mm hole at {leak_at_s:g} s"
seed = 14
duration_s = 100000.0

[[zones]]
id = "chamber"
volume_m3 = 0.05
pressure_pa = 101325.0
temperature_k = 295.15
cycle_amplitude_k = 0.2
cycle_period_s = 1800.0

[zones.detector]
window_s = 120.0
min_window_s = 1.0
false_alarm_interval_days = 365.0
temperature_lag_s = 30.0
warning_pa_per_s = 0.5
critical_pa_per_s = 5.0
{sensors}
[[events]]
at_s = {leak_at_s}
zone = "chamber"
action = "open_hole"
diameter_mm = 0.5
discharge_coefficient = 0.62
"""


def cpu_s(pid: int) -> float:
    """utime + stime of `pid` (proc(5): fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of `pid`, KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def served(simulator: ManagedProcess, log_path: Path, timeout_s: float = 5.0) -> int:
    """The pressure readings `simulator` has served so far (all its chips)."""
    before = len(COUNTS_LINE.findall(log_path.read_text()))
    simulator.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = COUNTS_LINE.findall(log_path.read_text())
        if len(found) > before:
            return sum(ast.literal_eval(found[-1]).values())
        time.sleep(0.02)
    tail = log_path.read_text()[-600:]
    raise RuntimeError(f"{log_path}: the simulator did not report its counts:\n{tail}")


class AlertClock:
    """A subscriber to the station's alerts: each fresh alert's latency, s."""

    def __init__(self, port: int) -> None:
        self.latencies_s: list[float] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-e2e")
        self._client.on_connect = lambda c, *_: c.subscribe(
            f"{HIL_PREFIX}/{HIL_STATION}/zones/+/alert", qos=1
        )
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        received_s = time.time()
        if message.retain or not message.payload:
            return
        sent = datetime.fromisoformat(json.loads(message.payload)["time"].replace("Z", "+00:00"))
        with self._lock:
            self.latencies_s.append(received_s - sent.timestamp())

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(warm_s: float, measure_s: float, leak_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hullwatch-e2e-") as tmp:
        work = Path(tmp)
        broker = MosquittoBroker(work / "broker")
        broker.start()
        scenario_path = work / "scenario.toml"
        scenario_path.write_text(scenario_text(leak_at_s=warm_s + measure_s + 5.0))
        scenario = Scenario.model_validate(tomllib.loads(scenario_path.read_text()))
        processes: list[ManagedProcess] = []
        clock = None
        try:
            sims = {}
            for name in ("daemon", "floor"):
                socket_path = work / f"{name}.sock"
                log_path = work / f"sim-{name}.log"
                sims[name] = (start_simulator(scenario_path, socket_path, log_path), log_path)
                processes.append(sims[name][0])
                config = daemon_config(scenario, socket_path=socket_path, broker_port=broker.port)
                config["mqtt"]["alert_update_interval_s"] = 1.0
                (work / f"{name}.toml").write_text(to_toml(config))
            clock = AlertClock(broker.port)
            daemon = start_daemon(work / "daemon.toml", work / "daemon.log", env={})
            processes.append(daemon)
            floor = ManagedProcess(
                "floor",
                [sys.executable, str(ROOT / "bench" / "e2e_floor.py"), str(work / "floor.toml")],
                work / "floor.log",
            )
            processes.append(floor)
            time.sleep(warm_s)
            marks = []
            for _ in range(2):
                marks.append(
                    (
                        cpu_s(daemon.pid),
                        cpu_s(floor.pid),
                        served(*sims["daemon"]),
                        served(*sims["floor"]),
                    )
                )
                if len(marks) == 1:
                    time.sleep(measure_s)
            rss, peak = rss_kib(daemon.pid)
            time.sleep(5.0 + leak_s)
        finally:
            if clock is not None:
                clock.close()
            for process in reversed(processes):
                process.stop()
            broker.stop()
    (d0, f0, sd0, sf0), (d1, f1, sd1, sf1) = marks
    daemon_us = 1e6 * (d1 - d0) / max(sd1 - sd0, 1)
    floor_us = 1e6 * (f1 - f0) / max(sf1 - sf0, 1)
    latencies = clock.latencies_s if clock is not None else []
    return {
        "daemon_cpu_us_per_sample": round(daemon_us, 1),
        "floor_cpu_us_per_sample": round(floor_us, 1),
        "ratio": round(daemon_us / floor_us, 3),
        "samples_daemon": sd1 - sd0,
        "samples_floor": sf1 - sf0,
        "measure_s": measure_s,
        "daemon_rss_mib": round(rss / 1024, 1),
        "daemon_peak_rss_mib": round(peak / 1024, 1),
        "alerts": len(latencies),
        "alert_latency_ms": {
            "p50": round(1e3 * statistics.median(latencies), 2) if latencies else None,
            "p99": round(1e3 * _percentile(latencies, 0.99), 2) if latencies else None,
            "max": round(1e3 * max(latencies), 2) if latencies else None,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-s", type=float, default=150.0, help="before measuring")
    parser.add_argument("--measure-s", type=float, default=60.0)
    parser.add_argument("--leak-s", type=float, default=30.0, help="alerts collected for")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.warm_s, args.measure_s, args.leak_s)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"two BMP390 at {RATE_HZ:g} Hz on the simulator socket, 15 windows (1-120 s), "
        f"measured over {args.measure_s:g} s after {args.warm_s:g} s"
    )
    print(
        f"  daemon  {result['daemon_cpu_us_per_sample']:8.1f} µs CPU per sample"
        f"  ({result['samples_daemon']} samples served)"
    )
    print(
        f"  floor   {result['floor_cpu_us_per_sample']:8.1f} µs CPU per sample"
        f"  ({result['samples_floor']} samples served)"
    )
    print(f"  ratio   {result['ratio']:8.3f}  (issue 14: ≤ 1.2)")
    print(f"  daemon RSS {result['daemon_rss_mib']} MiB, peak {result['daemon_peak_rss_mib']} MiB")
    latency = result["alert_latency_ms"]
    print(
        f"  alert latency over {result['alerts']} alerts: p50 {latency['p50']} ms,"
        f" p99 {latency['p99']} ms, max {latency['max']} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Alert latency through the whole daemon, in real time, against a real Mosquitto.

    .venv/bin/python bench/alert_latency.py              # 3 runs of this tree
    .venv/bin/python bench/alert_latency.py --runs 5 --json

One run: a 50 L chamber read by one BMP390 at 25 Hz over the simulator's socket
(as `hullwatch sim` serves it), the daemon in this process (pollers, guard,
detector, alert policy, outbox on disk with its writer thread, MQTT session)
and a subscriber on a private Mosquitto. A 0.5 mm hole opens at `HOLE_AT_S`;
the zone goes to `critical` within a second. For every alert above `ok` the
bench measures, on the monotonic clock:

- sample → decision: from the time the poller stamped the sample that raised
  the level (`t_s`, the event loop's clock, which is `time.monotonic`) to the
  detector's judgement of it returning;
- decision → received: from that judgement to the subscriber's callback
  (outbox commit, PUBLISH, broker, subscriber's socket);
- sample → received: the two together, what a person waiting for the alert sees.

It finds the decision by wrapping `ZoneDetector.assess` in this process (the
daemon never imports the bench); that API is unchanged since the detector
existed, so `bench/compare_trees.py` runs this same file against an older
checkout to compare before and after a change.

The sample guard holds each reading back one period to judge it against the
next (a spike is a reading both neighbours disown), so sample → decision is one
period (40 ms at 25 Hz) plus the processing; the processing is the difference.

Wall-clock latencies on a shared 2-core machine are noisy: read the medians,
and compare trees side by side in one run (`bench/compare_trees.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.daemon_log import daemon_log_to
from hullwatch.hil.hil_config import HIL_PREFIX, HIL_STATION, daemon_config
from hullwatch.hil.scenario import Scenario
from hullwatch.hil.sim_server import BusServer
from hullwatch.hil.world import World


def _from(name: str, *modules: str) -> Any:
    """`name` from the first of `modules` that has it. The flat `hullwatch.daemon` of
    checkouts before the rooms comes first: run against such a tree (`compare_trees`),
    a room's module missing there would be found in this checkout's editable install."""
    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ModuleNotFoundError, AttributeError):
            continue
    raise ModuleNotFoundError(f"{name} in none of {modules}")


Outbox = _from("Outbox", "hullwatch.daemon.outbox", "hullwatch.daemon.delivery.outbox")
Publisher = _from("Publisher", "hullwatch.daemon.publisher", "hullwatch.daemon.delivery.publisher")
ZoneDetector = _from(
    "ZoneDetector", "hullwatch.daemon.detector", "hullwatch.daemon.detection.detector"
)
Daemon = _from("Daemon", "hullwatch.daemon.service", "hullwatch.daemon.service.service")
Config = _from("Config", "hullwatch.daemon.config", "hullwatch.daemon.settings.config")


HOLE_AT_S = 6.0
RUN_S = 12.0  # the hole's alerts are in well before
RATE_HZ = 25.0


def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "seed": 21,
            "title": "bench: a 0.5 mm hole in 50 L, one BMP390 at 25 Hz",
            "duration_s": RUN_S,
            "zones": [
                {
                    "id": "chamber",
                    "volume_m3": 0.05,
                    "pressure_pa": 101_325.0,
                    "temperature_k": 295.15,
                    "detector": {
                        "window_s": 60.0,
                        "min_window_s": 1.0,
                        "warning_pa_per_s": 0.5,
                        "critical_pa_per_s": 5.0,
                    },
                }
            ],
            "sensors": [{"kind": "bmp390", "zone": "chamber", "address": 0x77, "rate_hz": RATE_HZ}],
            "events": [
                {
                    "at_s": HOLE_AT_S,
                    "zone": "chamber",
                    "action": "open_hole",
                    "diameter_mm": 0.5,
                    "discharge_coefficient": 0.62,
                }
            ],
        }
    )


@dataclass
class Latency:
    level: str
    sample_to_decision_s: float
    decision_to_received_s: float

    @property
    def sample_to_received_s(self) -> float:
        return self.sample_to_decision_s + self.decision_to_received_s


@dataclass
class _Decision:
    level: str
    sample_t_s: float
    decided_s: float


@dataclass
class _Taps:
    """The detector's raising judgements and the subscriber's alerts, in order."""

    decisions: list[_Decision] = field(default_factory=list)
    received: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _tap_decisions(taps: _Taps) -> Any:
    """Wrap `ZoneDetector.assess`; returns the original, to put back."""
    original = ZoneDetector.assess
    last_t_s: dict[int, float] = {}
    original_add = ZoneDetector.add_sample

    def add_sample(self: ZoneDetector, sensor_id: str, t_s: float, *args: Any) -> Any:
        last_t_s[id(self)] = t_s
        return original_add(self, sensor_id, t_s, *args)

    def assess(self: ZoneDetector) -> Any:
        assessment = original(self)
        if (
            assessment is not None
            and assessment.level_changed
            and assessment.level.value != "ok"
            and id(self) in last_t_s
        ):
            taps.decisions.append(
                _Decision(assessment.level.value, last_t_s[id(self)], time.monotonic())
            )
        return assessment

    ZoneDetector.add_sample = add_sample  # type: ignore[method-assign,assignment]
    ZoneDetector.assess = assess  # type: ignore[method-assign]
    return original, original_add


def _subscriber(broker: MosquittoBroker, taps: _Taps) -> mqtt.Client:
    topic = f"{HIL_PREFIX}/{HIL_STATION}/zones/+/alert"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-alert-latency")
    subscribed = threading.Event()

    def on_connect(client: mqtt.Client, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        client.subscribe(topic, qos=1)

    def on_subscribe(*_args: Any) -> None:
        subscribed.set()

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        now_s = time.monotonic()
        if message.retain or not message.payload:
            return  # a picture republished at connect, not a fresh alert
        alert = json.loads(message.payload)
        level = alert.get("level")
        if alert.get("kind") == "level_change" and level != "ok":
            with taps.lock:
                taps.received.append((now_s, str(level)))

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    if not subscribed.wait(10.0):
        raise RuntimeError("the bench's subscriber could not subscribe")
    return client


async def _one_run(broker: MosquittoBroker, workdir: Path) -> tuple[int, float]:
    """Run the station for RUN_S; (samples taken, process CPU seconds)."""
    world_scenario = scenario()
    loop = asyncio.get_running_loop()
    start_s = loop.time()
    world = World(world_scenario, lambda: loop.time() - start_s)
    socket_path = workdir / "sim.sock"
    data = daemon_config(world_scenario, socket_path=socket_path, broker_port=broker.port)
    data["state_dir"] = str(workdir / "state")
    config = Config.model_validate(data)
    server = BusServer(world.bus, socket_path)
    await server.start()
    outbox = Outbox.open(config.state_dir, max_messages=config.mqtt.outbox_max_messages)
    publisher = Publisher(
        config.mqtt,
        station=config.station,
        zone_ids=[zone.id for zone in config.zones],
        outbox=outbox,
    )
    publishing = asyncio.create_task(publisher.run())
    daemon = Daemon(config, publisher, clock=loop.time)
    stop = asyncio.Event()
    cpu_start_s = time.process_time()
    running = asyncio.create_task(daemon.run(stop))
    while loop.time() - start_s < RUN_S:
        await asyncio.sleep(0.5)
        world.tick(loop.time() - start_s)
    stop.set()
    await running
    cpu_s = time.process_time() - cpu_start_s
    await publisher.close(5.0)
    publishing.cancel()
    await server.close()
    outbox.close()
    return sum(p.samples_taken for p in daemon.pollers), cpu_s


def measure(runs: int) -> tuple[list[Latency], float]:
    """Latencies of every raising alert over `runs` runs; CPU µs per sample."""
    latencies: list[Latency] = []
    samples, cpu_s = 0, 0.0
    for _ in range(runs):
        taps = _Taps()
        originals = _tap_decisions(taps)
        with tempfile.TemporaryDirectory(prefix="hullwatch-latency-") as tmp:
            workdir = Path(tmp)
            broker = MosquittoBroker(workdir / "broker")
            broker.start()
            client = _subscriber(broker, taps)
            try:
                with daemon_log_to(None):
                    taken, cpu = asyncio.run(_one_run(broker, workdir))
            finally:
                client.loop_stop()
                client.disconnect()
                broker.stop()
                ZoneDetector.assess, ZoneDetector.add_sample = originals  # type: ignore[method-assign]
        samples += taken
        cpu_s += cpu
        if len(taps.received) != len(taps.decisions):
            raise RuntimeError(
                f"{len(taps.decisions)} raising decisions but {len(taps.received)} alerts received"
            )
        for decision, (received_s, level) in zip(taps.decisions, taps.received, strict=True):
            if level != decision.level:
                raise RuntimeError(f"alert {level!r} received for a {decision.level!r} decision")
            latencies.append(
                Latency(
                    decision.level,
                    decision.decided_s - decision.sample_t_s,
                    received_s - decision.decided_s,
                )
            )
    return latencies, 1e6 * cpu_s / max(samples, 1)


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(1e3 * statistics.median(values), 3),
        "max_ms": round(1e3 * max(values), 3),
    }


def summary(latencies: list[Latency], cpu_us_per_sample: float) -> dict[str, Any]:
    return {
        "alerts": len(latencies),
        "sample_to_decision": _ms([x.sample_to_decision_s for x in latencies]),
        "decision_to_received": _ms([x.decision_to_received_s for x in latencies]),
        "sample_to_received": _ms([x.sample_to_received_s for x in latencies]),
        "cpu_us_per_sample": round(cpu_us_per_sample, 1),
        "daemon_source": inspect.getfile(Daemon),  # which checkout's code ran
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of 12 s each (default 3)")
    parser.add_argument("--json", action="store_true", help="one JSON line, for compare_trees")
    args = parser.parse_args()
    latencies, cpu_us = measure(args.runs)
    if not latencies:
        print("no alert was raised: nothing measured", file=sys.stderr)
        return 1
    result = summary(latencies, cpu_us)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['alerts']} alerts over {args.runs} runs (real time, one BMP390 at 25 Hz)")
    for key in ("sample_to_decision", "decision_to_received", "sample_to_received"):
        figures = result[key]
        print(
            f"  {key.replace('_', ' '):22s} median {figures['median_ms']:8.3f} ms"
            f"   max {figures['max_ms']:8.3f} ms"
        )
    print(f"  CPU per sample (whole process, simulator included): {cpu_us:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A soak run: hours of simulated time through the daemon's whole pipeline, measuring
whether memory and open files stay flat (issue 6, "Exit codes and resources").

What runs is what runs on a Pi, on simulated time (`virtual_loop`): the daemon's
pollers, BMP388 driver and `sim:` transport reading the register-level simulator
over a Unix socket (`BusServer`, as `hullwatch sim` serves it), the guards and
detectors, and the real `Publisher` with a durable `Outbox` (SQLite in WAL mode in
a state directory) publishing to a real Mosquitto. A hole opens and closes again
every `cycle_s`, alternately a small one (a warning) and a large one (critical), so
alerts, level changes, alert updates and telemetry flow the whole time.

At every checkpoint the run collects garbage and records the Python heap as
`tracemalloc` traces it and the process's open file descriptors (`/proc/self/fd`).
A subscriber in a process of its own counts what the broker delivered (the highest
`seq`, duplicates, out of order), so that its backlog is not in the measured heap.

Broker round trips take real time while the simulated clock jumps from timer to
timer: `_pace_the_network` gives the broker real time while the publisher waits
for it. A reconnect that happens anyway (the outbox keeps the message) shows in
`SoakResult.sessions` and as a duplicate.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hullwatch.daemon.delivery.outbox import Outbox
from hullwatch.daemon.delivery.publisher import Publisher
from hullwatch.daemon.delivery.wire import Alert, parse_document
from hullwatch.daemon.service.service import Daemon
from hullwatch.daemon.settings.config import Config

from .daemon_log import daemon_log_to
from .hil_config import HIL_PREFIX, HIL_STATION, daemon_config
from .scenario import Scenario
from .sim_server import BusServer
from .virtual_loop import run_simulated
from .world import World

ZONE = "chamber"
# Choked flow at 101 kPa, 295 K, Cd 0.62 into vacuum, 50 L (docs/datasheets.md,
# "Choked orifice flow"):
SMALL_HOLE_MM = 0.06  # ≈ 0.7 Pa/s: a warning (threshold 0.2 Pa/s)
LARGE_HOLE_MM = 0.25  # ≈ 12 Pa/s: critical (threshold 5 Pa/s); ~1.1 kPa lost each time
HOLE_OPEN_S = 90.0  # each hole stays open this long, then the chamber is sealed again
SUBSCRIBER_TIMEOUT_S = 10.0
# Network pacing (`_pace_the_network`): check every PACE_IDLE_S simulated seconds, at
# most half the publisher's PUBLISH_TIMEOUT_S, so pacing starts in time.
PACE_IDLE_S = 2.0
PACE_SIMULATED_S = 0.05
PACE_REAL_S = 0.002


@dataclass(frozen=True)
class Checkpoint:
    t_s: float  # simulated seconds since the start
    wall_s: float
    traced_bytes: int  # Python heap as tracemalloc sees it, after gc.collect()
    rss_kib: int  # resident set size (all of it: Python, SQLite, libraries)
    open_fds: int  # entries in /proc/self/fd
    alerts_raised: int  # the outbox's seq: every alert the daemon raised
    outbox_pending: int


@dataclass
class SoakResult:
    hours: float
    rate_hz: float
    wall_s: float = 0.0
    checkpoints: list[Checkpoint] = field(default_factory=list)
    samples: int = 0
    events_fired: int = 0  # holes opened and closed
    alerts_raised: int = 0
    alerts_delivered: int = 0  # distinct seqs the subscriber received
    alerts_duplicated: int = 0
    alerts_out_of_order: int = 0  # a seq lower than one already received
    telemetry_delivered: int = 0
    outbox_pending_at_end: int = 0
    sessions: int = 0  # "connected to broker" lines: 1 + reconnects
    log_path: Path | None = None

    def halves(self, warm_up_s: float) -> tuple[list[Checkpoint], list[Checkpoint]]:
        """The checkpoints after `warm_up_s`, split into an earlier and a later half."""
        after = [c for c in self.checkpoints if c.t_s >= warm_up_s]
        if len(after) < 4:
            raise ValueError(f"fewer than four checkpoints after {warm_up_s} s")
        middle = len(after) // 2
        return after[:middle], after[middle:]

    def peak_growth(self, warm_up_s: float) -> tuple[int, int]:
        """(bytes, file descriptors): the later half's peak minus the earlier half's.

        Peaks, not two single checkpoints: a bounded buffer that fills and is emptied
        (the detector's sample buffer is compacted every few thousand samples) makes
        a sawtooth, and a checkpoint on its rise or on its fall says nothing about
        growth. With each half longer than the slowest such cycle, bounded memory has
        the same peak in both halves, and a leak raises the later one.
        """
        earlier, later = self.halves(warm_up_s)
        return (
            max(c.traced_bytes for c in later) - max(c.traced_bytes for c in earlier),
            max(c.open_fds for c in later) - max(c.open_fds for c in earlier),
        )

    def table(self, every: int = 1) -> str:
        """The checkpoints as a table, every `every`-th one (and the last)."""
        lines = ["   t (h)   wall (s)   traced (KiB)   RSS (KiB)   fds   alerts   pending"]
        shown = self.checkpoints[every - 1 :: every]
        if self.checkpoints and self.checkpoints[-1] not in shown:
            shown.append(self.checkpoints[-1])
        for c in shown:
            lines.append(
                f"{c.t_s / 3600:8.2f} {c.wall_s:10.1f} {c.traced_bytes / 1024:14.1f} "
                f"{c.rss_kib:11d} {c.open_fds:5d} {c.alerts_raised:8d} {c.outbox_pending:9d}"
            )
        return "\n".join(lines)

    def summary(self) -> str:
        return (
            f"soak: {self.hours:g} simulated h at {self.rate_hz:g} Hz in {self.wall_s:.1f} s "
            f"wall, {self.samples} samples, {self.events_fired} holes opened or closed; "
            f"alerts raised {self.alerts_raised}, delivered "
            f"{self.alerts_delivered}, duplicates {self.alerts_duplicated}, out of order "
            f"{self.alerts_out_of_order}; telemetry delivered {self.telemetry_delivered}; "
            f"broker sessions {self.sessions}; outbox pending at the end "
            f"{self.outbox_pending_at_end}"
        )


def soak_scenario(hours: float, *, rate_hz: float, cycle_s: float, seed: int = 6) -> Scenario:
    """A 50 L chamber, its gas cycling ±0.3 K every 20 min, one BMP388 at `rate_hz`; a hole
    opens at the start of every `cycle_s` for HOLE_OPEN_S, small and large in turn. The
    detector's window holds 60 samples whatever the rate (standard error of the slope
    ≈ 0.02 Pa/s at 1 Hz, docs/datasheets.md "Least-squares slope": SE ≈ σ·√(12/(N·T²)))."""
    duration_s = hours * 3600.0
    events: list[dict[str, Any]] = []
    cycle = 0
    while (start_s := 60.0 + cycle * cycle_s) + HOLE_OPEN_S < duration_s:
        diameter_mm = LARGE_HOLE_MM if cycle % 2 else SMALL_HOLE_MM
        events.append(
            {"at_s": start_s, "zone": ZONE, "action": "open_hole", "diameter_mm": diameter_mm}
        )
        events.append({"at_s": start_s + HOLE_OPEN_S, "zone": ZONE, "action": "close_holes"})
        cycle += 1
    return Scenario.model_validate(
        {
            "seed": seed,
            "title": f"soak: a hole opening and closing every {cycle_s:g} s",
            "duration_s": duration_s,
            "zones": [
                {
                    "id": ZONE,
                    "volume_m3": 0.05,
                    "pressure_pa": 101_325.0,
                    "temperature_k": 295.15,
                    "cycle_amplitude_k": 0.3,
                    "cycle_period_s": 1200.0,
                    "detector": {"window_s": 60.0 / rate_hz},
                }
            ],
            "sensors": [{"kind": "bmp388", "zone": ZONE, "address": 0x77, "rate_hz": rate_hz}],
            "events": events,
        }
    )


class _CountingSubscriber:
    """Counts the station's alerts and telemetry on the broker with O(1) state."""

    def __init__(self, host: str, port: int) -> None:
        self._lock = threading.Lock()
        self.highest_seq = 0
        self.delivered = 0
        self.duplicated = 0
        self.out_of_order = 0
        self.telemetry = 0
        base = f"{HIL_PREFIX}/{HIL_STATION}/zones/+"
        self._topics = [(f"{base}/alert", 1), (f"{base}/telemetry", 0)]
        subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"soak-{uuid.uuid4()}")
        self._client.on_connect = lambda client, *_: client.subscribe(self._topics)
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        if not subscribed.wait(SUBSCRIBER_TIMEOUT_S):
            self.close()
            raise RuntimeError(f"the soak subscriber could not subscribe on {host}:{port}")

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            if message.topic.endswith("/telemetry"):
                self.telemetry += 1
                return
            if message.retain:
                return  # the retained picture republished at a (re)connect: seen before
            seq = parse_document(Alert, message.payload).seq
            if seq > self.highest_seq:
                self.delivered += 1
                self.highest_seq = seq
            elif seq == self.highest_seq:
                self.duplicated += 1
            else:
                self.out_of_order += 1

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def counts(self) -> tuple[int, int, int, int]:
        """(delivered, duplicated, out of order, telemetry)."""
        with self._lock:
            return self.delivered, self.duplicated, self.out_of_order, self.telemetry


def subscriber_main() -> None:
    """The subscriber process (`_SubscriberProcess`): subscribe to argv's HOST PORT, print
    `subscribed`, read the number of alerts raised from stdin, wait for them, print the
    counts as JSON."""
    subscriber = _CountingSubscriber(sys.argv[1], int(sys.argv[2]))
    print("subscribed", flush=True)
    raised = int(sys.stdin.readline())
    _wait_until(lambda: subscriber.highest_seq >= raised, SUBSCRIBER_TIMEOUT_S)
    subscriber.close()
    print(json.dumps(subscriber.counts()), flush=True)


class _SubscriberProcess:
    """`_CountingSubscriber` in a process of its own, so that its backlog of messages is
    not in the heap the soak measures."""

    def __init__(self, host: str, port: int) -> None:
        code = "from hullwatch.hil.soak import subscriber_main; subscriber_main()"
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, host, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "subscribed":
            self.close()
            raise RuntimeError(f"the soak subscriber could not subscribe on {host}:{port}")

    def counts(self, alerts_raised: int) -> tuple[int, int, int, int]:
        """Once the alerts up to `alerts_raised` arrived (or SUBSCRIBER_TIMEOUT_S passed)."""
        answer, _ = self._process.communicate(f"{alerts_raised}\n", SUBSCRIBER_TIMEOUT_S + 10.0)
        delivered, duplicated, out_of_order, telemetry = json.loads(answer)
        return delivered, duplicated, out_of_order, telemetry

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib() -> int:
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def run_soak(
    *,
    hours: float,
    broker_address: tuple[str, int],
    rate_hz: float = 1.0,
    cycle_s: float = 900.0,
    telemetry_interval_s: float = 1.0,
    alert_update_interval_s: float = 10.0,
    checkpoint_every_s: float = 600.0,
    log_path: Path | None = None,
    progress: TextIO | None = None,
) -> SoakResult:
    """Run the soak with tracemalloc on; the daemon's JSON log goes to `log_path` or nowhere.

    A checkpoint every `checkpoint_every_s` of simulated time, from the first to the
    end; each costs a `gc.collect()`.
    """
    scenario = soak_scenario(hours, rate_hz=rate_hz, cycle_s=cycle_s)
    result = SoakResult(hours=hours, rate_hz=rate_hz, log_path=log_path)
    intervals = {
        "telemetry_interval_s": telemetry_interval_s,
        "alert_update_interval_s": alert_update_interval_s,
    }
    subscriber = _SubscriberProcess(*broker_address)
    try:
        _run_traced(
            scenario, broker_address, result, checkpoint_every_s, progress, log_path, intervals
        )
        (
            result.alerts_delivered,
            result.alerts_duplicated,
            result.alerts_out_of_order,
            result.telemetry_delivered,
        ) = subscriber.counts(result.alerts_raised)
    finally:
        subscriber.close()
    if log_path is not None:
        result.sessions = sum(
            '"connected to broker"' in line for line in log_path.read_text().splitlines()
        )
    return result


def _run_traced(
    scenario: Scenario,
    broker_address: tuple[str, int],
    result: SoakResult,
    checkpoint_every_s: float,
    progress: TextIO | None,
    log_path: Path | None,
    intervals: dict[str, float],
) -> None:
    """`_soak` on simulated time, with tracemalloc on and the daemon's log in `log_path`."""
    was_tracing = tracemalloc.is_tracing()
    with daemon_log_to(log_path):
        if not was_tracing:
            tracemalloc.start()
        wall_start = time.monotonic()
        try:
            run_simulated(
                _soak(scenario, broker_address, intervals, result, checkpoint_every_s, progress)
            )
        finally:
            if not was_tracing:
                tracemalloc.stop()
        result.wall_s = time.monotonic() - wall_start


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


async def _soak(
    scenario: Scenario,
    broker_address: tuple[str, int],
    intervals: dict[str, float],
    result: SoakResult,
    checkpoint_every_s: float,
    progress: TextIO | None,
) -> None:
    wall_start = time.monotonic()
    loop = asyncio.get_running_loop()
    start_s = loop.time()

    def clock() -> float:
        return loop.time() - start_s

    world = World(scenario, clock)
    with tempfile.TemporaryDirectory(prefix="hullwatch-soak-") as workdir:
        socket_path = Path(workdir) / "sim.sock"
        host, port = broker_address
        data = daemon_config(scenario, socket_path=socket_path, broker_port=port)
        data["mqtt"]["host"] = host
        data["mqtt"].update(intervals)
        data["state_dir"] = str(Path(workdir) / "state")
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
        running = asyncio.create_task(daemon.run(stop))
        pacing = asyncio.create_task(_pace_the_network(publisher))

        def checkpoint() -> None:
            gc.collect()
            mark = Checkpoint(
                t_s=clock(),
                wall_s=time.monotonic() - wall_start,
                traced_bytes=tracemalloc.get_traced_memory()[0],
                rss_kib=_rss_kib(),
                open_fds=_open_fds(),
                alerts_raised=outbox.seq,
                outbox_pending=len(outbox),
            )
            result.checkpoints.append(mark)
            if progress is not None:
                print(
                    f"  t = {mark.t_s / 3600:6.2f} h, {mark.wall_s:6.1f} s wall, "
                    f"traced {mark.traced_bytes / 1024:8.1f} KiB, {mark.open_fds} fds, "
                    f"{mark.alerts_raised} alerts",
                    file=progress,
                    flush=True,
                )

        duration_s = scenario.duration_s
        count = max(1, round(duration_s / checkpoint_every_s))
        marks = [duration_s * k / count for k in range(1, count + 1)]
        try:
            for mark_s in marks:
                while clock() < mark_s:
                    await asyncio.sleep(min(60.0, mark_s - clock()))
                    world.tick(clock())
                    # Taken, counted and dropped: a list kept here would be a leak of our own.
                    result.events_fired += len(world.take_fired())
                    if running.done() or publishing.done():
                        raise RuntimeError("the daemon or the publisher stopped during the soak")
                checkpoint()
        finally:
            stop.set()
            await running
            await publisher.close(5.0)
            for task in (publishing, pacing):
                task.cancel()
            await asyncio.gather(publishing, pacing, return_exceptions=True)
            result.samples = sum(poller.samples_accepted for poller in daemon.pollers)
            result.alerts_raised = outbox.seq
            result.outbox_pending_at_end = len(outbox)
            outbox.close()
            await server.close()


async def _pace_the_network(publisher: Publisher) -> None:
    """Give the broker real time to answer while the publisher waits for it.

    The simulated clock jumps from timer to timer without waiting, so a PUBACK that
    takes a millisecond of real time would arrive after the publisher's timeout of
    PUBLISH_TIMEOUT_S simulated seconds had run out, and every alert would end its
    session. While a message waits for its PUBACK (or a connection for its CONNACK)
    this blocks the loop for PACE_REAL_S of real time every PACE_SIMULATED_S: the
    broker's answer is in the socket when the loop looks next. 10 s of simulated
    time are then 200 such pauses, 0.4 s of real time.
    """
    while True:
        if publisher.connected and len(publisher.outbox) == 0:
            await asyncio.sleep(PACE_IDLE_S)
            continue
        time.sleep(PACE_REAL_S)  # noqa: ASYNC251 - blocking is the point: real time passes
        await asyncio.sleep(PACE_SIMULATED_S)

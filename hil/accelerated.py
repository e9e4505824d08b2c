"""A scenario on simulated time: the daemon's real pollers, drivers, detectors and
guards and the simulator's bus, all in one event loop whose clock jumps to the
next timer (`virtual_loop`). Alerts are recorded instead of published;
everything else is the code that runs on a Pi.

The daemon reaches the simulated bus in-process (`loopback.SimulatedTimeI2CBus`,
handed to it as its I2C bus opener) unless `transport="socket"` asks for the
`hullwatch sim` path: `BusServer` on a Unix socket and the daemon's own `sim:`
transport. Both give the same run; the socket costs about twice the wall time.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from hullwatch.daemon.delivery.wire import Alert, SensorHealth, Telemetry
from hullwatch.daemon.service.service import Daemon
from hullwatch.daemon.settings.config import Config
from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.transports import I2CBusOpener, open_i2c_bus

from .daemon_log import daemon_log_to
from .expectations import Observed
from .hil_config import daemon_config
from .i2c_bus import SimulatedI2CBus
from .loopback import SimulatedTimeI2CBus
from .run_result import RunResult, score
from .scenario import Scenario
from .sim_server import BusServer
from .virtual_loop import run_simulated
from .world import World

PROGRESS_EVERY_S = 600.0

Transport = Literal["in-process", "socket"]


@dataclass
class AcceleratedStats:
    """What the daemon did in a run, for benchmarks (`bench/hil_speed.py`)."""

    samples_taken: int = 0  # readings the chips gave, every sensor
    samples_accepted: int = 0  # readings passed on to the detectors
    # (simulated time, sensor, health, reason) of every health document published
    health: list[tuple[float, str, str, str]] = field(default_factory=list)


class RecordingPublisher:
    """Stands where the MQTT publisher stands; keeps what would have been published."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seq = 0
        self.alerts: list[Observed] = []
        self.health: list[tuple[float, SensorHealth]] = []
        self.telemetry_count = 0
        self.connected = True
        self.state = "recording"
        self._stopped = asyncio.Event()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def publish_alert(self, zone_id: str, document: Alert) -> None:
        self.alerts.append(Observed(self._clock(), document))

    def when_stored(self, callback: Callable[[], object]) -> None:
        callback()  # nothing to wait for: nothing is stored

    def publish_health(self, sensor_id: str, document: SensorHealth) -> None:
        self.health.append((self._clock(), document))

    def publish_telemetry(self, zone_id: str, document: Telemetry) -> None:
        self.telemetry_count += 1

    async def run(self) -> None:
        await self._stopped.wait()

    async def close(self, timeout_s: float = 5.0) -> None:
        self._stopped.set()


def run_accelerated(
    scenario: Scenario,
    *,
    name: str,
    log_path: Path | None = None,
    progress: TextIO | None = sys.stderr,
    stats: AcceleratedStats | None = None,
    transport: Transport = "in-process",
) -> RunResult:
    """Run and judge `scenario`; the daemon's JSON log goes to `log_path` (or nowhere).

    `stats`, when given, is filled in with what the daemon did.
    """
    if scenario.serial_sensors:
        raise ValueError(
            "serial sensors run on pseudo-terminal threads in real time: "
            "run this scenario without --accelerated"
        )
    with daemon_log_to(log_path):
        wall_start = time.monotonic()
        result = run_simulated(_run(scenario, name, progress, stats, transport))
        result.wall_time_s = time.monotonic() - wall_start
    if log_path is not None:
        result.logs["daemon"] = str(log_path)
    return score(result, scenario)


def _in_process(bus: SimulatedI2CBus, served: str) -> I2CBusOpener:
    """The daemon's bus opener for this run: the simulated bus, without the socket."""

    def open_bus(spec: str, *, timeout_s: float = 1.0) -> I2CBus:
        if spec != served:
            raise ValueError(f"an accelerated run has one simulated bus, {served}, not {spec}")
        return SimulatedTimeI2CBus(bus, name=spec, timeout_s=timeout_s)

    return open_bus


async def _run(
    scenario: Scenario,
    name: str,
    progress: TextIO | None,
    stats: AcceleratedStats | None,
    transport: Transport,
) -> RunResult:
    loop = asyncio.get_running_loop()
    start_s = loop.time()

    def clock() -> float:
        return loop.time() - start_s

    world = World(scenario, clock)
    with tempfile.TemporaryDirectory(prefix="hullwatch-hil-") as workdir:
        # The configuration names the socket either way, so logs and health
        # documents read as they do in a real-time run.
        socket_path = Path(workdir) / "sim.sock"
        config = Config.model_validate(daemon_config(scenario, socket_path=socket_path))
        server: BusServer | None = None
        open_bus: I2CBusOpener = _in_process(world.bus, f"sim:{socket_path}")
        if transport == "socket":
            server = BusServer(world.bus, socket_path)
            await server.start()
            open_bus = open_i2c_bus
        recorder = RecordingPublisher(clock)
        daemon = Daemon(
            config,
            recorder,  # type: ignore[arg-type]
            clock=loop.time,
            open_bus=open_bus,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(daemon.run(stop))
        events = []
        while clock() < scenario.duration_s:
            await asyncio.sleep(min(PROGRESS_EVERY_S, scenario.duration_s - clock()))
            world.tick(clock())
            events += world.take_fired()
            if progress is not None:
                print(
                    f"  t = {clock():8.0f} s of {scenario.duration_s:g} s, "
                    f"{len(recorder.alerts)} alerts",
                    file=progress,
                    flush=True,
                )
        stop.set()
        await running
        if server is not None:
            await server.close()
    if stats is not None:
        stats.samples_taken = sum(poller.samples_taken for poller in daemon.pollers)
        stats.samples_accepted = sum(poller.samples_accepted for poller in daemon.pollers)
        stats.health = [(t_s, h.sensor, h.health, h.reason) for t_s, h in recorder.health]
    return RunResult(
        scenario=name,
        mode="accelerated",
        duration_s=scenario.duration_s,
        wall_time_s=0.0,
        alerts=recorder.alerts,
        events=[{"t_s": e.at_s, "zone": e.zone, "what": e.description} for e in events],
    )

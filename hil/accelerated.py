"""A scenario on simulated time: the daemon's real pollers, drivers, detectors and
guards, the simulator's bus served on a Unix socket, all in one event loop whose
clock jumps to the next timer (`virtual_loop`). Alerts are recorded instead of
published; everything else is the code that runs on a Pi."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import structlog

from hullwatch.daemon.config import Config
from hullwatch.daemon.service import Daemon

from .expectations import Observed
from .hil_config import daemon_config
from .run_result import RunResult, score
from .scenario import Scenario
from .sim_server import BusServer
from .virtual_loop import run_simulated
from .world import World

PROGRESS_EVERY_S = 600.0


class RecordingPublisher:
    """Stands where the MQTT publisher stands; keeps what would have been published."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seq = 0
        self.alerts: list[Observed] = []
        self.health: list[Observed] = []
        self.telemetry_count = 0
        self.connected = True
        self.state = "recording"
        self._stopped = asyncio.Event()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def publish_alert(self, zone_id: str, document: dict[str, Any]) -> None:
        self.alerts.append(Observed(self._clock(), document))

    def publish_health(self, sensor_id: str, document: dict[str, Any]) -> None:
        self.health.append(Observed(self._clock(), document))

    def publish_telemetry(self, zone_id: str, document: dict[str, Any]) -> None:
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
) -> RunResult:
    """Run and judge `scenario`; the daemon's JSON log goes to `log_path` (or nowhere)."""
    if scenario.serial_sensors:
        raise ValueError(
            "serial sensors run on pseudo-terminal threads in real time: "
            "run this scenario without --accelerated"
        )
    saved = structlog.get_config()
    with open(log_path or os.devnull, "w") as log_file:
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
            logger_factory=structlog.PrintLoggerFactory(file=log_file),
            cache_logger_on_first_use=False,
        )
        try:
            wall_start = time.monotonic()
            result = run_simulated(_run(scenario, name, progress))
            result.wall_time_s = time.monotonic() - wall_start
        finally:
            # The log file closes here: give the process its own logging back.
            structlog.configure(**saved)
    if log_path is not None:
        result.logs["daemon"] = str(log_path)
    return score(result, scenario)


async def _run(scenario: Scenario, name: str, progress: TextIO | None) -> RunResult:
    loop = asyncio.get_running_loop()
    start_s = loop.time()

    def clock() -> float:
        return loop.time() - start_s

    world = World(scenario, clock)
    with tempfile.TemporaryDirectory(prefix="hullwatch-hil-") as workdir:
        socket_path = Path(workdir) / "sim.sock"
        server = BusServer(world.bus, socket_path)
        await server.start()
        config = Config.model_validate(daemon_config(scenario, socket_path=socket_path))
        recorder = RecordingPublisher(clock)
        daemon = Daemon(config, recorder, clock=loop.time)  # type: ignore[arg-type]
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
        await server.close()
    return RunResult(
        scenario=name,
        mode="accelerated",
        duration_s=scenario.duration_s,
        wall_time_s=0.0,
        alerts=recorder.alerts,
        events=[{"t_s": e.at_s, "zone": e.zone, "what": e.description} for e in events],
    )

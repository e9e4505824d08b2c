"""What systemd is told about a running `Daemon`: READY, STATUS and the watchdog.

- `READY=1` once every sensor has delivered its first sample, or after
  `READY_TIMEOUT_S` with a STATUS naming the sensors still missing (a sensor
  that is absent at boot must not keep the station from publishing the others,
  nor its own `failed` health);
- `STATUS=` a one-line summary (zones and levels, broker, sensors), sent when it
  changes and every `STATUS_REFRESH_S`;
- `WATCHDOG=1` every half `WATCHDOG_USEC`, only while sampling makes progress
  (`Supervisor.progress_problem`): a poller that claims `ok` but has taken no
  sample for `STALL_PERIODS` periods (at least `STALL_MIN_S`) is wedged, and so
  is the detector when no sample reached it while some poller is `ok`. A sensor
  known to be faulty (`degraded`, `failed`) does not stop the pings: its poller
  keeps re-initialising it with backoff and its health is on MQTT; a restart
  would not mend the hardware, and a restart loop would end with the start
  limit and nothing watching the chamber.

The supervisor only reads the pollers and what the daemon reports through
`StationView`; it changes nothing in the pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol

import structlog

from ..detection.levels import Level
from .poller import Health, SensorPoller
from .sd_notify import Notifier

log = structlog.get_logger("hullwatch.daemon")

# Longest wait for every sensor's first sample before READY=1 anyway. Under the
# unit's TimeoutStartSec; a poller's init backoff (0.5, 1, 2, 4 s) fits 5 tries.
READY_TIMEOUT_S = 10.0
# An `ok` poller without a sample for this many periods (and this long) is wedged.
STALL_PERIODS = 3.0
STALL_MIN_S = 1.0
STATUS_CHECK_S = 0.5
STATUS_REFRESH_S = 60.0


class StationView(Protocol):
    """What the status line tells beyond the pollers (the daemon has it)."""

    def published_levels(self) -> Mapping[str, Level]:
        """The level each zone stands at for its subscribers."""
        ...

    def has_estimate(self, zone_id: str) -> bool: ...

    @property
    def broker_state(self) -> str: ...

    @property
    def last_processed_t_s(self) -> float | None:
        """Monotonic time of the newest sample a detector took."""
        ...


class Supervisor:
    def __init__(
        self,
        pollers: Sequence[SensorPoller],
        station: StationView,
        notifier: Notifier,
        clock: Callable[[], float],
    ) -> None:
        self._pollers = pollers
        self._station = station
        self.notifier = notifier
        self._clock = clock
        self._stall_limit_s = {
            p.sensor_id: max(STALL_PERIODS / p.rate_hz, STALL_MIN_S) for p in pollers
        }
        self._first_samples_in = asyncio.Event()
        self.started_s = 0.0  # set by `start`
        self.ready_announced = False
        self.status_note: str | None = None  # appended to STATUS (a rejected reload)

    def start(self) -> None:
        """The daemon begins sampling now (the READY timeout and stall checks count from it)."""
        self.started_s = self._clock()

    def coroutines(self) -> list[Coroutine[Any, Any, None]]:
        """What runs beside the pollers while the daemon samples: READY and STATUS, and
        the watchdog pings when systemd asked for them."""
        work = [self._report_status()]
        interval_s = self.notifier.watchdog_interval_s
        if interval_s is not None:
            work.append(self._watchdog_loop(interval_s))
        return work

    def health_changed(self) -> None:
        """A poller's health changed: READY may be due."""
        if not self.sensors_without_sample():
            self._first_samples_in.set()

    def sensors_without_sample(self) -> list[str]:
        return [p.sensor_id for p in self._pollers if p.samples_accepted == 0]

    def progress_problem(self, now_s: float) -> str | None:
        """Why sampling or detection is not making progress now; None when it is."""
        stalled = []
        for poller in self._pollers:
            if poller.health is Health.OK:
                last_s = poller.last_sample_t_s
                if last_s is None or now_s - last_s > self._stall_limit_s[poller.sensor_id]:
                    stalled.append(poller.sensor_id)
            elif poller.health is Health.STARTING and now_s - self.started_s > READY_TIMEOUT_S:
                stalled.append(poller.sensor_id)  # its first initialisation never ended
        if stalled:
            return f"no sample from {', '.join(stalled)}"
        limits = [self._stall_limit_s[p.sensor_id] for p in self._pollers if p.health is Health.OK]
        last_s = self._station.last_processed_t_s
        if limits and (last_s is None or now_s - last_s > max(limits)):
            return "the detectors received no sample"
        return None

    def status_line(self) -> str:
        zones = ", ".join(
            f"{zone_id} {level.value}"
            + ("" if self._station.has_estimate(zone_id) else " (no estimate)")
            for zone_id, level in self._station.published_levels().items()
        )
        healthy = sum(poller.health is Health.OK for poller in self._pollers)
        sensors = f"sensors {healthy}/{len(self._pollers)} ok"
        others = [
            f"{p.sensor_id} {p.health.value}" for p in self._pollers if p.health is not Health.OK
        ]
        if others:
            sensors += f" ({', '.join(others)})"
        line = f"{zones} | broker {self._station.broker_state} | {sensors}"
        return line if self.status_note is None else f"{line} | {self.status_note}"

    async def _report_status(self) -> None:
        """READY=1 once every sensor delivered a first sample (or after READY_TIMEOUT_S),
        then STATUS= on every change and every STATUS_REFRESH_S."""
        missing = self.sensors_without_sample()
        if missing:
            self.notifier.status(f"starting: waiting for a first sample from {', '.join(missing)}")
        remaining_s = self.started_s + READY_TIMEOUT_S - self._clock()
        try:
            await asyncio.wait_for(self._first_samples_in.wait(), max(0.0, remaining_s))
        except TimeoutError:
            missing = self.sensors_without_sample()
            log.warning("ready without a first sample from every sensor", missing=missing)
            status = f"{self.status_line()} | no sample yet from {', '.join(missing)}"
        else:
            log.info("ready: every sensor delivered a first sample")
            status = self.status_line()
        self.notifier.ready(status)
        self.ready_announced = True
        if not self.notifier.enabled:
            return
        sent, sent_s = status, self._clock()
        while True:
            await asyncio.sleep(STATUS_CHECK_S)
            status = self.status_line()
            if status != sent or self._clock() - sent_s >= STATUS_REFRESH_S:
                self.notifier.status(status)
                sent, sent_s = status, self._clock()

    async def _watchdog_loop(self, interval_s: float) -> None:
        withheld: str | None = None
        while True:
            problem = self.progress_problem(self._clock())
            if problem is None:
                self.notifier.watchdog()
                if withheld is not None:
                    log.info("watchdog pings resumed")
            elif problem != withheld:
                log.error("watchdog ping withheld: sampling makes no progress", reason=problem)
            withheld = problem
            await asyncio.sleep(interval_s)

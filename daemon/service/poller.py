"""One task per sensor: bring the chip up, read it on a drift-free schedule, recover from faults.

The k-th read is due at start + k/rate_hz, whatever the previous read cost,
so the sample rate does not sag by the I/O time. A read that finds no new
conversion yields nothing; a failed read is retried; repeated failures, or
errors a retry cannot fix, send the sensor back through initialisation with
capped exponential backoff. A faulty sensor's values never reach the detector.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import structlog

from hullwatch.drivers.errors import SensorError
from hullwatch.drivers.sensor import PressureSensor, Reading

from .sample_guard import SampleGuard, Verdict

log = structlog.get_logger("hullwatch.poller")

READ_FAILURES_BEFORE_REINIT = 3
# A sensor stuck for this many times the guard's stuck run gets a reset: a frozen
# ADC is sometimes revived by one, and re-initialising shows whether it was.
STUCK_RUNS_BEFORE_REINIT = 5
REINIT_BACKOFF_MIN_S = 0.5
REINIT_BACKOFF_MAX_S = 30.0


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class Health(StrEnum):
    STARTING = "starting"
    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Sample:
    sensor_id: str
    t_s: float  # monotonic
    reading: Reading


class SensorPoller:
    def __init__(
        self,
        *,
        sensor_id: str,
        sensor: PressureSensor,
        rate_hz: float,
        on_sample: Callable[[Sample], None],
        on_fault: Callable[[str], None],
        guard: SampleGuard | None = None,
        on_health: Callable[[SensorPoller], None] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sensor_id = sensor_id
        self._sensor = sensor
        self.rate_hz = rate_hz
        self._period_s = 1.0 / rate_hz
        self._on_sample = on_sample
        self._on_fault = on_fault
        self._guard = guard
        self._on_health = on_health
        # The event loop's clock by default: monotonic time on a Pi, simulated time
        # in an accelerated hardware-in-the-loop run.
        self._clock = clock if clock is not None else _loop_time
        self._sleep = sleep
        self._wall_clock = wall_clock
        self.health = Health.STARTING
        self.health_reason = "not initialised yet"
        self.health_since = wall_clock()  # for messages only
        self.samples_taken = 0  # readings the chip gave
        self.samples_accepted = 0  # readings passed on to the detector
        self.missed_slots = 0
        self.last_sample_t_s: float | None = None

    async def run(self) -> None:
        backoff_s = REINIT_BACKOFF_MIN_S
        while True:
            try:
                await self._sensor.initialise()
            except SensorError as exc:
                self._set_health(Health.FAILED, f"initialisation failed: {exc}")
                await self._sleep(backoff_s)
                backoff_s = min(backoff_s * 2.0, REINIT_BACKOFF_MAX_S)
                continue
            log.info("sensor initialised", sensor=self.sensor_id, device=self._sensor.description)
            if self._guard is not None:
                self._guard.reset()
            accepted_before = self.samples_accepted
            reason = await self._sample_until_fault()
            self._set_health(Health.DEGRADED, reason)
            self._on_fault(self.sensor_id)
            if self.samples_accepted > accepted_before:
                # It worked for a while: a passing fault, so retry at once.
                backoff_s = REINIT_BACKOFF_MIN_S
            else:
                # It comes up but never yields a sample (a chamber below the
                # sensor's range, say): do not reset the chip several times a second.
                await self._sleep(backoff_s)
                backoff_s = min(backoff_s * 2.0, REINIT_BACKOFF_MAX_S)

    async def _sample_until_fault(self) -> str:
        start_s = self._clock()
        slot = 0
        failures = 0
        while True:
            slot += 1
            delay_s = start_s + slot * self._period_s - self._clock()
            if delay_s < 0.0:
                # Late by whole periods (a slow bus, a busy CPU): skip those slots
                # rather than bunching reads, and stay on the grid.
                behind = math.ceil(-delay_s / self._period_s)
                slot += behind
                self.missed_slots += behind
                delay_s += behind * self._period_s
            await self._sleep(delay_s)
            try:
                reading = await self._sensor.read()
            except SensorError as exc:
                failures += 1
                log.warning("sensor read failed", sensor=self.sensor_id, error=str(exc))
                if not exc.retriable or failures >= READ_FAILURES_BEFORE_REINIT:
                    return f"{failures} failed read(s), last: {exc}"
                continue
            failures = 0
            if reading is None:
                continue
            t_s = self._clock()
            self.samples_taken += 1
            self.last_sample_t_s = t_s
            if self._guard is None:
                self._accept(Sample(self.sensor_id, t_s, reading))
                continue
            result = self._guard.submit(t_s, reading)
            if result.stuck:
                run = self._guard.identical_run
                self._set_health(Health.DEGRADED, f"stuck: the same reading {run} times in a row")
                if run >= STUCK_RUNS_BEFORE_REINIT * self._guard.stuck_samples:
                    return f"stuck for {run} readings"
                continue
            if result.verdict is Verdict.SPIKE:
                log.info(
                    "spike rejected", sensor=self.sensor_id, spikes=self._guard.spikes_rejected
                )
            if result.released is not None:
                self._accept(Sample(self.sensor_id, result.released.t_s, result.released.reading))
            elif self.health is not Health.OK and self.health_reason.startswith("stuck"):
                self._set_health(Health.OK, "reading")

    def _accept(self, sample: Sample) -> None:
        self.samples_accepted += 1
        if self.health is not Health.OK:
            self._set_health(Health.OK, "reading")
        self._on_sample(sample)

    def _set_health(self, health: Health, reason: str) -> None:
        if health is self.health and reason == self.health_reason:
            return
        log_method = log.info if health is Health.OK else log.warning
        log_method("sensor health", sensor=self.sensor_id, health=health.value, reason=reason)
        if health is not self.health:
            self.health_since = self._wall_clock()
        self.health = health
        self.health_reason = reason
        if self._on_health is not None:
            self._on_health(self)

"""`hullwatch run`: sensors → detectors → MQTT, until SIGTERM or SIGINT; SIGHUP reloads.

Under systemd (`Type=notify`, see `sd_notify` and docs/systemd.md) the service reports:

- `READY=1` once every sensor has delivered its first sample, or after
  `READY_TIMEOUT_S` with a STATUS naming the sensors still missing (a sensor
  that is absent at boot must not keep the station from publishing the others,
  nor its own `failed` health);
- `STATUS=` a one-line summary (zones and levels, broker, sensors), sent when it
  changes and every `STATUS_REFRESH_S`;
- `WATCHDOG=1` every half `WATCHDOG_USEC`, only while sampling makes progress
  (`Daemon.progress_problem`): a poller that claims `ok` but has taken no sample
  for `STALL_PERIODS` periods (at least `STALL_MIN_S`) is wedged, and so is the
  detector when no sample reached it while some poller is `ok`. A sensor known
  to be faulty (`degraded`, `failed`) does not stop the pings: its poller keeps
  re-initialising it with backoff and its health is on MQTT; a restart would
  not mend the hardware, and a restart loop would end with the start limit and
  nothing watching the chamber;
- `RELOADING=1` … `READY=1` around a SIGHUP, `STOPPING=1` on SIGTERM/SIGINT.

A reload re-reads and validates the file. An invalid one is refused with a
log line naming its problems and the running configuration stays. A valid one
replaces the running `Daemon` (pollers, detectors, telemetry) with a new one;
each zone's level carries over, so the retained alert on the broker stays true,
and the alert `seq` continues (it comes from the outbox, which the service owns).
The MQTT session stays up unless the connection settings changed (then the old
session flushes, says `offline` and closes before the new one connects).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import structlog

from hullwatch.drivers.transports import I2CBusOpener, open_i2c_bus

from ..delivery.alert_document import alert_document, health_document, telemetry_document
from ..delivery.outbox import Outbox, OutboxError
from ..delivery.published_levels import published_levels
from ..delivery.publisher import Publisher
from ..detection.detector import Assessment
from ..detection.lag_estimate import LagEstimate, lag_agrees, lag_disagrees
from ..detection.levels import Level
from ..exit_codes import ExitCode
from ..settings.config import Config, ConfigError, load_config
from ..settings.secret_hygiene import log_secret_warnings
from .logging_setup import configure_logging
from .noise_store import (
    NOISE_FILE,
    NOISE_SAVE_INTERVAL_S,
    NoiseStore,
    learned_octaves,
    noise_text,
)
from .poller import Health, Sample, SensorPoller
from .recording import Recorder
from .sample_guard import SampleGuard
from .sd_notify import Notifier
from .sensors import SensorFactory
from .zone_router import ZoneRouter
from .zone_router import zone_parameters as zone_parameters  # where tools import it from

log = structlog.get_logger("hullwatch.daemon")

SHUTDOWN_FLUSH_TIMEOUT_S = 5.0
BUS_CLOSE_TIMEOUT_S = 2.0
# Longest wait for every sensor's first sample before READY=1 anyway. Under the
# unit's TimeoutStartSec; a poller's init backoff (0.5, 1, 2, 4 s) fits 5 tries.
READY_TIMEOUT_S = 10.0
# An `ok` poller without a sample for this many periods (and this long) is wedged.
STALL_PERIODS = 3.0
STALL_MIN_S = 1.0
STATUS_CHECK_S = 0.5
STATUS_REFRESH_S = 60.0
# MQTT settings that only the Daemon reads: changing them keeps the session.
_DAEMON_ONLY_MQTT_KEYS = frozenset({"telemetry_interval_s", "alert_update_interval_s"})


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


@dataclass
class Carry:
    """What a reload hands from one Daemon to the next (monotonic times stay valid).

    Alert `seq` needs no carrying: it comes from the outbox, which outlives both.
    At start, `restarted_levels` holds what each zone published before the process
    began (`published_levels`); a reload hands over the zones still awaiting their
    detector's first judgement.
    """

    levels: dict[str, Level] = field(default_factory=dict)
    last_alert_s: dict[str, float] = field(default_factory=dict)
    restarted_levels: dict[str, Level] = field(default_factory=dict)


class Daemon:
    def __init__(
        self,
        config: Config,
        publisher: Publisher,
        *,
        notifier: Notifier | None = None,
        carry: Carry | None = None,
        clock: Callable[[], float] | None = None,
        open_bus: I2CBusOpener = open_i2c_bus,
        noise_store: NoiseStore | None = None,
    ) -> None:
        """`noise_store`: where the sensors' learned noise is kept across restarts
        (`hullwatch run`: `<state_dir>/noise.json`); None: learned afresh each time."""
        self.config = config
        self.publisher = publisher
        self.notifier = notifier if notifier is not None else Notifier(None)
        # The event loop's clock, as the pollers': monotonic time on a Pi, simulated
        # time in an accelerated hardware-in-the-loop run.
        self._clock = clock if clock is not None else _loop_time
        carry = carry if carry is not None else Carry()
        # The samples-to-alerts path `hullwatch replay` runs too (zone_router).
        self.zones = ZoneRouter(
            config,
            self._alert,
            levels=carry.levels,
            last_alert_s=carry.last_alert_s,
            restarted_levels=carry.restarted_levels,
        )
        self.detectors = self.zones.detectors
        self._zone_of = self.zones.zone_of
        self._latest = self.zones.latest
        self._lag_disagrees: set[str] = set()  # sensors already warned about
        self.recorder = Recorder.for_config(config) if config.recording.enabled else None
        self._guards = {
            sensor.id: SampleGuard(
                spike_threshold_pa=sensor.spike_threshold_pa,
                stuck_samples=sensor.stuck_samples,
                spike_noise_multiple=sensor.spike_noise_multiple,
            )
            for sensor in config.sensors
        }
        # `open_bus`: the I2C transports; an accelerated HIL run reaches its bus in-process.
        self._factory = SensorFactory(config.sensors, open_bus=open_bus)
        self.pollers = [
            SensorPoller(
                sensor_id=sensor.id,
                sensor=self._factory.build(sensor),
                rate_hz=sensor.rate_hz,
                on_sample=self._on_sample,
                on_fault=self._on_sensor_fault,
                guard=self._guards[sensor.id],
                on_health=self._on_health,
            )
            for sensor in config.sensors
        ]
        self._stall_limit_s = {
            sensor.id: max(STALL_PERIODS / sensor.rate_hz, STALL_MIN_S) for sensor in config.sensors
        }
        self._first_samples_in = asyncio.Event()
        self.started_s = 0.0  # set by `run`
        self.ready_announced = False
        self.status_note: str | None = None  # appended to STATUS (a rejected reload)
        self.last_processed_t_s: float | None = None  # monotonic, newest sample a detector took
        self.noise_store = noise_store
        if noise_store is not None:
            self._restore_noise(noise_store)

    def carry(self) -> Carry:
        return Carry(
            levels=self.zones.levels(),
            last_alert_s=dict(self.zones.last_alert_s),
            restarted_levels=self.zones.restarted_levels(),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Sample, detect, publish through `publisher` (run by the caller) until `stop`."""
        self.started_s = self._clock()
        log.info(
            "hullwatch starting",
            station=self.config.station,
            zones=list(self.detectors),
            sensors=[poller.sensor_id for poller in self.pollers],
        )
        if self.recorder is not None:
            self.recorder.start()
            log.info("recording accepted samples", directory=str(self.config.recording_dir))
        async with asyncio.TaskGroup() as group:
            workers = [group.create_task(poller.run()) for poller in self.pollers]
            workers.append(group.create_task(self._telemetry_loop()))
            workers.append(group.create_task(self._report_status()))
            interval_s = self.notifier.watchdog_interval_s
            if interval_s is not None:
                workers.append(group.create_task(self._watchdog_loop(interval_s)))
            if self.noise_store is not None:
                workers.append(group.create_task(self._save_noise_loop(self.noise_store)))
            await stop.wait()
            log.info("sampling halted")
            for worker in workers:
                worker.cancel()
        try:
            # A transfer wedged in the kernel keeps its worker thread: do not wait on it.
            await asyncio.wait_for(self._factory.close(), BUS_CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("a sensor bus did not close in time", timeout_s=BUS_CLOSE_TIMEOUT_S)
        if self.recorder is not None:
            # Writes what is queued: blocking file I/O, off the event loop.
            await asyncio.to_thread(self.recorder.close)
        if self.noise_store is not None:
            # A clean stop or a reload: the next Daemon starts from what was learned.
            await self._save_noise(self.noise_store)

    # --- the learned noise across restarts ----------------------------------------------

    def _restore_noise(self, store: NoiseStore) -> None:
        """Give each detector what its sensors taught it in an earlier run (before the
        first sample). Zones and sensors the configuration no longer has are dropped."""
        problems = []
        for zone_id, sensors in store.load().items():
            detector = self.detectors.get(zone_id)
            if detector is None:
                continue
            for sensor_id, state in sensors.items():
                if self._zone_of.get(sensor_id) != zone_id:
                    continue
                try:
                    detector.restore_noise(sensor_id, state)
                except ValueError as exc:
                    problems.append(f"zone {zone_id!r}, sensor {sensor_id!r}: {exc}")
                    continue
                learned = learned_octaves(state)
                log.debug(
                    f"noise model restored for sensor {sensor_id} ({learned} octaves)",
                    zone=zone_id,
                    sensor=sensor_id,
                    octaves=learned,
                    path=str(store.path),
                )
        if problems:
            log.warning(
                "noise file: some sensors' states ignored, they learn afresh",
                path=str(store.path),
                reason="; ".join(problems),
            )

    async def _save_noise(self, store: NoiseStore) -> None:
        # Collected on the event loop (the detectors are not thread-safe), written off it.
        text = noise_text(
            {zone_id: detector.noise_states() for zone_id, detector in self.detectors.items()}
        )
        await asyncio.to_thread(store.save, text)

    async def _save_noise_loop(self, store: NoiseStore) -> None:
        while True:
            await asyncio.sleep(NOISE_SAVE_INTERVAL_S)
            await self._save_noise(store)

    # --- progress, readiness, status ----------------------------------------------

    def sensors_without_sample(self) -> list[str]:
        return [p.sensor_id for p in self.pollers if p.samples_accepted == 0]

    def progress_problem(self, now_s: float) -> str | None:
        """Why sampling or detection is not making progress now; None when it is."""
        stalled = []
        for poller in self.pollers:
            if poller.health is Health.OK:
                last_s = poller.last_sample_t_s
                if last_s is None or now_s - last_s > self._stall_limit_s[poller.sensor_id]:
                    stalled.append(poller.sensor_id)
            elif poller.health is Health.STARTING and now_s - self.started_s > READY_TIMEOUT_S:
                stalled.append(poller.sensor_id)  # its first initialisation never ended
        if stalled:
            return f"no sample from {', '.join(stalled)}"
        limits = [self._stall_limit_s[p.sensor_id] for p in self.pollers if p.health is Health.OK]
        last_s = self.last_processed_t_s
        if limits and (last_s is None or now_s - last_s > max(limits)):
            return "the detectors received no sample"
        return None

    def status_line(self) -> str:
        zones = ", ".join(
            f"{zone_id} {level.value}" + ("" if zone_id in self._latest else " (no estimate)")
            for zone_id, level in self.zones.published_levels().items()
        )
        healthy = sum(poller.health is Health.OK for poller in self.pollers)
        sensors = f"sensors {healthy}/{len(self.pollers)} ok"
        others = [
            f"{p.sensor_id} {p.health.value}" for p in self.pollers if p.health is not Health.OK
        ]
        if others:
            sensors += f" ({', '.join(others)})"
        line = f"{zones} | broker {self.publisher.state} | {sensors}"
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

    # --- samples to alerts ----------------------------------------------------------

    def _on_sample(self, sample: Sample) -> None:
        reading = sample.reading
        if self.recorder is not None:
            zone_id = self._zone_of[sample.sensor_id]
            now_s = self._clock()
            self.recorder.add(
                sample.sensor_id,
                zone_id,
                sample.t_s,
                time.time() - (now_s - sample.t_s),
                reading.pressure_pa,
                reading.temperature_c,
                spikes_rejected=self._guards[sample.sensor_id].spikes_rejected,
            )
        self.zones.add_sample(
            sample.sensor_id, sample.t_s, reading.pressure_pa, reading.temperature_c
        )
        self.last_processed_t_s = self._clock()

    def _on_sensor_fault(self, sensor_id: str) -> None:
        # Samples before and after a fault are not one series (the chip was reset).
        self.zones.forget_sensor(sensor_id)
        if self.recorder is not None:
            self.recorder.note_reset(sensor_id)

    def _on_health(self, poller: SensorPoller) -> None:
        if poller.health is not Health.OK:
            # A stuck or failing sensor's window must not keep voting in its zone.
            self._on_sensor_fault(poller.sensor_id)
        elif not self.sensors_without_sample():
            self._first_samples_in.set()
        self.publisher.publish_health(
            poller.sensor_id,
            health_document(
                poller,
                station=self.config.station,
                zone_id=self._zone_of[poller.sensor_id],
            ),
        )

    def _alert(self, assessment: Assessment, kind: str, t_s: float) -> None:
        seq = self.publisher.next_seq()
        document = alert_document(assessment, station=self.config.station, seq=seq, kind=kind)
        log_method = {
            Level.OK: log.info,
            Level.WARNING: log.warning,
            Level.CRITICAL: log.critical,
        }[assessment.level]
        # Into the outbox first, and logged once it is on disk (the outbox's writer thread
        # fsyncs it): an alert in the log is on disk.
        self.publisher.publish_alert(assessment.zone_id, document)
        fields = dict(document)
        # structlog's own `level` key is the log level; keep the alert's apart.
        fields["alert_level"] = fields.pop("level")
        self.publisher.when_stored(lambda: log_method("alert", **fields))

    async def _telemetry_loop(self) -> None:
        interval_s = self.config.mqtt.telemetry_interval_s
        start_s = self._clock()
        tick = 0
        while True:
            tick += 1
            await asyncio.sleep(max(0.0, start_s + tick * interval_s - self._clock()))
            for zone_id, assessment in self._latest.items():
                lags = self.detectors[zone_id].lag_estimates()
                self._check_lags(zone_id, lags)
                self.publisher.publish_telemetry(
                    zone_id,
                    telemetry_document(assessment, station=self.config.station, lags=lags),
                )

    def _check_lags(self, zone_id: str, lags: dict[str, tuple[float, LagEstimate | None]]) -> None:
        """Warn once when a sensor's measured thermal lag says its configured one is
        wrong, and say so once when they have come to agree."""
        for sensor_id, (configured_s, estimate) in lags.items():
            if estimate is None:
                continue
            flagged = sensor_id in self._lag_disagrees
            fields = {
                "zone": zone_id,
                "sensor": sensor_id,
                "configured_s": configured_s,
                "estimated_s": round(estimate.lag_s, 2),
                "estimated_stderr_s": round(estimate.stderr_s, 2),
            }
            if not flagged and lag_disagrees(configured_s, estimate):
                self._lag_disagrees.add(sensor_id)
                # The configuration takes 0 to 3600 s.
                suggested_s = round(min(max(estimate.lag_s, 0.0), 3600.0))
                log.warning(
                    "temperature lag differs from the configured one",
                    suggested_temperature_lag_s=suggested_s,
                    **fields,
                )
            elif flagged and lag_agrees(configured_s, estimate):
                self._lag_disagrees.discard(sensor_id)
                log.info("temperature lag agrees with the configured one", **fields)


# --- the process: signals, reload, shutdown -------------------------------------------


class _Request(Enum):
    STOP = "stop"
    RELOAD = "reload"


def _connection_key(config: Config) -> tuple[str, dict[str, Any]]:
    """What the MQTT session depends on; equal keys let a reload keep the session."""
    return config.station, config.mqtt.model_dump(exclude=set(_DAEMON_ONLY_MQTT_KEYS))


def _changed_keys(old: Config, new: Config) -> list[str]:
    """Key paths whose values differ, one level into tables (`mqtt.port`, `zones`)."""
    before, after = old.model_dump(), new.model_dump()
    changed = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changed += [f"{key}.{k}" for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
        else:
            changed.append(key)
    return changed


class _MqttLink:
    """A publisher and the task running it; lives across reloads that keep the connection."""

    def __init__(self, config: Config, outbox: Outbox, group: asyncio.TaskGroup) -> None:
        self.key = _connection_key(config)
        self.publisher = Publisher(
            config.mqtt,
            station=config.station,
            zone_ids=[zone.id for zone in config.zones],
            outbox=outbox,
        )
        self._task = group.create_task(self.publisher.run())

    async def close(self) -> None:
        """Flush within SHUTDOWN_FLUSH_TIMEOUT_S, publish `offline`, disconnect."""
        await self.publisher.close(SHUTDOWN_FLUSH_TIMEOUT_S)
        self._task.cancel()


class _Running:
    """A Daemon and the task running it."""

    def __init__(self, daemon: Daemon, group: asyncio.TaskGroup) -> None:
        self.daemon = daemon
        self._stop = asyncio.Event()
        self._task = group.create_task(daemon.run(self._stop))

    async def halt(self) -> Carry:
        self._stop.set()
        await self._task
        return self.daemon.carry()


class _Service:
    """The running configuration, its Daemon and its MQTT link: reload and stop."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        *,
        notifier: Notifier,
        outbox: Outbox,
        group: asyncio.TaskGroup,
    ) -> None:
        self._path = config_path
        self._config = config
        self._notifier = notifier
        self._outbox = outbox
        self._outbox_dir = config.state_dir  # where `outbox` is open until the process ends
        self._group = group
        log_secret_warnings(config.mqtt)
        self._link = _MqttLink(config, outbox, group)
        restarted = published_levels(
            outbox, self._link.publisher.topics, [zone.id for zone in config.zones]
        )
        for zone_id, level in restarted.items():
            if level is not Level.OK:
                log.warning(
                    "zone level carried over from before the restart: no new alert until "
                    "the detector confirms or releases it",
                    zone=zone_id,
                    alert_level=level.value,
                )
        # Where the outbox is (a reload that moves state_dir takes effect at a restart).
        self._noise_store = NoiseStore(config.state_dir / NOISE_FILE)
        daemon = Daemon(
            config,
            self._link.publisher,
            notifier=notifier,
            carry=Carry(restarted_levels=restarted),
            noise_store=self._noise_store,
        )
        self._running = _Running(daemon, group)

    async def reload(self) -> None:
        """Re-read the file; keep the running configuration unless the new one is valid."""
        self._notifier.reloading("reloading the configuration")
        log.info("reloading the configuration", path=str(self._path))
        running = self._running.daemon
        try:
            new = load_config(self._path)
        except ConfigError as exc:
            log.error(
                "configuration reload rejected, the running configuration stays",
                path=str(self._path),
                problems=[str(problem) for problem in exc.problems],
            )
            running.status_note = "last reload rejected (see the log)"
            self._ready_again(running)
            return
        log_secret_warnings(new.mqtt)
        if new == self._config:
            log.info("configuration unchanged")
            running.status_note = None
            self._ready_again(running)
            return
        log.info("applying the new configuration", changed=_changed_keys(self._config, new))
        if new.logging != self._config.logging:
            log.warning("logging settings take effect at the next restart")
        if new.state_dir != self._outbox_dir:
            # The outbox stays open and locked where it is: moving it live could lose
            # or duplicate what waits in it.
            log.warning(
                "state_dir takes effect at the next restart",
                state_dir=str(self._outbox_dir),
                new_state_dir=str(new.state_dir),
            )
        carry = await self._running.halt()
        if _connection_key(new) != self._link.key:
            log.info("MQTT connection settings changed: reconnecting")
            await self._link.close()
            self._link = _MqttLink(new, self._outbox, self._group)
        self._clear_removed(self._config, new)
        self._config = new
        daemon = Daemon(
            new,
            self._link.publisher,
            notifier=self._notifier,
            carry=carry,
            noise_store=self._noise_store,  # saved by the old Daemon as it halted
        )
        self._running = _Running(daemon, self._group)  # READY=1 once its sensors deliver

    def _clear_removed(self, old: Config, new: Config) -> None:
        """The retained alert of each zone and health of each sensor the new configuration
        no longer has: cleared, so that a subscriber does not take them for current.
        (New topics altogether, another station or prefix: the old tree is told
        `offline` and left as it was.)"""
        publisher = self._link.publisher
        if (old.mqtt.topic_prefix, old.station) != (new.mqtt.topic_prefix, new.station):
            return
        topics = publisher.topics
        zones = {zone.id for zone in new.zones}
        sensors = {sensor.id for sensor in new.sensors}
        removed = [topics.alert(zone.id) for zone in old.zones if zone.id not in zones]
        removed += [topics.health(s.id) for s in old.sensors if s.id not in sensors]
        for topic in removed:
            publisher.clear_retained(topic)
        if removed:
            log.info("cleared the retained state of what the reload removed", topics=removed)

    def _ready_again(self, daemon: Daemon) -> None:
        # A daemon still starting sends READY=1 itself once its sensors deliver.
        if daemon.ready_announced:
            self._notifier.ready(daemon.status_line())

    async def stop(self) -> None:
        """STOPPING=1, stop sampling, flush within the bound, `offline`, disconnect."""
        self._notifier.stopping("stopping: flushing to the broker")
        log.info("stopping: sampling halts, flushing to the broker")
        await self._running.halt()
        await self._link.close()


def run_service(config_path: Path) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{problem.source}: {problem.key_path}: {problem.message}", file=sys.stderr)
        print("hullwatch: refusing to start with an invalid configuration", file=sys.stderr)
        return ExitCode.CONFIG
    configure_logging(config.logging.level, config.logging.format)
    try:
        outbox = Outbox.open(config.state_dir, max_messages=config.mqtt.outbox_max_messages)
    except OutboxError as exc:
        # Not fixed by a restart either: exit 78, like a bad file (docs/delivery.md).
        print(f"hullwatch: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    try:
        return asyncio.run(_serve(config_path, config, outbox))
    finally:
        outbox.close()


async def _serve(config_path: Path, config: Config, outbox: Outbox) -> int:
    """Run until SIGTERM/SIGINT. The service owns `outbox` (durable, under `state_dir`), so
    that what waits in it and the alert seq outlive a publisher replaced by a reload."""
    notifier = Notifier.from_environment()
    requests: asyncio.Queue[_Request] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, requests.put_nowait, _Request.STOP)
    loop.add_signal_handler(signal.SIGHUP, requests.put_nowait, _Request.RELOAD)
    try:
        async with asyncio.TaskGroup() as group:
            service = _Service(config_path, config, notifier=notifier, outbox=outbox, group=group)
            while await requests.get() is _Request.RELOAD:
                await service.reload()
            await service.stop()
    finally:
        notifier.close()
    log.info("hullwatch stopped")
    return ExitCode.OK

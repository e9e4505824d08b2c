"""`hullwatch run` as a process: start, SIGHUP reloads, SIGTERM or SIGINT stops.

A reload re-reads and validates the file. An invalid one is refused with a
log line naming its problems and the running configuration stays. A valid one
replaces the running `Daemon` (pollers, detectors, telemetry) with a new one;
each zone's level carries over, so the retained alert on the broker stays true,
and the alert `seq` continues (it comes from the outbox, which the service owns).
The MQTT session stays up unless the connection settings changed (then the old
session flushes, says `offline` and closes before the new one connects).

Around a reload systemd hears `RELOADING=1` … `READY=1`, and `STOPPING=1` on
SIGTERM/SIGINT (`supervisor` sends READY, STATUS and the watchdog pings).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import structlog

from ..delivery.outbox import Outbox, OutboxError
from ..delivery.published_levels import published_levels
from ..delivery.publisher import Publisher
from ..detection.levels import Level
from ..exit_codes import ExitCode
from ..settings.config import Config, ConfigError, load_config
from ..settings.secret_hygiene import log_secret_warnings
from .logging_setup import configure_logging
from .noise_store import NOISE_FILE, NoiseStore
from .sd_notify import Notifier
from .service import Carry, Daemon

log = structlog.get_logger("hullwatch.daemon")

SHUTDOWN_FLUSH_TIMEOUT_S = 5.0
# MQTT settings that only the Daemon reads: changing them keeps the session.
_DAEMON_ONLY_MQTT_KEYS = frozenset({"telemetry_interval_s", "alert_update_interval_s"})


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
            running.supervisor.status_note = "last reload rejected (see the log)"
            self._ready_again(running)
            return
        log_secret_warnings(new.mqtt)
        if new == self._config:
            log.info("configuration unchanged")
            running.supervisor.status_note = None
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
        if daemon.supervisor.ready_announced:
            self._notifier.ready(daemon.supervisor.status_line())

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

"""`hullwatch run`: sensors → detectors → MQTT, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import structlog

from .alert_document import alert_document, health_document, telemetry_document
from .config import Config, ConfigError, load_config
from .detector import Assessment, ZoneDetector, ZoneParameters
from .exit_codes import ExitCode
from .levels import Level, LevelPolicy
from .logging_setup import configure_logging
from .poller import Health, Sample, SensorPoller
from .publisher import Publisher
from .sample_guard import SampleGuard
from .sensors import SensorFactory

log = structlog.get_logger("hullwatch.daemon")

SHUTDOWN_FLUSH_TIMEOUT_S = 5.0


def zone_parameters(config: Config) -> list[ZoneParameters]:
    return [
        ZoneParameters(
            zone_id=zone.id,
            volume_m3=zone.volume_m3,
            floor_pa=zone.floor_pa,
            window_s=zone.window_s,
            min_window_fill=zone.min_window_fill,
            discharge_coefficient=zone.discharge_coefficient,
            ambient_pressure_pa=zone.ambient_pressure_pa,
            reference_temperature_k=zone.reference_temperature_k,
            policy=LevelPolicy(
                warning_pa_per_s=zone.warning_pa_per_s,
                critical_pa_per_s=zone.critical_pa_per_s,
                significance_sigma=zone.significance_sigma,
                release_fraction=zone.release_fraction,
            ),
        )
        for zone in config.zones
    ]


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.detectors = {p.zone_id: ZoneDetector(p) for p in zone_parameters(config)}
        self.publisher = Publisher(
            config.mqtt, station=config.station, zone_ids=list(self.detectors)
        )
        self._zone_of = {sensor.id: sensor.zone for sensor in config.sensors}
        self._latest: dict[str, Assessment] = {}
        self._last_alert_s: dict[str, float] = {}
        self._seq = 0
        self._factory = SensorFactory()
        self.pollers = [
            SensorPoller(
                sensor_id=sensor.id,
                sensor=self._factory.build(sensor),
                rate_hz=sensor.rate_hz,
                on_sample=self._on_sample,
                on_fault=self._on_sensor_fault,
                guard=SampleGuard(
                    spike_threshold_pa=sensor.spike_threshold_pa,
                    stuck_samples=sensor.stuck_samples,
                ),
                on_health=self._on_health,
            )
            for sensor in config.sensors
        ]

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "hullwatch starting",
            station=self.config.station,
            zones=list(self.detectors),
            sensors=[poller.sensor_id for poller in self.pollers],
        )
        async with asyncio.TaskGroup() as group:
            publishing = group.create_task(self.publisher.run())
            workers = [group.create_task(poller.run()) for poller in self.pollers]
            workers.append(group.create_task(self._telemetry_loop()))
            await stop.wait()
            log.info("stopping: sampling halted, flushing to the broker")
            for worker in workers:
                worker.cancel()
            await self.publisher.close(SHUTDOWN_FLUSH_TIMEOUT_S)
            publishing.cancel()
        await self._factory.close()
        log.info("hullwatch stopped")

    def _on_sample(self, sample: Sample) -> None:
        zone_id = self._zone_of[sample.sensor_id]
        detector = self.detectors[zone_id]
        detector.add_sample(
            sample.sensor_id,
            sample.t_s,
            sample.reading.pressure_pa,
            sample.reading.temperature_c,
        )
        assessment = detector.assess()
        if assessment is None:
            return
        self._latest[zone_id] = assessment
        if assessment.level_changed:
            self._alert(assessment, "level_change", sample.t_s)
        elif assessment.level is not Level.OK and (
            sample.t_s - self._last_alert_s.get(zone_id, sample.t_s)
            >= self.config.mqtt.alert_update_interval_s
        ):
            self._alert(assessment, "update", sample.t_s)

    def _on_sensor_fault(self, sensor_id: str) -> None:
        # Samples before and after a fault are not one series (the chip was reset).
        zone_id = self._zone_of[sensor_id]
        detector = self.detectors[zone_id]
        detector.forget_sensor(sensor_id)
        # Telemetry must not keep repeating an estimate nobody is feeding.
        assessment = detector.assess()
        if assessment is None:
            self._latest.pop(zone_id, None)
        else:
            self._latest[zone_id] = assessment

    def _on_health(self, poller: SensorPoller) -> None:
        if poller.health is not Health.OK:
            # A stuck or failing sensor's window must not keep voting in its zone.
            self._on_sensor_fault(poller.sensor_id)
        self.publisher.publish_health(
            poller.sensor_id,
            health_document(
                poller,
                station=self.config.station,
                zone_id=self._zone_of[poller.sensor_id],
            ),
        )

    def _alert(self, assessment: Assessment, kind: str, t_s: float) -> None:
        self._seq += 1
        self._last_alert_s[assessment.zone_id] = t_s
        document = alert_document(assessment, station=self.config.station, seq=self._seq, kind=kind)
        log_method = {
            Level.OK: log.info,
            Level.WARNING: log.warning,
            Level.CRITICAL: log.critical,
        }[assessment.level]
        fields = dict(document)
        # structlog's own `level` key is the log level; keep the alert's apart.
        fields["alert_level"] = fields.pop("level")
        log_method("alert", **fields)
        self.publisher.publish_alert(assessment.zone_id, document)

    async def _telemetry_loop(self) -> None:
        interval_s = self.config.mqtt.telemetry_interval_s
        start_s = time.monotonic()
        tick = 0
        while True:
            tick += 1
            await asyncio.sleep(max(0.0, start_s + tick * interval_s - time.monotonic()))
            for zone_id, assessment in self._latest.items():
                self.publisher.publish_telemetry(
                    zone_id, telemetry_document(assessment, station=self.config.station)
                )


def run_service(config_path: Path) -> int:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{problem.source}: {problem.key_path}: {problem.message}", file=sys.stderr)
        print("hullwatch: refusing to start with an invalid configuration", file=sys.stderr)
        return ExitCode.CONFIG
    configure_logging(config.logging.level, config.logging.format)
    return asyncio.run(_serve(config))


async def _serve(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await Daemon(config).run(stop)
    return ExitCode.OK

"""The daemon while it samples: sensors → guard → detectors → alert policy → delivery.

`Daemon` composes one run of a configuration: a poller per sensor with its
guard, the zones' alert policy (`alert_policy`), telemetry (`telemetry`), the
learned noise across restarts (`noise_keeper`), the optional recording of
accepted samples, and what systemd is told (`supervisor`). It hands alerts and
health changes to the delivery queue it is given; the MQTT session, the outbox
and reloads belong to the process around it (`process`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from hullwatch.drivers.transports import I2CBusOpener, open_i2c_bus

from ..delivery.alert_document import alert_document, health_document
from ..delivery.publisher import Publisher
from ..detection.detector import Assessment
from ..detection.levels import Level
from ..settings.config import Config
from .alert_policy import AlertPolicy
from .alert_policy import zone_parameters as zone_parameters  # where tools import it from
from .noise_keeper import NoiseKeeper
from .noise_store import NoiseStore
from .poller import Health, Sample, SensorPoller
from .recording import Recorder
from .sample_guard import guards_for
from .sd_notify import Notifier
from .sensors import SensorFactory
from .supervisor import Supervisor
from .telemetry import publish_telemetry

log = structlog.get_logger("hullwatch.daemon")

BUS_CLOSE_TIMEOUT_S = 2.0


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
        # The event loop's clock, as the pollers': monotonic time on a Pi, simulated
        # time in an accelerated hardware-in-the-loop run.
        self._clock = clock if clock is not None else _loop_time
        carry = carry if carry is not None else Carry()
        # The samples-to-alerts path `hullwatch replay` runs too.
        self.zones = AlertPolicy(
            config,
            self._alert,
            levels=carry.levels,
            last_alert_s=carry.last_alert_s,
            restarted_levels=carry.restarted_levels,
        )
        self.detectors = self.zones.detectors
        self._zone_of = self.zones.zone_of
        self.recorder = Recorder.for_config(config) if config.recording.enabled else None
        self._guards = guards_for(config.sensors)
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
        self.last_processed_t_s: float | None = None  # monotonic, newest sample a detector took
        self.supervisor = Supervisor(
            self.pollers,
            self,
            notifier if notifier is not None else Notifier(None),
            self._clock,
        )
        self.noise: NoiseKeeper | None = None
        if noise_store is not None:
            self.noise = NoiseKeeper(noise_store, self.detectors, self._zone_of)
            self.noise.restore()

    def carry(self) -> Carry:
        return Carry(
            levels=self.zones.levels(),
            last_alert_s=dict(self.zones.last_alert_s),
            restarted_levels=self.zones.restarted_levels(),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Sample, detect, publish through `publisher` (run by the caller) until `stop`."""
        self.supervisor.start()
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
            workers.append(
                group.create_task(
                    publish_telemetry(
                        self.publisher,
                        station=self.config.station,
                        interval_s=self.config.mqtt.telemetry_interval_s,
                        latest=self.zones.latest,
                        detectors=self.detectors,
                        clock=self._clock,
                    )
                )
            )
            workers += [group.create_task(work) for work in self.supervisor.coroutines()]
            if self.noise is not None:
                workers.append(group.create_task(self.noise.save_periodically()))
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
        if self.noise is not None:
            # A clean stop or a reload: the next Daemon starts from what was learned.
            await self.noise.save()

    # --- what the supervisor reads (`supervisor.StationView`) ----------------------

    def published_levels(self) -> Mapping[str, Level]:
        return self.zones.published_levels()

    def has_estimate(self, zone_id: str) -> bool:
        return zone_id in self.zones.latest

    @property
    def broker_state(self) -> str:
        return self.publisher.state

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
        else:
            self.supervisor.health_changed()
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
        fields = document.wire_dict()
        # structlog's own `level` key is the log level; keep the alert's apart.
        fields["alert_level"] = fields.pop("level")
        self.publisher.when_stored(lambda: log_method("alert", **fields))

"""`hullwatch replay`: recordings through the daemon's own guard, detector and alert schedule.

The samples go through `AlertPolicy`, the code the daemon runs, on recording
time and as fast as the CPU allows: no event loop, no validation per sample.
What the daemon would publish is collected as documents (`topic`, `payload`),
identical to the MQTT payloads except that each `time` is recording time: the
recording's wall time where it has one, else 1970-01-01T00:00:00Z plus `t_s`.
Telemetry goes out every `mqtt.telemetry_interval_s` of recording time from
the first sample, as the daemon's timer does from its start.

Differences from the daemon, by design (docs/recording.md): alert `seq` starts
at 1 (the daemon's comes from its outbox); no health documents; a hullwatch
recording is already past the guard, so its samples go straight to the
detector (with the daemon's `reset` marks), while plain CSV goes through a
`SampleGuard` as the poller's readings do, and a stuck sensor is forgotten as
the daemon forgets it (the poller's re-initialisation is not imitated).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from hullwatch.drivers.sensor import Reading

from .delivery.alert_document import alert_document, telemetry_document
from .delivery.topics import Topics
from .delivery.wire import Alert, Telemetry
from .detection.detector import Assessment
from .detection.physics import KELVIN_AT_0_C
from .replay_input import InputSample
from .service.alert_policy import AlertPolicy
from .service.sample_guard import guards_for
from .settings.config import Config
from .watch import format_alert

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Points kept per zone for the plot (halved by taking every other one when full).
TRACE_POINTS: Final = 20_000
# Points per zone in the report's series.
REPORT_POINTS: Final = 1_000

Document = tuple[str, Alert | Telemetry]  # (topic, payload)


class DecimatedSeries:
    """Rows at a stride that doubles whenever `2 * limit` rows are held: bounded memory
    for a recording of any length, evenly spaced in sample count."""

    def __init__(self, limit: int = TRACE_POINTS) -> None:
        self._limit = limit
        self.stride = 1
        self._count = 0
        self.rows: list[tuple[float, ...]] = []

    def add(self, row: tuple[float, ...]) -> None:
        if self._count % self.stride == 0:
            self.rows.append(row)
            if len(self.rows) >= 2 * self._limit:
                self.rows = self.rows[::2]
                self.stride *= 2
        self._count += 1


@dataclass
class AlertRecord:
    t_s: float
    time: str
    level: str
    previous_level: str
    reason: str
    dpdt_pa_per_s: float
    dpdt_stderr_pa_per_s: float


@dataclass
class ZoneTrace:
    """What a zone went through: for the report and the plot."""

    zone_id: str
    warning_pa_per_s: float
    critical_pa_per_s: float
    samples: int = 0
    first_t_s: float | None = None
    last_t_s: float = 0.0
    max_abs_z: float = 0.0
    max_abs_z_t_s: float | None = None
    alerts: list[AlertRecord] = field(default_factory=list)
    min_window_fill: float = 0.5
    # (t_s, pressure_pa, compensated_pa, dpdt, stderr, level rank, window fill);
    # NaN: no estimate yet
    series: DecimatedSeries = field(default_factory=DecimatedSeries)

    def add(
        self,
        t_s: float,
        pressure_pa: float,
        compensated_pa: float,
        assessment: Assessment | None,
    ) -> None:
        self.samples += 1
        if self.first_t_s is None:
            self.first_t_s = t_s
        self.last_t_s = t_s
        if assessment is None:
            self.series.add((t_s, pressure_pa, compensated_pa, math.nan, math.nan, 0.0, 0.0))
            return
        dpdt = assessment.dpdt_pa_per_s
        stderr = assessment.dpdt_stderr_pa_per_s
        if stderr > 0:
            z = abs(dpdt) / stderr
            if z > self.max_abs_z:
                self.max_abs_z, self.max_abs_z_t_s = z, t_s
        rank = float(assessment.level.rank)
        fill = assessment.window_fill
        self.series.add((t_s, pressure_pa, compensated_pa, dpdt, stderr, rank, fill))


class ReplayRun:
    """One replay: feed it samples in time order, then read its documents and traces."""

    def __init__(
        self,
        config: Config,
        *,
        telemetry: bool,
        notice: Callable[[str], None] | None = None,
        raw_pressure: bool = False,
    ) -> None:
        """`raw_pressure`: ignore the recording's temperatures (an open sensor, to which
        no gas law applies), as if it had none."""
        self.config = config
        self.topics = Topics(config.mqtt.topic_prefix, config.station)
        self.router = AlertPolicy(config, self._on_alert)
        self.documents: list[Document] = []
        self.traces = {
            zone.id: ZoneTrace(
                zone.id,
                zone.warning_pa_per_s,
                zone.critical_pa_per_s,
                min_window_fill=zone.min_window_fill,
            )
            for zone in config.zones
        }
        self.samples_read = 0
        self._telemetry = telemetry
        self._interval_s = config.mqtt.telemetry_interval_s
        self._next_tick_s: float | None = None
        self._anchor: tuple[float, float] | None = None  # (t_s, Unix time) of the newest
        self._notice = notice
        self._raw_pressure = raw_pressure
        self._told_no_temperature = False
        self._seq = 0
        self._stuck: set[str] = set()
        self._guards = guards_for(config.sensors)
        # Per sensor: T_ref in °C (stands in for a missing temperature: q = P) and in K.
        zones = {zone.id: zone for zone in config.zones}
        self._reference_k = {
            sensor.id: zones[sensor.zone].reference_temperature_k for sensor in config.sensors
        }

    def run(self, samples: Iterable[InputSample]) -> None:
        for sample in samples:
            self.feed(sample)

    def feed(self, sample: InputSample) -> None:
        self.samples_read += 1
        t_s = sample.t_s
        next_tick_s = self._next_tick_s
        if next_tick_s is None:
            next_tick_s = t_s + self._interval_s
        while t_s >= next_tick_s:
            if self._telemetry:
                self._publish_telemetry(next_tick_s)
            next_tick_s += self._interval_s
        self._next_tick_s = next_tick_s
        if sample.wall_time_s is not None:
            self._anchor = (t_s, sample.wall_time_s)
        sensor_id = sample.sensor_id
        temperature_c = sample.temperature_c
        if temperature_c is None or self._raw_pressure:
            temperature_c = self._reference_k[sensor_id] - KELVIN_AT_0_C
            if not self._told_no_temperature and self._notice is not None:
                self._told_no_temperature = True
                why = (
                    "--raw-pressure"
                    if self._raw_pressure
                    else "no temperature in the recording (no column, or empty cells)"
                )
                self._notice(
                    f"replay: {why}: raw pressure without the gas law, at the zone's "
                    f"constant reference temperature ({temperature_c:.2f} °C), so P·T_ref/T = P"
                )
        if sample.guarded:
            if sample.reset:
                self.router.forget_sensor(sensor_id)
            self._detect(sensor_id, t_s, sample.pressure_pa, temperature_c)
            return
        result = self._guards[sensor_id].submit(t_s, Reading(sample.pressure_pa, temperature_c))
        if result.stuck:
            if sensor_id not in self._stuck:
                self._stuck.add(sensor_id)  # the daemon: health degraded, series forgotten
                self.router.forget_sensor(sensor_id)
            return
        released = result.released
        if released is not None:
            self._stuck.discard(sensor_id)
            reading = released.reading
            self._detect(sensor_id, released.t_s, reading.pressure_pa, reading.temperature_c)

    def _detect(self, sensor_id: str, t_s: float, pressure_pa: float, temperature_c: float) -> None:
        assessment = self.router.add_sample(sensor_id, t_s, pressure_pa, temperature_c)
        compensated_pa = (
            pressure_pa * self._reference_k[sensor_id] / (temperature_c + KELVIN_AT_0_C)
        )
        trace = self.traces[self.router.zone_of[sensor_id]]
        trace.add(t_s, pressure_pa, compensated_pa, assessment)

    def moment(self, t_s: float) -> datetime:
        """Recording time: the recording's wall clock where it has one, else the epoch + t_s."""
        if self._anchor is None:
            return EPOCH + timedelta(seconds=t_s)
        anchor_t_s, anchor_wall_s = self._anchor
        return datetime.fromtimestamp(anchor_wall_s + (t_s - anchor_t_s), UTC)

    def _on_alert(self, assessment: Assessment, kind: str, t_s: float) -> None:
        self._seq += 1
        document = alert_document(
            assessment, station=self.config.station, seq=self._seq, kind=kind, now=self.moment(t_s)
        )
        self.documents.append((self.topics.alert(assessment.zone_id), document))
        if kind == "level_change":
            self.traces[assessment.zone_id].alerts.append(
                AlertRecord(
                    t_s=t_s,
                    time=document.time,
                    level=assessment.level.value,
                    previous_level=assessment.previous_level.value,
                    reason=assessment.reason,
                    dpdt_pa_per_s=assessment.dpdt_pa_per_s,
                    dpdt_stderr_pa_per_s=assessment.dpdt_stderr_pa_per_s,
                )
            )

    def _publish_telemetry(self, tick_s: float) -> None:
        now = self.moment(tick_s)
        for zone_id, assessment in self.router.latest.items():
            document = telemetry_document(
                assessment,
                station=self.config.station,
                lags=self.router.lag_estimates(zone_id),
                now=now,
            )
            self.documents.append((self.topics.telemetry(zone_id), document))

    # --- output ------------------------------------------------------------------

    def alert_lines(self) -> list[str]:
        """What `hullwatch watch` would print."""
        return [format_alert(doc) for _, doc in self.documents if isinstance(doc, Alert)]

    def json_lines(self) -> list[str]:
        return [json.dumps({"topic": t, "payload": doc.wire_dict()}) for t, doc in self.documents]

    def report(self, recordings: list[Path], config_path: Path) -> dict[str, Any]:
        zones: dict[str, Any] = {}
        for zone_id, trace in self.traces.items():
            rows = trace.series.rows
            step = max(1, math.ceil(len(rows) / REPORT_POINTS))
            shown = rows[::step]
            detector = self.router.detectors[zone_id]
            zones[zone_id] = {
                "samples": trace.samples,
                "first_t_s": trace.first_t_s,
                "last_t_s": trace.last_t_s if trace.samples else None,
                "duration_s": trace.last_t_s - trace.first_t_s
                if trace.first_t_s is not None
                else 0.0,
                "final_level": detector.level.value,
                "warning_pa_per_s": trace.warning_pa_per_s,
                "critical_pa_per_s": trace.critical_pa_per_s,
                "windows_s": list(detector.windows_s),
                "thresholds_sigma": list(detector.thresholds_sigma),
                "max_abs_z": round(trace.max_abs_z, 3),
                "max_abs_z_t_s": trace.max_abs_z_t_s,
                "alerts": [vars(alert) for alert in trace.alerts],
                "series": {
                    "t_s": [row[0] for row in shown],
                    "dpdt_pa_per_s": [_finite(row[3]) for row in shown],
                    "dpdt_stderr_pa_per_s": [_finite(row[4]) for row in shown],
                    "level": [_level_name(row[5]) for row in shown],
                },
            }
        return {
            "config": str(config_path),
            "station": self.config.station,
            "recordings": [str(path) for path in recordings],
            "samples_read": self.samples_read,
            "documents": len(self.documents),
            "zones": zones,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _level_name(rank: float) -> str:
    return ("ok", "warning", "critical")[int(rank)]

"""Accepted samples into each zone's detector, and which assessments become alerts.

One code path for the daemon (`service.Daemon`) and `hullwatch replay`: both
hand every sample the guard accepted to `ZoneRouter.add_sample` and publish (or
print) the alerts it reports through `on_alert`. Nothing here reads a clock:
the time of a sample is the only time, so a replay on recording time decides
exactly what the daemon decided on monotonic time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .config import Config
from .detector import Assessment, ZoneDetector, ZoneParameters
from .lag_estimate import LagEstimate
from .levels import Level, LevelPolicy

# (assessment, kind, t_s): kind is `level_change` or `update`, as in the alert document.
AlertSink = Callable[[Assessment, str, float], None]


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
            min_window_s=zone.min_window_s,
            false_alarm_interval_days=zone.false_alarm_interval_days,
            temperature_lag_s=zone.temperature_lag_s,
            temperature_window_s=zone.temperature_window_s,
            sensor_lags_s=tuple(
                (sensor.id, sensor.temperature_lag_s)
                for sensor in config.sensors
                if sensor.zone == zone.id and sensor.temperature_lag_s is not None
            ),
            policy=LevelPolicy(
                warning_pa_per_s=zone.warning_pa_per_s,
                critical_pa_per_s=zone.critical_pa_per_s,
                significance_sigma=zone.significance_sigma,
                release_fraction=zone.release_fraction,
            ),
        )
        for zone in config.zones
    ]


class ZoneRouter:
    """The zones' detectors, their newest assessments and the alert schedule.

    An alert goes out when a zone's level changes (`level_change`) and, while it
    is not `ok`, every `mqtt.alert_update_interval_s` of sample time after the
    previous one (`update`).
    """

    def __init__(
        self,
        config: Config,
        on_alert: AlertSink,
        *,
        levels: Mapping[str, Level] | None = None,
        last_alert_s: Mapping[str, float] | None = None,
    ) -> None:
        self.detectors = {p.zone_id: ZoneDetector(p) for p in zone_parameters(config)}
        for zone_id, detector in self.detectors.items():
            detector.level = (levels or {}).get(zone_id, Level.OK)
        self.zone_of = {sensor.id: sensor.zone for sensor in config.sensors}
        self.latest: dict[str, Assessment] = {}
        self.last_alert_s = {
            zone_id: t_s
            for zone_id, t_s in (last_alert_s or {}).items()
            if zone_id in self.detectors
        }
        self._update_interval_s = config.mqtt.alert_update_interval_s
        self._on_alert = on_alert

    def add_sample(
        self, sensor_id: str, t_s: float, pressure_pa: float, temperature_c: float
    ) -> Assessment | None:
        """One accepted sample: into its zone's detector; the zone's assessment after it."""
        zone_id = self.zone_of[sensor_id]
        detector = self.detectors[zone_id]
        detector.add_sample(sensor_id, t_s, pressure_pa, temperature_c)
        assessment = detector.assess()
        if assessment is None:
            return None
        self.latest[zone_id] = assessment
        if assessment.level_changed:
            self._alert(assessment, "level_change", t_s)
        elif assessment.level is not Level.OK and (
            t_s - self.last_alert_s.get(zone_id, t_s) >= self._update_interval_s
        ):
            self._alert(assessment, "update", t_s)
        return assessment

    def forget_sensor(self, sensor_id: str) -> None:
        """A sensor's samples before a fault are not one series with those after it."""
        zone_id = self.zone_of[sensor_id]
        detector = self.detectors[zone_id]
        detector.forget_sensor(sensor_id)
        # Telemetry must not keep repeating an estimate nobody is feeding.
        assessment = detector.assess()
        if assessment is None:
            self.latest.pop(zone_id, None)
        else:
            self.latest[zone_id] = assessment

    def levels(self) -> dict[str, Level]:
        return {zone_id: detector.level for zone_id, detector in self.detectors.items()}

    def lag_estimates(self, zone_id: str) -> dict[str, tuple[float, LagEstimate | None]]:
        return self.detectors[zone_id].lag_estimates()

    def _alert(self, assessment: Assessment, kind: str, t_s: float) -> None:
        self.last_alert_s[assessment.zone_id] = t_s
        self._on_alert(assessment, kind, t_s)

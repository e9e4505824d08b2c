"""The alert policy: samples into the zones' detectors, which assessments become alerts.

One code path for the daemon (`service.Daemon`) and `hullwatch replay`: both
hand every sample the guard accepted to `AlertPolicy.add_sample` and publish (or
print) the alerts it reports through `on_alert`. Nothing here reads a clock:
the time of a sample is the only time, so a replay on recording time decides
exactly what the daemon decided on monotonic time.

After a restart (`restarted_levels`: what each zone last published, from the
outbox) a zone's detector starts afresh, at `ok` with empty windows: it has not
seen what raised the stored level, so it can neither confirm nor release it at
once. Until it can, the zone publishes nothing new and reports the stored level
(telemetry, status). Then, exactly once:

- as soon as the detector's own judgement reaches the stored level or a higher
  one: an `update` at that level ("confirmed after a restart") or a
  `level_change` up from it;
- else, once its longest window has been judged (`min_window_fill` of it since
  the zone's first sample): if the reported fall is still at least the stored
  level's release rate, the detector takes the stored level over (its
  hysteresis decides from then on, as after a reload) and an `update` says
  "held after a restart"; otherwise a `level_change` down from the stored level,
  "released after a restart", on evidence the fall is below its release rate.

Either way `previous_level` is the level subscribers last received, so the
retained alert never claims a transition they did not see.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from ..detection.detector import Assessment, ZoneDetector, ZoneParameters
from ..detection.lag_estimate import LagEstimate
from ..detection.levels import Level, LevelPolicy
from ..settings.config import Config

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
            temperature_lag_uncertainty=zone.temperature_lag_uncertainty,
            max_thermal_rate_k_per_s=zone.max_thermal_rate_k_per_s,
            noise=zone.noise,
            decision_interval_s=zone.decision_interval_s,
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


class AlertPolicy:
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
        restarted_levels: Mapping[str, Level] | None = None,
    ) -> None:
        """`levels`: each detector's level handed over by a reload (its hysteresis goes
        on); `restarted_levels`: what zones published before a restart, to be
        confirmed or released by their fresh detectors (the module's docstring)."""
        self.detectors = {p.zone_id: ZoneDetector(p) for p in zone_parameters(config)}
        for zone_id, detector in self.detectors.items():
            detector.level = (levels or {}).get(zone_id, Level.OK)
        # Zones awaiting their detector's judgement after a restart: (level, first t_s).
        self._restarted: dict[str, tuple[Level, float | None]] = {
            zone_id: (level, None)
            for zone_id, level in (restarted_levels or {}).items()
            if zone_id in self.detectors and level is not Level.OK
        }
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
        """One accepted sample: into its zone's detector; the zone's assessment after it
        when the zone was judged (None between decisions: `decision_interval_s`)."""
        zone_id = self.zone_of[sensor_id]
        detector = self.detectors[zone_id]
        detector.add_sample(sensor_id, t_s, pressure_pa, temperature_c)
        restarted = self._restarted.get(zone_id)
        if restarted is not None and restarted[1] is None:
            self._restarted[zone_id] = restarted = (restarted[0], t_s)
        if not detector.decision_due(sensor_id):
            return None
        assessment = detector.assess()
        if assessment is None:
            return None
        if restarted is not None:
            assessment = self._after_restart(zone_id, restarted, assessment, t_s)
            self.latest[zone_id] = assessment
            return assessment
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
            restarted = self._restarted.get(zone_id)
            if restarted is not None:  # the windows start again: so does the wait
                self._restarted[zone_id] = (restarted[0], None)
        else:
            self.latest[zone_id] = assessment

    def levels(self) -> dict[str, Level]:
        """Each zone's detector level, for a reload to hand over; zones still awaiting
        their first judgement after a restart are in `restarted_levels` instead."""
        return {
            zone_id: detector.level
            for zone_id, detector in self.detectors.items()
            if zone_id not in self._restarted
        }

    def restarted_levels(self) -> dict[str, Level]:
        """Zones still awaiting their detector's judgement after a restart: the level
        they published before it."""
        return {zone_id: level for zone_id, (level, _) in self._restarted.items()}

    def published_levels(self) -> dict[str, Level]:
        """The level each zone stands at for its subscribers."""
        levels = {zone_id: detector.level for zone_id, detector in self.detectors.items()}
        levels.update(self.restarted_levels())
        return levels

    def lag_estimates(self, zone_id: str) -> dict[str, tuple[float, LagEstimate | None]]:
        return self.detectors[zone_id].lag_estimates()

    def _after_restart(
        self,
        zone_id: str,
        restarted: tuple[Level, float | None],
        assessment: Assessment,
        t_s: float,
    ) -> Assessment:
        """A zone awaiting its detector's judgement after a restart: the assessment to
        report, and the one alert that ends the wait (the module's docstring)."""
        stored, first_t_s = restarted
        detector = self.detectors[zone_id]
        p = detector.parameters
        judged = assessment.window_fill >= p.min_window_fill
        own = assessment.level
        if judged and own.rank >= stored.rank:
            del self._restarted[zone_id]
            if own is stored:
                reason = f"confirmed after a restart: {assessment.reason}"
                kind = "update"
            else:
                reason = assessment.reason
                kind = "level_change"
            chained = dataclasses.replace(assessment, previous_level=stored, reason=reason)
            self._alert(chained, kind, t_s)
            return chained
        since_s = t_s - (t_s if first_t_s is None else first_t_s)
        if not judged or since_s < p.min_window_fill * detector.windows_s[-1]:
            # Nothing new to say yet; telemetry and status keep the published level.
            return dataclasses.replace(assessment, level=stored, previous_level=stored)
        del self._restarted[zone_id]
        fall_pa_per_s = -assessment.dpdt_pa_per_s
        release_pa_per_s = p.policy.release_fraction * p.policy.threshold_of(stored)
        if fall_pa_per_s >= release_pa_per_s:
            detector.level = stored  # its hysteresis holds or releases it from now on
            reason = (
                f"held after a restart: {assessment.reason}: not below the {stored}"
                f" release rate {release_pa_per_s:g} Pa/s"
            )
            held = dataclasses.replace(
                assessment, level=stored, previous_level=stored, reason=reason
            )
            self._alert(held, "update", t_s)
            return held
        reason = (
            f"released after a restart: {assessment.reason}: below the {stored}"
            f" release rate {release_pa_per_s:g} Pa/s"
        )
        released = dataclasses.replace(assessment, previous_level=stored, reason=reason)
        self._alert(released, "level_change", t_s)
        return released

    def _alert(self, assessment: Assessment, kind: str, t_s: float) -> None:
        self.last_alert_s[assessment.zone_id] = t_s
        self._on_alert(assessment, kind, t_s)

"""A zone's detector settings: its geometry, its windows and what each window must reach."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .false_alarm import window_thresholds
from .levels import LevelPolicy
from .noise_model import NoiseModel
from .noise_prior import DEFAULT_NOISE_PRIOR
from .window_bank import geometric_windows

# Successive windows of a bank differ by this factor: fine enough that a leak
# meets a window close to its best length, few enough (15 from 4 s to 600 s)
# that the budget split costs little significance.
WINDOW_RATIO = math.sqrt(2.0)


@dataclass(frozen=True, slots=True)
class ZoneParameters:
    zone_id: str
    volume_m3: float
    floor_pa: float
    window_s: float  # the longest window
    min_window_fill: float
    discharge_coefficient: float
    ambient_pressure_pa: float
    reference_temperature_k: float
    policy: LevelPolicy
    # Shortest window of the bank; None: one window of `window_s`.
    min_window_s: float | None = None
    # Mean time between false alarms; None: every window uses policy.significance_sigma.
    false_alarm_interval_days: float | None = None
    # The sensors' temperature lags the gas by this time constant (0: it does not),
    # unless `sensor_lags_s` names the sensor.
    temperature_lag_s: float = 0.0
    temperature_window_s: float = 600.0
    # The configured lag's relative uncertainty until the online estimate is
    # precise (sensor_lines): a lag taken from a datasheet or a guess is rarely
    # better than ±30 %.
    temperature_lag_uncertainty: float = 0.3
    # The fastest the gas's temperature can change by heating or cooling (a
    # heater, a lamp, a door): a fall faster than (P/T) times this cannot be
    # thermal and is raised at once; a slower one must first persist
    # (detector.CONFIRM_*), since a lagging sensor's temperature shows such an
    # event only after a while. 0.05 K/s: a 1 K wall step followed by the gas
    # with a 20 s time constant.
    max_thermal_rate_k_per_s: float = 0.05
    sensor_lags_s: tuple[tuple[str, float], ...] = ()  # (sensor id, lag): overrides
    # "learned": each window's standard error holds the flicker and random walk
    # each sensor shows (noise_estimate); "white": the residuals' alone.
    noise: str = "learned"
    noise_prior: NoiseModel = DEFAULT_NOISE_PRIOR
    sensor_noise_priors: tuple[tuple[str, NoiseModel], ...] = ()  # (sensor id, prior)
    # The zone is judged once per this much sample time, and at once when a
    # sample may raise its level (detector.ZoneDetector.decision_due); 0: after
    # every sample.
    decision_interval_s: float = 0.0

    @property
    def windows_s(self) -> tuple[float, ...]:
        if self.min_window_s is None or self.min_window_s >= self.window_s:
            return (self.window_s,)
        return geometric_windows(self.min_window_s, self.window_s, WINDOW_RATIO)

    @property
    def pooled_noise(self) -> bool:
        """Whether the shorter windows are also judged with the longest window's noise.

        Only under a false-alarm budget (which pays for the extra tests) and with
        more than one window (the longest has nothing longer to borrow from).
        """
        return self.false_alarm_interval_days is not None and len(self.windows_s) > 1

    def lag_of(self, sensor_id: str) -> float:
        """The thermal lag of one sensor's temperature behind the gas (s)."""
        for name, lag_s in self.sensor_lags_s:
            if name == sensor_id:
                return lag_s
        return self.temperature_lag_s

    def noise_prior_of(self, sensor_id: str) -> NoiseModel:
        """What the detector assumes of a sensor's noise before measuring it."""
        for name, prior in self.sensor_noise_priors:
            if name == sensor_id:
                return prior
        return self.noise_prior

    def thresholds_sigma(self) -> tuple[float, ...]:
        """Per window, the Gaussian z a fall must reach (before Student's correction).

        Under a budget it is shared by every test the bank makes: one per window
        with the window's own noise, and one per shorter window with the pooled
        noise (`pooled_noise`).
        """
        windows = self.windows_s
        if self.false_alarm_interval_days is None:
            return (self.policy.significance_sigma,) * len(windows)
        extra_tests = len(windows) - 1 if self.pooled_noise else 0
        return window_thresholds(windows, self.false_alarm_interval_days, extra_tests=extra_tests)

"""Per-zone leak detector: temperature-compensated dP/dt, its uncertainty, and a level.

Pure: samples arrive with their (monotonic) time; nothing here reads a clock
or does I/O, so the same code runs on a Pi and in accelerated simulation.

A sealed chamber whose gas warms by 0.1 K gains ~35 Pa at 1 atm, which at a
92-minute cycle looks like ±0.1 Pa/s: far more than a small leak. So the fit
is not on P but on the gas-law quantity P·T_ref/T, which for a sealed volume
is constant whatever the temperature does (P/T ∝ the mass of gas). Its slope,
scaled back by T/T_ref, is the pressure change a constant temperature would
show: the leak.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from .assessment import Assessment, Judgement, assessment_from_rate
from .false_alarm import student_threshold
from .lag_estimate import LagEstimate
from .levels import Level, level_of_rank
from .noise_estimate import NoiseEstimate
from .physics import KELVIN_AT_0_C
from .sensor_lines import SensorLines
from .thermal_lag import ThermalLag
from .zone_parameters import ZoneParameters

__all__ = ["AGREEMENT_SIGMA", "Assessment", "ZoneDetector", "ZoneParameters"]

# Two windows' estimates agree while they lie within this many standard errors
# (the adaptive choice of the reported window, see `_select`).
AGREEMENT_SIGMA = 4.0
# Student's threshold is cached per window by degrees of freedom rounded down to
# this many significant bits: at most 3 % fewer degrees of freedom (a slightly
# higher threshold, never a lower one) and a few hundred values to cache, not one
# per sample count a window passes through while it fills.
_DOF_BITS = 6

# A fall slower than a thermal event could fake (zone_parameters.
# max_thermal_rate_k_per_s) enters a level only once some window's test has
# kept passing for this fraction of the sensors' thermal lag: a lagging
# sensor's temperature needs that long to show a heater step (its deviation
# from the cubic grows as t²), after which the misfit's uncertainty
# (thermal_misfit) and then the young event's (thermal_events) stop the false
# fall. Measured on heater steps of ±0.1 and ±0.25 K with the gas following the
# wall in 10, 200 and 1000 s: enough for all (docs/detection.md).
CONFIRM_LAG_FRACTION = 0.25

# The noise model is fitted to block scales up to this many times the longest
# window, and never to fewer than NOISE_MIN_SCALE_S (so a zone of short windows
# still learns the random walk): the longer octaves hold few terms, but they are
# what pins the random walk down against the flicker.
NOISE_SCALE_FACTOR = 2.0
NOISE_MIN_SCALE_S = 64.0

# Between decisions (zone_parameters.decision_interval_s) a sample is screened in
# the windows no longer than this many decision intervals (and always the
# shortest): a fall through them can be raised within a few intervals, where
# waiting for the next decision would add a noticeable share to the delay.
# A fall through a longer window takes many intervals to be raised; one more
# costs it little.
SCREEN_INTERVALS = 40.0
# A screened window calls for a decision once one sensor's fall reaches this
# fraction of what the zone must reach, divided by √(sensors): the zone's
# combined estimate can pass where each sensor's alone does not, and the screen
# uses the thermal correction of the last decision.
SCREEN_FRACTION = 0.8
# Of the screened windows, the shortest is looked at after every sample, the
# others only while the last decision found them at least this fraction of the
# way to their test.
SCREEN_NEAR = 0.5

_Vote = tuple[str, float, float]  # sensor, slope, its standard error


class _Estimates:
    """The zone's combined line per window that has one, as parallel lists."""

    __slots__ = (
        "dofs",
        "fills",
        "pooled_dofs",
        "pooled_stderrs",
        "slopes",
        "stderrs",
        "suspect",
        "used",
        "windows",
    )

    def __init__(self) -> None:
        self.windows: list[int] = []  # the bank's index
        self.slopes: list[float] = []  # of q_s, Pa/s
        self.stderrs: list[float] = []  # from the windows' own residuals
        self.pooled_stderrs: list[float] = []  # with the longest windows' noise (inf: none)
        self.fills: list[float] = []
        self.dofs: list[int] = []
        self.pooled_dofs: list[int] = []
        self.used: list[tuple[str, ...]] = []
        self.suspect: list[tuple[str, ...]] = []


class ZoneDetector:
    """One zone: a bank of sliding fits per sensor, combined by inverse variance.

    Each window of the bank is judged against its own significance (from the
    false-alarm budget), with its own noise and, for the shorter windows, with
    the longest window's (`sensor_lines`): a large leak crosses in a short
    window within a few samples, a small one in a long window within minutes.
    The level is entered when any test passes; it is held (hysteresis) and the
    figures are reported from one window, the longest whose estimate agrees
    with every shorter one.
    """

    def __init__(self, parameters: ZoneParameters) -> None:
        self.parameters = parameters
        self.level = Level.OK
        self._windows_s = parameters.windows_s
        self._sigmas = parameters.thresholds_sigma()
        self._budgeted = parameters.false_alarm_interval_days is not None
        self._pooled = parameters.pooled_noise
        self._tracks: dict[str, SensorLines] = {}
        # Noise learned in an earlier run, per sensor, taken up when its first sample
        # arrives (restore_noise).
        self._noise_restored: dict[str, dict[str, Any]] = {}
        # A level a window's test would enter, and since when (sample time): falls
        # that could be thermal must keep passing before they are raised.
        self._pending: tuple[int, float] | None = None
        self._pressure_per_kelvin = 0.0
        self._longest_lag_s = max(
            [parameters.temperature_lag_s, *(lag for _, lag in parameters.sensor_lags_s)]
        )
        # Per window, Student's threshold by (coarse) degrees of freedom.
        self._student: list[dict[int, float]] = [{} for _ in self._windows_s]
        self._decided_t_s: float | None = None  # sample time of the last decision
        screened_s = max(self._windows_s[0], SCREEN_INTERVALS * parameters.decision_interval_s)
        self._screened = {k for k, w in enumerate(self._windows_s) if w <= screened_s}
        self._watched = sorted(self._screened)  # until the first judgement

    @property
    def windows_s(self) -> tuple[float, ...]:
        return self._windows_s

    @property
    def thresholds_sigma(self) -> tuple[float, ...]:
        return self._sigmas

    def add_sample(
        self, sensor_id: str, t_s: float, pressure_pa: float, temperature_c: float
    ) -> None:
        track = self._tracks.get(sensor_id)
        if track is None:
            p = self.parameters
            lag_s = p.lag_of(sensor_id)
            thermal = None
            if lag_s > 0:
                thermal = ThermalLag(
                    lag_s=lag_s,
                    window_s=p.temperature_window_s,
                    lag_uncertainty=p.temperature_lag_uncertainty,
                )
            noise = None
            if p.noise == "learned":
                noise = NoiseEstimate(
                    prior=p.noise_prior_of(sensor_id),
                    max_scale_s=NOISE_SCALE_FACTOR * max(self._windows_s[-1], NOISE_MIN_SCALE_S),
                    # A raise comes at most one window after the fall began.
                    onset_lookback_s=self._windows_s[-1],
                )
                saved = self._noise_restored.pop(sensor_id, None)
                if saved is not None:
                    noise.restore(saved)
            track = SensorLines(
                self._windows_s,
                thermal=thermal,
                pooled=self._pooled,
                reference_temperature_k=p.reference_temperature_k,
                noise=noise,
            )
            self._tracks[sensor_id] = track
        track.add(t_s, pressure_pa, temperature_c, learning=self.level is Level.OK)

    def decision_due(self, sensor_id: str) -> bool:
        """Whether to judge the zone (`assess`) after this sensor's newest sample.

        Every sample when `decision_interval_s` is 0. Otherwise once per interval of
        sample time, and at once when the sample may enter a higher level through
        a screened window (`SCREEN_INTERVALS`, `SCREEN_FRACTION`): a fast fall is
        raised without waiting for the next decision, a slow one waits at most
        one interval more than at every sample.
        """
        interval_s = self.parameters.decision_interval_s
        decided_t_s = self._decided_t_s
        track = self._tracks.get(sensor_id)
        if interval_s <= 0.0 or decided_t_s is None or track is None:
            return True
        if track.t_s - decided_t_s >= interval_s:
            return True
        return self._may_enter(track)

    def _may_enter(self, track: SensorLines) -> bool:
        """One sensor's screened windows: could the zone enter a higher level now?"""
        policy = self.parameters.policy
        rank = self.level.rank
        if rank >= 2:
            return False
        threshold = policy.critical_pa_per_s if rank == 1 else policy.warning_pa_per_s
        fraction = SCREEN_FRACTION / math.sqrt(len(self._tracks))
        scale = (track.temperature_c + KELVIN_AT_0_C) / self.parameters.reference_temperature_k
        for k in self._watched:
            line = track.screen(k)
            if line is None:
                continue
            slope, own, pooled, n = line
            fall = -slope * scale
            if fall < fraction * threshold:
                continue
            if fall >= fraction * self._sigma(k, n - 2) * own * scale:
                return True
            pooled_dof = track.pooled_dof
            if pooled_dof > 0 and fall >= fraction * self._sigma(k, pooled_dof) * pooled * scale:
                return True
        return False

    def lag_estimates(self) -> dict[str, tuple[float, LagEstimate | None]]:
        """Per sensor: the configured thermal lag and the measured one (None: not
        yet, about 40 minutes of a thermal cycle are needed)."""
        p = self.parameters
        return {
            sensor_id: (p.lag_of(sensor_id), track.lag_estimator.estimate())
            for sensor_id, track in self._tracks.items()
        }

    def noise_states(self) -> dict[str, dict[str, Any]]:
        """Per sensor, the noise it has taught the detector (JSON-ready), to persist
        across a restart: the long octaves take hours to learn."""
        states = {
            sensor_id: track.noise.state()
            for sensor_id, track in self._tracks.items()
            if track.noise is not None
        }
        # Restored but not yet taken up (the sensor has not delivered since).
        for sensor_id, state in self._noise_restored.items():
            states.setdefault(sensor_id, state)
        return states

    def restore_noise(self, sensor_id: str, state: dict[str, Any]) -> None:
        """Take up what `noise_states` gave for this sensor in an earlier run.

        Checked now: a malformed state raises ValueError and changes nothing.
        """
        NoiseEstimate(prior=None, max_scale_s=1.0).restore(state)
        track = self._tracks.get(sensor_id)
        if track is not None and track.noise is not None:
            track.noise.restore(state)
        else:
            self._noise_restored[sensor_id] = state

    def forget_sensor(self, sensor_id: str) -> None:
        """Drop a sensor's window (after a fault its old samples no longer join the new
        ones); what it taught of its noise is kept for its next sample."""
        track = self._tracks.pop(sensor_id, None)
        # A track forgotten before it measured its sample period has nothing to keep
        # (and would overwrite what an earlier one learned).
        if track is not None and track.noise is not None and track.noise.base_s > 0.0:
            self._noise_restored[sensor_id] = track.noise.state()

    def assess(self) -> Assessment | None:
        """Estimate and update the level; None until some sensor has three samples."""
        tracks = self._tracks
        for track in tracks.values():
            if track.needs_refresh:
                track.refresh()
        if tracks:
            self._decided_t_s = max(track.t_s for track in tracks.values())
        if len(tracks) == 1:
            sensor_id, track = next(iter(tracks.items()))
            estimates = self._one_sensor(sensor_id, track)
            shown = [track]
        else:
            estimates = self._combined()
            used = {sensor_id for names in estimates.used for sensor_id in names}
            shown = [track for sensor_id, track in tracks.items() if sensor_id in used] or list(
                tracks.values()
            )
        if not estimates.slopes:
            return None
        p = self.parameters
        pressure_pa = sum(track.pressure_pa for track in shown) / len(shown)
        temperature_c = sum(track.temperature_c for track in shown) / len(shown)
        # Back from the reference temperature to the gas's own: the leak's dP/dt.
        scale = (temperature_c + KELVIN_AT_0_C) / p.reference_temperature_k

        e = estimates
        judged = [i for i, fill in enumerate(e.fills) if fill >= p.min_window_fill]
        chosen = self._select(e, judged) if judged else len(e.slopes) - 1
        previous = self.level
        entered_z = entered_sigma = 0.0
        entered_pooled = False
        rule = ""
        if judged:
            now_s = max(track.t_s for track in tracks.values())
            self._pressure_per_kelvin = pressure_pa / (temperature_c + KELVIN_AT_0_C)
            chosen, entered, rule = self._judge(e, judged, scale, chosen, now_s)
            if entered is not None:
                entered_z, entered_sigma, entered_pooled = entered
        k = e.windows[chosen]
        dpdt = e.slopes[chosen] * scale
        dpdt_stderr = e.stderrs[chosen] * scale
        if self.level.rank > previous.rank:
            reason = self._entered_reason(
                -dpdt, dpdt_stderr, k, entered_z, entered_sigma, entered_pooled
            )
            sigma = entered_sigma
        else:
            reason = self._reason(previous, -dpdt, dpdt_stderr, k, e.fills[chosen], bool(judged))
            if rule.startswith("held"):
                reason += f"; {rule}"
            sigma = self._sigma(k, e.dofs[chosen])
        if e.suspect[chosen]:
            reason += f"; sensors disagree, suspect: {', '.join(e.suspect[chosen])}"
        judgement = Judgement(
            level=self.level,
            previous_level=previous,
            reason=reason,
            window_s=self._windows_s[k],
            significance_sigma=sigma,
            sensors_used=e.used[chosen],
            sensors_suspect=e.suspect[chosen],
            window_fill=max(e.fills),
        )
        return assessment_from_rate(
            p,
            judgement,
            pressure_pa=pressure_pa,
            temperature_c=temperature_c,
            dpdt=dpdt,
            dpdt_stderr=dpdt_stderr,
        )

    def _one_sensor(self, sensor_id: str, track: SensorLines) -> _Estimates:
        """The estimates of a zone with one sensor (the common case): its own lines."""
        e = _Estimates()
        used = (sensor_id,)
        pooled_dof = track.pooled_dof
        counts, stderrs = track.counts, track.stderrs
        for k in range(len(self._windows_s)):
            if counts[k] == 0 or not stderrs[k] > 0:
                continue
            e.windows.append(k)
            e.slopes.append(track.slopes[k])
            e.stderrs.append(stderrs[k])
            e.pooled_stderrs.append(track.pooled_stderrs[k])
            e.fills.append(track.fills[k])
            e.dofs.append(counts[k] - 2)
            e.pooled_dofs.append(pooled_dof)
            e.used.append(used)
            e.suspect.append(())
        return e

    def _combined(self) -> _Estimates:
        """Per window, the sensors that agree, combined by inverse variance.

        The detector's hottest loop (windows × sensors at every decision): the
        tracks' lists are read once and each window's sums are written out, in the
        order the plain formulas below state them, so the figures are the same.
        """
        e = _Estimates()
        rows = [
            (
                sensor_id,
                track.counts,
                track.slopes,
                track.stderrs,
                track.white_stderrs,
                track.correlated_variances,
                track.pooled_stderrs,
                track.fills,
                track.pooled_dof,
            )
            for sensor_id, track in self._tracks.items()
        ]
        sqrt = math.sqrt
        for k in range(len(self._windows_s)):
            # Sensors vote with their white standard errors: the flicker and random
            # walk of the noise model are mostly the room's (or the chamber's) own
            # pressure, which moves every sensor alike and so cannot excuse two
            # sensors for disagreeing.
            votes: list[_Vote] = []
            voters = []
            for row in rows:
                stderr = row[3][k]
                if row[1][k] > 0 and stderr > 0:
                    votes.append((row[0], row[2][k], row[4][k] or stderr))
                    voters.append(row)
            if not votes:
                continue
            if len(votes) > 1:
                kept, suspect = self._vote(votes)
                if len(kept) != len(votes):
                    voters = [row for row in voters if any(row[0] == v[0] for v in kept)]
            else:
                kept, suspect = votes, ()
            # The white parts are each sensor's own and average down with inverse-
            # variance weights; the flicker and random walk are taken as common to
            # the zone (the room's or the chamber's pressure), which averaging does
            # not reduce: the smallest sensor's share is added whole. Sensor-own
            # slow noise would average down too, so this errs on the safe side.
            # The pooled test judges the same weighted mean, with each sensor's
            # pooled noise: Var = Σ w²·σ_pooled² / (Σ w)².
            total = weighted = pooled_variance = 0.0
            common = math.inf
            fill_min, fill_max = math.inf, -math.inf
            dof = 0
            pooled_dof = None
            for (_, slope, stderr), row in zip(kept, voters, strict=True):
                w = 1.0 / stderr**2
                total += w
                weighted += w * slope
                correlated = row[5][k]
                if correlated < common:
                    common = correlated
                pooled_variance += w * w * (row[6][k] ** 2 - correlated)
                fill = row[7][k]
                fill_min = fill if fill < fill_min else fill_min
                fill_max = fill if fill > fill_max else fill_max
                dof += row[1][k] - 2
                pooled_dof = row[8] if pooled_dof is None or row[8] < pooled_dof else pooled_dof
            e.windows.append(k)
            e.slopes.append(weighted / total)
            e.stderrs.append(sqrt(1.0 / total + common))
            e.pooled_stderrs.append(sqrt(pooled_variance / (total * total) + common))
            e.fills.append(0.0 if fill_min == 0.0 else fill_max)
            e.dofs.append(dof)
            e.pooled_dofs.append(pooled_dof or 0)
            e.used.append(tuple(sensor_id for sensor_id, _, _ in kept))
            e.suspect.append(suspect)
        return e

    def _judge(
        self, e: _Estimates, judged: list[int], scale: float, chosen: int, now_s: float
    ) -> tuple[int, tuple[float, float, bool] | None, str]:
        """Update the level from the judged windows; (the reported window, when a
        level was entered: the z that entered it, the z it had to reach and whether
        with the pooled noise, and the rule that held or released the level).

        - **Entered** when a window passes its threshold rate and either test its
          significance; a fall slow enough to be thermal (below
          (P/T)·max_thermal_rate_k_per_s) must keep passing for
          CONFIRM_LAG_FRACTION of the longest sensor lag first (`_confirmed`):
          time for a lagging sensor's temperature to show a heater or a door
          (thermal_misfit), whose uncertainty then stops it.
        - **Held** while some window still passes release_fraction of the rate and
          of either test's significance, and reported from the window holding it
          most firmly (a level must not flap because the reported window changed,
          and a document must not hold a level its own figures do not).
        - **Released** only when, besides, the most precise judged window's fall is
          below the release rate: never merely because the estimate became less
          certain while the fall stands.
        """
        p = self.parameters
        policy = p.policy
        release = policy.release_fraction
        floor = release * policy.warning_pa_per_s  # below it no window enters or holds
        previous_rank = self.level.rank
        rank = 0
        entered_by: tuple[float, float, bool] | None = None
        candidate_rank = 0
        candidate: tuple[int, tuple[float, float, bool], float] | None = None
        holder, holder_z = -1, -math.inf
        near: list[int] = []  # windows (the bank's index) halfway to their test
        for i in judged:
            fall = -e.slopes[i] * scale
            if fall < floor:
                continue
            k = e.windows[i]
            z = fall / (e.stderrs[i] * scale)
            required = self._sigma(k, e.dofs[i])
            passes = z >= required
            holds = z >= release * required
            test = (z, required, False)
            pooled_stderr = e.pooled_stderrs[i]
            if pooled_stderr < math.inf and e.pooled_dofs[i] > 0:
                z_pooled = fall / (pooled_stderr * scale)
                required_pooled = self._sigma(k, e.pooled_dofs[i])
                if not passes and z_pooled >= required_pooled:
                    passes = True
                    test = (z_pooled, required_pooled, True)
                holds = holds or z_pooled >= release * required_pooled
                if z_pooled >= SCREEN_NEAR * required_pooled:
                    near.append(k)
            if z >= SCREEN_NEAR * required and (not near or near[-1] != k):
                near.append(k)
            entered = policy.entered_rank(fall, passes)
            held = policy.held_rank(previous_rank, fall, holds)
            if entered > previous_rank and entered > candidate_rank:
                candidate_rank, candidate = entered, (i, test, fall)
            if held > rank or (held == rank and held > 0 and z > holder_z):
                rank = held
                holder, holder_z = i, z
        # Screened between decisions: the shortest window, and those of the screened
        # ones that came near their test now (a window far from it cannot pass
        # within an interval unless the shortest, which reacts first, does too).
        self._watched = [0, *(k for k in near if k in self._screened and k != 0)]
        rule = ""
        if candidate is not None and self._confirmed(candidate_rank, candidate, scale, now_s):
            rank = candidate_rank
            chosen, entered_by = candidate[0], candidate[1]
        else:
            if candidate is None:
                self._pending = None
            if rank > 0 and holder >= 0:
                chosen = holder
            if rank < previous_rank:
                precise = min(judged, key=lambda i: e.stderrs[i])
                fall = -e.slopes[precise] * scale
                released_below = release * policy.threshold_of(self.level)
                if fall >= released_below:
                    # The estimate grew uncertain, the fall did not slow: hold.
                    rank, chosen = previous_rank, precise
                    rule = (
                        f"held: the most precise window still falls {fall:.4g} Pa/s,"
                        f" above the {self.level} release rate {released_below:g} Pa/s"
                    )
                else:
                    rule = "released"
        self.level = level_of_rank(rank)
        return chosen, entered_by if rank > previous_rank else None, rule

    def _confirmed(
        self,
        rank: int,
        candidate: tuple[int, tuple[float, float, bool], float],
        scale: float,
        now_s: float,
    ) -> bool:
        """Whether a level that a window's test enters may be entered now."""
        _, _, fall = candidate
        p = self.parameters
        confirm_s = CONFIRM_LAG_FRACTION * self._longest_lag_s
        thermal_pa_per_s = p.max_thermal_rate_k_per_s * self._pressure_per_kelvin
        if confirm_s <= 0.0 or fall >= thermal_pa_per_s:
            self._pending = None
            return True
        pending = self._pending
        if pending is None or pending[0] != rank:
            self._pending = (rank, now_s)
            return False
        return now_s - pending[1] >= confirm_s

    def _sigma(self, index: int, degrees_of_freedom: int) -> float:
        """The significance window `index` must reach. From a budget, the Gaussian
        level becomes Student's (the SE comes from residuals, the window's own or
        the longest window's)."""
        if not self._budgeted:
            return self._sigmas[index]
        shift = degrees_of_freedom.bit_length() - _DOF_BITS
        coarse = degrees_of_freedom if shift <= 0 else (degrees_of_freedom >> shift) << shift
        cache = self._student[index]
        sigma = cache.get(coarse)
        if sigma is None:
            sigma = student_threshold(self._sigmas[index], coarse)
            cache[coarse] = sigma
        return sigma

    @staticmethod
    def _select(e: _Estimates, judged: list[int]) -> int:
        """The longest window whose estimate agrees with every shorter one (Lepski).

        Short windows are noisy but unbiased when a leak has just begun; a long
        window is precise but, straddling the onset, dilutes the new rate. Going
        from short to long, each window's slope must lie inside the intersection
        of the shorter windows' ±AGREEMENT_SIGMA intervals; the last that does
        is the most precise estimate that no shorter window contradicts.
        """
        low, high = -math.inf, math.inf
        chosen = judged[0]
        for i in judged:
            slope = e.slopes[i]
            if not low <= slope <= high:
                break
            low = max(low, slope - AGREEMENT_SIGMA * e.stderrs[i])
            high = min(high, slope + AGREEMENT_SIGMA * e.stderrs[i])
            chosen = i
        return chosen

    def _vote(self, votes: list[_Vote]) -> tuple[list[_Vote], tuple[str, ...]]:
        """Set aside sensors whose rate disagrees with the others (a drifting sensor).

        A leak moves every sensor in a zone alike; a sensor drifting on its own
        does not. Two rates disagree when they differ by more than
        `significance_sigma` combined standard errors and by more than half the
        warning rate. With three or more sensors the ones far from the median
        are set aside. Two that disagree cannot out-vote each other: the zone is
        judged by the one falling more slowly, so a drift alone never raises a
        level, and both are named as suspect.
        """
        if len(votes) < 2:
            return votes, ()
        sigma = self.parameters.policy.significance_sigma
        tolerance = self.parameters.policy.warning_pa_per_s / 2.0

        def disagree(difference: float, stderr: float) -> bool:
            return abs(difference) > max(sigma * stderr, tolerance)

        if len(votes) >= 3:
            median = statistics.median(slope for _, slope, _ in votes)
            suspect = [v for v in votes if disagree(v[1] - median, v[2])]
            kept = [v for v in votes if v not in suspect]
            if not kept:
                return votes, ()
            return kept, tuple(sensor_id for sensor_id, _, _ in suspect)
        first, second = votes
        if not disagree(first[1] - second[1], math.hypot(first[2], second[2])):
            return votes, ()
        slower = first if first[1] > second[1] else second
        return [slower], (first[0], second[0])

    def _measured(self, fall: float, stderr: float, index: int) -> str:
        sigma = fall / stderr if stderr > 0 else 0.0
        direction = "falling" if fall > 0 else "rising"
        return (
            f"pressure {direction} {abs(fall):.4g} ± {stderr:.2g} Pa/s ({sigma:.1f} σ"
            f" over {self._windows_s[index]:g} s)"
        )

    def _entered_reason(
        self, fall: float, stderr: float, index: int, z: float, required: float, pooled: bool
    ) -> str:
        threshold = self.parameters.policy.threshold_of(self.level)
        noise = f", with the {self._windows_s[-1]:g} s window's noise" if pooled else ""
        return (
            f"{self._measured(fall, stderr, index)}: above the {self.level} threshold"
            f" {threshold:g} Pa/s and {required:.2f} σ ({z:.1f} σ{noise})"
        )

    def _reason(
        self, previous: Level, fall: float, stderr: float, index: int, fill: float, judged: bool
    ) -> str:
        policy = self.parameters.policy
        measured = self._measured(fall, stderr, index)
        if not judged:
            return f"{measured}; window {fill:.0%} full, not yet judged"
        if self.level.rank < previous.rank:
            released = policy.threshold_of(previous) * policy.release_fraction
            return f"{measured}: below the {previous} release rate {released:g} Pa/s"
        return measured

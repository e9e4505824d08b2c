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
from dataclasses import dataclass

from .false_alarm import student_threshold, window_thresholds
from .levels import Level, LevelPolicy
from .linear_fit import LineFit
from .physics import (
    KELVIN_AT_0_C,
    R_AIR_J_PER_KG_K,
    SECONDS_PER_DAY,
    hole_diameter_m,
    pv_flow_to_sccm,
    reserve_time_s,
)
from .thermal_lag import ThermalLag
from .window_bank import LineFitBank, geometric_windows

# Successive windows of a bank differ by this factor: fine enough that a leak
# meets a window close to its best length, few enough (16 from 4 s to 600 s)
# that the budget split costs little significance.
WINDOW_RATIO = math.sqrt(2.0)
# Two windows' estimates agree while they lie within this many standard errors
# (the adaptive choice of the reported window, see `_select`).
AGREEMENT_SIGMA = 4.0


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
    # The sensors' temperature lags the gas by this time constant (0: it does not).
    temperature_lag_s: float = 0.0
    temperature_window_s: float = 600.0

    @property
    def windows_s(self) -> tuple[float, ...]:
        if self.min_window_s is None or self.min_window_s >= self.window_s:
            return (self.window_s,)
        return geometric_windows(self.min_window_s, self.window_s, WINDOW_RATIO)

    def thresholds_sigma(self) -> tuple[float, ...]:
        windows = self.windows_s
        if self.false_alarm_interval_days is None:
            return (self.policy.significance_sigma,) * len(windows)
        return window_thresholds(windows, self.false_alarm_interval_days)


@dataclass(frozen=True, slots=True)
class WindowEstimate:
    """The zone's combined slope over one window of the bank."""

    window_s: float
    slope: float  # of P·T_ref/T, Pa/s
    slope_stderr: float
    fill: float  # span of the data / window length
    sigma: float  # the significance this window must reach
    sensors_used: tuple[str, ...]
    sensors_suspect: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the zone looks like now: estimates, their uncertainty and the level."""

    zone_id: str
    level: Level
    previous_level: Level
    reason: str
    pressure_pa: float
    temperature_c: float
    dpdt_pa_per_s: float
    dpdt_stderr_pa_per_s: float
    leak_rate_pa_m3_per_s: float
    leak_rate_stderr_pa_m3_per_s: float
    leak_rate_sccm: float
    hole_diameter_mm: float | None
    reserve_time_s: float | None
    sensors_used: tuple[str, ...]
    sensors_suspect: tuple[str, ...]  # whose rate disagrees with the zone's other sensors
    window_fill: float
    leak_rate_stderr_sccm: float = 0.0
    leak_rate_kg_per_day: float = 0.0
    leak_rate_stderr_kg_per_day: float = 0.0
    hole_diameter_stderr_mm: float | None = None
    reserve_time_stderr_s: float | None = None
    estimate_window_s: float = 0.0  # the window the estimates come from
    significance_sigma: float = 0.0  # the z the level was judged against (that window's)

    @property
    def level_changed(self) -> bool:
        return self.level is not self.previous_level


@dataclass(slots=True)
class _SensorTrack:
    bank: LineFitBank
    thermal: ThermalLag | None
    pressure_pa: float = 0.0
    temperature_c: float = 0.0
    t_s: float = 0.0

    def fit(self, index: int) -> tuple[LineFit | None, bool]:
        """Window `index`'s line with the thermal lag taken out, and whether it may be judged."""
        fit = self.bank.fit(index)
        if fit is None or self.thermal is None:
            return fit, True
        correction = self.thermal.slope_correction(
            centre_t_s=self.t_s - fit.span_s / 2.0,
            q_pa=fit.intercept_at_last,
            temperature_k=self.temperature_c + KELVIN_AT_0_C,
        )
        if correction is None:
            return fit, False
        shift, shift_stderr = correction
        corrected = LineFit(
            fit.slope - shift,
            math.hypot(fit.slope_stderr, shift_stderr),
            fit.intercept_at_last,
            fit.sample_count,
            fit.span_s,
            fit.residual_rms,
        )
        return corrected, self.thermal.settled


_Fit = tuple[str, _SensorTrack, LineFit]
_LEVELS = (Level.OK, Level.WARNING, Level.CRITICAL)  # by rank


class ZoneDetector:
    """One zone: a bank of sliding fits per sensor, combined by inverse variance.

    Each window of the bank is judged against its own significance (from the
    false-alarm budget): a large leak crosses in a short window within seconds,
    a small one in a long window within minutes. The level is entered when any
    window passes; it is held (hysteresis) and the figures are reported from
    one window, the longest whose estimate agrees with every shorter one.
    """

    def __init__(self, parameters: ZoneParameters) -> None:
        self.parameters = parameters
        self.level = Level.OK
        self._windows_s = parameters.windows_s
        self._sigmas = parameters.thresholds_sigma()
        self._budgeted = parameters.false_alarm_interval_days is not None
        self._tracks: dict[str, _SensorTrack] = {}
        # Per window, Student's threshold by degrees of freedom: it depends on
        # nothing else, and a full window's count takes only a few values.
        self._student: list[dict[int, float]] = [{} for _ in self._windows_s]

    @property
    def windows_s(self) -> tuple[float, ...]:
        return self._windows_s

    @property
    def thresholds_sigma(self) -> tuple[float, ...]:
        return self._sigmas

    def add_sample(
        self, sensor_id: str, t_s: float, pressure_pa: float, temperature_c: float
    ) -> None:
        p = self.parameters
        track = self._tracks.get(sensor_id)
        if track is None:
            thermal = None
            if p.temperature_lag_s > 0:
                thermal = ThermalLag(lag_s=p.temperature_lag_s, window_s=p.temperature_window_s)
            track = _SensorTrack(LineFitBank(self._windows_s), thermal)
            self._tracks[sensor_id] = track
        temperature_k = temperature_c + KELVIN_AT_0_C
        track.bank.add(t_s, pressure_pa * p.reference_temperature_k / temperature_k)
        if track.thermal is not None:
            track.thermal.add(t_s, temperature_k)
        track.pressure_pa = pressure_pa
        track.temperature_c = temperature_c
        track.t_s = t_s

    def forget_sensor(self, sensor_id: str) -> None:
        """Drop a sensor's window (after a fault its old samples no longer join the new ones)."""
        self._tracks.pop(sensor_id, None)

    def assess(self) -> Assessment | None:
        """Estimate and update the level; None until some sensor has three samples."""
        if len(self._tracks) == 1:
            sensor_id, track = next(iter(self._tracks.items()))
            return self._assess_one(sensor_id, track)
        p = self.parameters
        tracks = list(self._tracks.items())
        estimates: list[WindowEstimate] = []
        for k, window_s in enumerate(self._windows_s):
            fits = []
            settled = True
            for sensor_id, track in tracks:
                fit, judgeable = track.fit(k)
                if fit is not None and fit.slope_stderr > 0:
                    fits.append((sensor_id, track, fit))
                    settled = settled and judgeable
            if not fits:
                continue
            if len(fits) == 1:  # the common case, without the vote's bookkeeping
                sensor_id, _, fit = fits[0]
                estimates.append(
                    WindowEstimate(
                        window_s,
                        fit.slope,
                        fit.slope_stderr,
                        min(1.0, fit.span_s / window_s) if settled else 0.0,
                        self._sigma(k, fit.sample_count - 2),
                        (sensor_id,),
                        (),
                    )
                )
                continue
            kept, suspect = self._vote(fits)
            weights = [1.0 / fit.slope_stderr**2 for _, _, fit in kept]
            total_weight = sum(weights)
            slope = sum(w * fit.slope for w, (_, _, fit) in zip(weights, kept, strict=True))
            estimates.append(
                WindowEstimate(
                    window_s=window_s,
                    slope=slope / total_weight,
                    slope_stderr=total_weight**-0.5,
                    fill=min(1.0, max(fit.span_s for _, _, fit in kept) / window_s)
                    if settled
                    else 0.0,
                    sigma=self._sigma(k, sum(fit.sample_count - 2 for _, _, fit in kept)),
                    sensors_used=tuple(sensor_id for sensor_id, _, _ in kept),
                    sensors_suspect=suspect,
                )
            )
        if not estimates:
            return None
        used = {sensor_id for e in estimates for sensor_id in e.sensors_used}
        shown = [track for sensor_id, track in tracks if sensor_id in used] or [
            track for _, track in tracks
        ]
        pressure_pa = sum(track.pressure_pa for track in shown) / len(shown)
        temperature_c = sum(track.temperature_c for track in shown) / len(shown)
        temperature_k = temperature_c + KELVIN_AT_0_C
        # Back from the reference temperature to the gas's own: the leak's dP/dt.
        scale = temperature_k / p.reference_temperature_k

        judged = [e for e in estimates if e.fill >= p.min_window_fill]
        chosen = self._select(judged) if judged else estimates[-1]
        previous = self.level
        if judged:
            # Entered when any window passes its threshold and significance; held
            # while any window still holds it (a level must not flap because the
            # reported window changed).
            level = Level.OK
            # Below this fall no window can enter or hold any level.
            floor = p.policy.release_fraction * p.policy.warning_pa_per_s
            for e in judged:
                fall_e, stderr_e = -e.slope * scale, e.slope_stderr * scale
                if fall_e < floor:
                    continue
                held = p.policy.held_level(previous, fall_e, stderr_e, e.sigma)
                entered = p.policy.entered_level(fall_e, stderr_e, e.sigma)
                if entered.rank > previous.rank and entered.rank > level.rank:
                    level, chosen = entered, e
                elif held.rank > level.rank:
                    level = held
            self.level = level
        dpdt = chosen.slope * scale
        dpdt_stderr = chosen.slope_stderr * scale
        fall = -dpdt
        reason = self._reason(previous, fall, dpdt_stderr, chosen, bool(judged))
        if chosen.sensors_suspect:
            reason += f"; sensors disagree, suspect: {', '.join(chosen.sensors_suspect)}"
        return self._assessment(
            previous=previous,
            reason=reason,
            chosen=chosen,
            pressure_pa=pressure_pa,
            temperature_c=temperature_c,
            dpdt=dpdt,
            dpdt_stderr=dpdt_stderr,
            window_fill=max(e.fill for e in estimates),
        )

    def _assess_one(self, sensor_id: str, track: _SensorTrack) -> Assessment | None:
        """`assess` for a zone with one sensor (the common case), per sample.

        The same decisions and figures as the general path, bit for bit
        (tests/daemon/test_detector_equivalence.py), without an object per
        window: the bank's lines come as parallel lists, the thermal cubic is
        read once, and only the chosen window becomes a `WindowEstimate`.
        """
        p = self.parameters
        bank = track.bank
        bank.refresh()
        counts, slopes, stderrs = bank.counts, bank.slopes, bank.slope_stderrs
        intercepts, spans = bank.intercepts_at_last, bank.spans_s
        windows_s = self._windows_s
        thermal = track.thermal
        model = None
        judgeable = True
        origin_t_s = cubic_window_s = lag_s = sensor_temperature_k = centre_base_t_s = 0.0
        base = per_u = var0 = var1 = var2 = 0.0
        if thermal is not None:
            cubic = thermal.fit
            model = cubic.model()
            # No correction yet: the windows are shown but not judged.
            judgeable = model is not None and thermal.settled
            if model is not None:
                base, per_u, var0, var1, var2 = model
            origin_t_s = cubic.origin_t_s
            cubic_window_s = cubic.window_s
            lag_s = thermal.lag_s
            sensor_temperature_k = track.temperature_c + KELVIN_AT_0_C
            centre_base_t_s = track.t_s
        indices: list[int] = []
        e_slope: list[float] = []
        e_stderr: list[float] = []
        e_fill: list[float] = []
        for k, window_s in enumerate(windows_s):
            n = counts[k]
            if n == 0:
                continue
            slope = slopes[k]
            stderr = stderrs[k]
            span_s = spans[k]
            if model is not None:
                # ThermalLag.slope_correction, written out (same operations).
                u = (centre_base_t_s - span_s / 2.0 - origin_t_s) / cubic_window_s
                variance = var0 + u * (var1 + u * var2)
                if variance < 0.0:
                    variance = 0.0
                curvature_stderr = math.sqrt(variance)
                gain = intercepts[k] * lag_s / sensor_temperature_k
                slope = slope - gain * (base + per_u * u)
                stderr = math.hypot(stderr, abs(gain) * curvature_stderr)
            if not stderr > 0:
                continue
            indices.append(k)
            e_slope.append(slope)
            e_stderr.append(stderr)
            if judgeable:
                fill = span_s / window_s
                e_fill.append(fill if fill < 1.0 else 1.0)
            else:
                e_fill.append(0.0)
        if not indices:
            return None
        # As the general path's mean over one sensor (+ 0.0 turns −0.0 into 0.0 as its sum does).
        pressure_pa = track.pressure_pa + 0.0
        temperature_c = track.temperature_c + 0.0
        temperature_k = temperature_c + KELVIN_AT_0_C
        scale = temperature_k / p.reference_temperature_k

        min_fill = p.min_window_fill
        judged = [i for i, fill in enumerate(e_fill) if fill >= min_fill]
        if judged:
            # `_select` on the judged windows.
            low, high = -math.inf, math.inf
            chosen = judged[0]
            for i in judged:
                slope = e_slope[i]
                if not low <= slope <= high:
                    break
                bound = slope - AGREEMENT_SIGMA * e_stderr[i]
                if bound > low:
                    low = bound
                bound = slope + AGREEMENT_SIGMA * e_stderr[i]
                if bound < high:
                    high = bound
                chosen = i
        else:
            chosen = len(indices) - 1
        previous = self.level
        if judged:
            policy = p.policy
            warning, critical = policy.warning_pa_per_s, policy.critical_pa_per_s
            release = policy.release_fraction
            held_warning, held_critical = release * warning, release * critical
            previous_rank = previous.rank
            rank = 0
            floor = release * warning
            for i in judged:
                fall_e, stderr_e = -e_slope[i] * scale, e_stderr[i] * scale
                if fall_e < floor:
                    continue
                # LevelPolicy.held_level and entered_level, written out.
                required = self._sigma(indices[i], counts[indices[i]] - 2)
                z = fall_e / stderr_e if stderr_e > 0 else 0.0
                held = 0
                if z >= release * required:
                    if previous_rank >= 1 and fall_e >= held_warning:
                        held = 1
                    if previous_rank >= 2 and fall_e >= held_critical:
                        held = 2
                entered = 0
                if z >= required:
                    if fall_e >= warning:
                        entered = 1
                    if fall_e >= critical:
                        entered = 2
                if entered > previous_rank and entered > rank:
                    rank, chosen = entered, i
                elif held > rank:
                    rank = held
            self.level = _LEVELS[rank]
        k = indices[chosen]
        estimate = WindowEstimate(
            windows_s[k],
            e_slope[chosen],
            e_stderr[chosen],
            e_fill[chosen],
            self._sigma(k, counts[k] - 2),
            (sensor_id,),
            (),
        )
        dpdt = estimate.slope * scale
        dpdt_stderr = estimate.slope_stderr * scale
        reason = self._reason(previous, -dpdt, dpdt_stderr, estimate, bool(judged))
        return self._assessment(
            previous=previous,
            reason=reason,
            chosen=estimate,
            pressure_pa=pressure_pa,
            temperature_c=temperature_c,
            dpdt=dpdt,
            dpdt_stderr=dpdt_stderr,
            window_fill=max(e_fill),
        )

    def _sigma(self, index: int, degrees_of_freedom: int) -> float:
        """The significance window `index` must reach. From a budget, the Gaussian
        level becomes Student's (the SE comes from the window's own residuals)."""
        if not self._budgeted:
            return self._sigmas[index]
        cache = self._student[index]
        sigma = cache.get(degrees_of_freedom)
        if sigma is None:
            sigma = student_threshold(self._sigmas[index], degrees_of_freedom)
            cache[degrees_of_freedom] = sigma
        return sigma

    def _select(self, judged: list[WindowEstimate]) -> WindowEstimate:
        """The longest window whose estimate agrees with every shorter one (Lepski).

        Short windows are noisy but unbiased when a leak has just begun; a long
        window is precise but, straddling the onset, dilutes the new rate. Going
        from short to long, each window's slope must lie inside the intersection
        of the shorter windows' ±AGREEMENT_SIGMA intervals; the last that does
        is the most precise estimate that no shorter window contradicts.
        """
        low, high = -math.inf, math.inf
        chosen = judged[0]
        for e in judged:
            if not low <= e.slope <= high:
                break
            low = max(low, e.slope - AGREEMENT_SIGMA * e.slope_stderr)
            high = min(high, e.slope + AGREEMENT_SIGMA * e.slope_stderr)
            chosen = e
        return chosen

    def _assessment(
        self,
        *,
        previous: Level,
        reason: str,
        chosen: WindowEstimate,
        pressure_pa: float,
        temperature_c: float,
        dpdt: float,
        dpdt_stderr: float,
        window_fill: float,
    ) -> Assessment:
        p = self.parameters
        temperature_k = temperature_c + KELVIN_AT_0_C
        fall = -dpdt
        leak_pv = max(fall, 0.0) * p.volume_m3
        leak_pv_stderr = dpdt_stderr * p.volume_m3
        diameter_m = hole_diameter_m(
            mass_flow_kg_per_s=leak_pv / (R_AIR_J_PER_KG_K * temperature_k),
            upstream_pa=pressure_pa,
            downstream_pa=p.ambient_pressure_pa,
            temperature_k=temperature_k,
            discharge_coefficient=p.discharge_coefficient,
        )
        hole_mm = None if diameter_m is None or leak_pv == 0 else diameter_m * 1e3
        # The area is proportional to the flow, the diameter to its square root:
        # σ_d/d = σ_Q/(2·Q). Reserve time τ·ln(P/P_floor), τ = P/|dP/dt|: σ_t/t = σ_r/r.
        relative = dpdt_stderr / fall if fall > 0 else math.inf
        reserve_s = reserve_time_s(pressure_pa=pressure_pa, dpdt_pa_per_s=dpdt, floor_pa=p.floor_pa)
        kg_per_day = SECONDS_PER_DAY / (R_AIR_J_PER_KG_K * temperature_k)
        return Assessment(
            zone_id=p.zone_id,
            level=self.level,
            previous_level=previous,
            reason=reason,
            pressure_pa=pressure_pa,
            temperature_c=temperature_c,
            dpdt_pa_per_s=dpdt,
            dpdt_stderr_pa_per_s=dpdt_stderr,
            leak_rate_pa_m3_per_s=leak_pv,
            leak_rate_stderr_pa_m3_per_s=leak_pv_stderr,
            leak_rate_sccm=pv_flow_to_sccm(leak_pv, temperature_k),
            hole_diameter_mm=hole_mm,
            reserve_time_s=reserve_s,
            sensors_used=chosen.sensors_used,
            sensors_suspect=chosen.sensors_suspect,
            window_fill=window_fill,
            leak_rate_stderr_sccm=pv_flow_to_sccm(leak_pv_stderr, temperature_k),
            leak_rate_kg_per_day=leak_pv * kg_per_day,
            leak_rate_stderr_kg_per_day=leak_pv_stderr * kg_per_day,
            hole_diameter_stderr_mm=None if hole_mm is None else hole_mm * relative / 2.0,
            reserve_time_stderr_s=(
                None if reserve_s is None or not math.isfinite(relative) else reserve_s * relative
            ),
            estimate_window_s=chosen.window_s,
            significance_sigma=chosen.sigma,
        )

    def _vote(self, fits: list[_Fit]) -> tuple[list[_Fit], tuple[str, ...]]:
        """Set aside sensors whose rate disagrees with the others (a drifting sensor).

        A leak moves every sensor in a zone alike; a sensor drifting on its own
        does not. Two rates disagree when they differ by more than
        `significance_sigma` combined standard errors and by more than half the
        warning rate. With three or more sensors the ones far from the median
        are set aside. Two that disagree cannot out-vote each other: the zone is
        judged by the one falling more slowly, so a drift alone never raises a
        level, and both are named as suspect.
        """
        if len(fits) < 2:
            return fits, ()
        sigma = self.parameters.policy.significance_sigma
        tolerance = self.parameters.policy.warning_pa_per_s / 2.0

        def disagree(difference: float, stderr: float) -> bool:
            return abs(difference) > max(sigma * stderr, tolerance)

        if len(fits) >= 3:
            median = statistics.median(fit.slope for _, _, fit in fits)
            suspect = [f for f in fits if disagree(f[2].slope - median, f[2].slope_stderr)]
            kept = [f for f in fits if f not in suspect]
            if not kept:
                return fits, ()
            return kept, tuple(sensor_id for sensor_id, _, _ in suspect)
        first, second = fits
        combined = math.hypot(first[2].slope_stderr, second[2].slope_stderr)
        if not disagree(first[2].slope - second[2].slope, combined):
            return fits, ()
        slower = first if first[2].slope > second[2].slope else second
        return [slower], (first[0], second[0])

    def _reason(
        self,
        previous: Level,
        fall: float,
        stderr: float,
        chosen: WindowEstimate,
        judged: bool,
    ) -> str:
        policy = self.parameters.policy
        sigma = fall / stderr if stderr > 0 else 0.0
        direction = "falling" if fall > 0 else "rising"
        measured = (
            f"pressure {direction} {abs(fall):.4g} ± {stderr:.2g} Pa/s ({sigma:.1f} σ"
            f" over {chosen.window_s:g} s)"
        )
        if not judged:
            return f"{measured}; window {chosen.fill:.0%} full, not yet judged"
        if self.level.rank > previous.rank:
            threshold = policy.threshold_of(self.level)
            return (
                f"{measured}: above the {self.level} threshold {threshold:g} Pa/s"
                f" and {chosen.sigma:.2f} σ"
            )
        if self.level.rank < previous.rank:
            released = policy.threshold_of(previous) * policy.release_fraction
            return f"{measured}: below the {previous} release rate {released:g} Pa/s"
        return measured

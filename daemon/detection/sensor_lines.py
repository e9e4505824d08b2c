"""One sensor's bank of windows with its thermal lag taken out: the lines a zone judges.

Per window the detector needs the slope of q_s = P·T_ref/T_s with the lag's
share removed (`thermal_lag`), and two standard errors of it:

- **own**: from the window's own residuals (Student's t with n − 2 degrees of
  freedom). Honest whatever the noise does, but a short window has few
  samples to estimate it from, and a window straddling a leak's onset has a
  kink in it that inflates its residuals exactly when the slope matters.
- **pooled**: the same slope's standard error with the noise variance taken
  from the longest window, √(s²_longest/Σ(t − t̄)²). Thousands of degrees of
  freedom instead of tens, and a kink of a few samples hardly moves it: a
  1 mm hole in a 50 L chamber is significant about 3 samples after it opens
  with pooled noise, 15 with the window's own. The longest window's residuals
  also hold what the line and the lag correction leave of the thermal cycle,
  so s²_longest is at least the white noise: conservative, not optimistic.
  It is also never taken below the window's own white noise, measured from
  its second differences (which a line ignores and a kink barely moves): a
  sensor that turns noisier (vibration, a failing part) is not judged by the
  quieter past its longest window remembers.

Both tests are made (the false-alarm budget pays for both, `zone_parameters`):
the pooled one catches an onset early, the own one holds a level once a large
leak's kink has swollen the longest window's residuals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .lag_estimate import LagEstimator
from .noise_estimate import NoiseEstimate
from .physics import KELVIN_AT_0_C
from .thermal_lag import ThermalLag
from .window_bank import LineFitBank

# Until the temperature fit has settled, this many times the lag correction's
# own size is added (in quadrature) to its uncertainty: a start-up transient can
# make the fitted correction wrong by more than its standard error says
# (thermal_lag.ThermalLag.settled), and a window must then pass with the
# correction counted as that uncertain.
STARTUP_CORRECTION_MARGIN = 2.0
# The misfit's noise counts this many times in the window's uncertainty: the
# ends' residuals are averaged over an eighth of the window, and a curve that
# bends within it is underestimated there.
MISFIT_NOISE_MARGIN = 2.0
# The online lag estimate takes over the configured τ's uncertainty once its
# standard error is below this fraction of τ.
LAG_ESTIMATE_TRUSTED = 0.1


class SensorLines:
    """A sensor's samples of q_s in a `LineFitBank`, its temperature history, and,
    after `refresh`, one line per window as parallel lists (index: the bank's)."""

    __slots__ = (
        "_pooled",
        "_reference_temperature_k",
        "bank",
        "correction_stderrs",
        "corrections",
        "correlated_variances",
        "counts",
        "fills",
        "lag_estimator",
        "needs_refresh",
        "noise",
        "pooled_dof",
        "pooled_stderrs",
        "pooled_variance",
        "pressure_pa",
        "slopes",
        "stderrs",
        "t_s",
        "temperature_c",
        "thermal",
        "white_stderrs",
    )

    def __init__(
        self,
        windows_s: Sequence[float],
        *,
        thermal: ThermalLag | None,
        pooled: bool,
        reference_temperature_k: float,
        noise: NoiseEstimate | None = None,
    ) -> None:
        self.bank = LineFitBank(windows_s)
        # The flicker and random walk the residuals of one window cannot show
        # (None: white noise assumed, as before).
        self.noise = noise
        self.thermal = thermal
        # Measures the lag whatever is configured: the configured τ is checked
        # against it (a τ of 0 for a die that lags is the likely mistake).
        self.lag_estimator = LagEstimator()
        self._pooled = pooled
        self._reference_temperature_k = reference_temperature_k
        self.pressure_pa = 0.0
        self.temperature_c = 0.0
        self.t_s = 0.0
        size = len(windows_s)
        self.counts = [0] * size  # 0: no line in this window (yet)
        self.slopes = [0.0] * size  # of q_s, lag removed, Pa/s
        self.stderrs = [0.0] * size  # from the window's own residuals and the noise model
        # The same without the noise model's flicker and random walk: what sets one
        # sensor apart from another in the zone (the room's own pressure moves both).
        self.white_stderrs = [0.0] * size
        # What the noise model added to both variances ((Pa/s)²; 0 without one).
        self.correlated_variances = [0.0] * size
        self.pooled_stderrs = [math.inf] * size  # inf: no pooled test for this window
        self.fills = [0.0] * size  # span / window; 0 while it may not be judged
        self.pooled_dof = 0  # degrees of freedom of the pooled noise
        # What the last `refresh` took off each window's slope for the thermal lag
        # (Pa/s) and that correction's uncertainty, and the pooled noise variance:
        # `screen` judges a window between refreshes with them.
        self.corrections = [0.0] * size
        self.correction_stderrs = [0.0] * size
        self.pooled_variance = 0.0
        # A sample arrived since the last `refresh` (whose lines depend on this
        # sensor's own samples only: another sensor's sample leaves them as they are).
        self.needs_refresh = False

    def add(
        self, t_s: float, pressure_pa: float, temperature_c: float, *, learning: bool = True
    ) -> None:
        """One sample; with `learning` False the noise model is not taught by it (a
        raised zone: the leak is not noise)."""
        temperature_k = temperature_c + KELVIN_AT_0_C
        value = pressure_pa * self._reference_temperature_k / temperature_k
        self.bank.add(t_s, value)
        if self.noise is not None:
            # The noise is learned from q_s before the lag correction (which is a
            # smooth function of the window, applied to its slope), so it may start
            # as soon as the die's start-up transient, the lag's e^(−t/τ) approach,
            # has left q_s: no need to wait for the temperature fit's window.
            # Nor is a heater step's: while the die follows a thermal event q_s
            # holds the transient (thermal_events), which is not noise either.
            thermal = self.thermal
            settled = thermal is None or (
                thermal.transient_passed and not thermal.events.transient(t_s)
            )
            self.noise.add(t_s, value, learning=learning and settled)
        if self.thermal is not None:
            self.thermal.add(t_s, temperature_k)
        self.lag_estimator.add(t_s, pressure_pa, temperature_k)
        self.pressure_pa = pressure_pa
        self.temperature_c = temperature_c
        self.t_s = t_s
        self.needs_refresh = True

    def _lag_uncertainty(self, thermal: ThermalLag) -> float:
        """The relative uncertainty of the configured τ: the configured one until
        the online estimate is precise, then what it says of the configured τ
        (their distance plus two of its standard errors), never below the
        estimate's own relative error."""
        configured = thermal.lag_uncertainty
        estimate = self.lag_estimator.estimate()
        if estimate is None or not estimate.stderr_s < LAG_ESTIMATE_TRUSTED * thermal.lag_s:
            return configured
        return (abs(estimate.lag_s - thermal.lag_s) + 2.0 * estimate.stderr_s) / thermal.lag_s

    def screen(self, index: int) -> tuple[float, float, float, int] | None:
        """Window `index`'s corrected slope now, its own and pooled standard errors and
        its sample count, with the thermal correction, its uncertainty and the noise
        model's share as the last `refresh` left them (they change over seconds, the
        slope with every sample); None where it has no line. A first look between
        refreshes, not a judgement (`ZoneDetector.decision_due`)."""
        line = self.bank.line_of(index)
        if line is None:
            return None
        slope, residual_variance, sxx, n = line
        correlated = self.correlated_variances[index]
        extra = self.correction_stderrs[index]
        own = math.sqrt(residual_variance / sxx + correlated + extra * extra)
        pooled = math.inf
        if self.pooled_variance > 0.0 and index < len(self.counts) - 1:
            pooled = math.sqrt(self.pooled_variance / sxx + correlated + extra * extra)
        return slope - self.corrections[index], own, pooled, n

    def refresh(self) -> None:
        """Every window's corrected line and its two standard errors."""
        self.needs_refresh = False
        bank = self.bank
        bank.refresh()
        counts, slopes, stderrs = bank.counts, bank.slopes, bank.slope_stderrs
        intercepts, spans, sxxs = bank.intercepts_at_last, bank.spans_s, bank.sxxs
        local_noise = bank.noise_variances
        windows_s = bank.windows_s
        longest = len(windows_s) - 1
        pooled_variance = 0.0
        self.pooled_dof = 0
        if self._pooled and counts[longest] > 0:
            pooled_variance = bank.residual_variances[longest]
            self.pooled_dof = counts[longest] - 2
        self.pooled_variance = pooled_variance
        thermal = self.thermal
        model = None
        judgeable = True
        widen = 0.0
        origin_t_s = cubic_window_s = lag_s = temperature_k = 0.0
        base = per_u = var0 = var1 = var2 = 0.0
        misfits: list[tuple[float, float]] = []
        # Per window (T_s'' correction K/s², its stderr) from the event fit, if any.
        corrections: list[tuple[float, float]] = []
        young_event = False
        lag_uncertainty = 0.0
        if thermal is not None:
            cubic = thermal.fit
            model = cubic.model()
            if model is not None:
                event_fit = thermal.event_fit(self.t_s)
                if event_fit is not None:
                    corrections = event_fit.corrections(self.t_s, spans, thermal.misfit.closed)
                    young_event = event_fit.young
                    misfits = thermal.misfit.excess(
                        event_fit,
                        self.t_s,
                        windows_s,
                        solved_at_s=event_fit.origin_s,
                        curve_serial=event_fit.serial,
                    )
                else:
                    misfits = thermal.misfit.excess(
                        cubic, self.t_s, windows_s, solved_at_s=cubic.solved_at_s
                    )
                thermal.look_for_events(self.t_s)
            lag_uncertainty = self._lag_uncertainty(thermal)
            # No correction at all yet: the windows are shown but not judged.
            judgeable = model is not None
            if model is not None:
                base, per_u, var0, var1, var2 = model
            if not thermal.settled:
                widen = STARTUP_CORRECTION_MARGIN
            origin_t_s = cubic.origin_t_s
            cubic_window_s = cubic.window_s
            lag_s = thermal.lag_s
            temperature_k = self.temperature_c + KELVIN_AT_0_C
        noise = self.noise
        out_counts, out_slopes, out_stderrs = self.counts, self.slopes, self.stderrs
        out_pooled, out_fills = self.pooled_stderrs, self.fills
        out_white, out_correlated = self.white_stderrs, self.correlated_variances
        out_corrections, out_correction_stderrs = self.corrections, self.correction_stderrs
        sqrt, hypot = math.sqrt, math.hypot
        for k, window_s in enumerate(windows_s):
            n = counts[k]
            out_counts[k] = n
            if n == 0:
                continue
            slope = slopes[k]
            stderr = stderrs[k]
            pooled_stderr = math.inf
            if k < longest and pooled_variance > 0.0:
                # Never below the noise the window itself shows (its second
                # differences): when the sensor gets noisier, the longest
                # window's residuals learn it only slowly.
                local = local_noise[k]
                noise_variance = pooled_variance if pooled_variance > local else local
                pooled_stderr = sqrt(noise_variance / sxxs[k])
            out_white[k] = stderr
            correlated = 0.0
            if noise is not None and spans[k] > 0.0:
                # Both standard errors see only white noise; the slope of a real
                # sensor also scatters with its flicker and random walk over the
                # window's span (noise_model).
                correlated = noise.correlated_slope_variance(self.t_s, spans[k])
                stderr = sqrt(stderr * stderr + correlated)
                pooled_stderr = sqrt(pooled_stderr * pooled_stderr + correlated)
            out_correlated[k] = correlated
            if model is not None:
                gain = intercepts[k] * lag_s / temperature_k
                if corrections:
                    # The temperature changed course in the window: the cubic with
                    # the event's responses gives the correction (thermal_events).
                    curvature, curvature_stderr = corrections[k]
                    shift = gain * curvature
                    extra = abs(gain) * curvature_stderr
                    if young_event:
                        extra = hypot(extra, shift)
                else:
                    # (q·τ/T)·T_s'' at the window's centre (thermal_lag), its model
                    # read once.
                    u = (self.t_s - spans[k] / 2.0 - origin_t_s) / cubic_window_s
                    variance = var0 + u * (var1 + u * var2)
                    shift = gain * (base + per_u * u)
                    extra = abs(gain) * sqrt(variance if variance > 0.0 else 0.0)
                if widen:
                    extra = hypot(extra, widen * shift)
                if lag_uncertainty:
                    extra = hypot(extra, lag_uncertainty * shift)
                if misfits:
                    misfit, misfit_noise = misfits[k]
                    if misfit_noise:
                        # The temperature has left the cubic (thermal_misfit): the
                        # correction takes the residuals' own share, and is counted
                        # as uncertain by as much again (the ends' averages lag a
                        # curve that bends within them), with the misfit's noise
                        # and what τ's uncertainty makes of it.
                        shift += gain * misfit
                        extra = hypot(
                            extra,
                            gain * misfit,
                            abs(gain) * MISFIT_NOISE_MARGIN * misfit_noise,
                            lag_uncertainty * gain * misfit,
                        )
                slope -= shift
                stderr = hypot(stderr, extra)
                pooled_stderr = hypot(pooled_stderr, extra)
                out_corrections[k] = shift
                out_correction_stderrs[k] = extra
            out_slopes[k] = slope
            out_stderrs[k] = stderr
            out_pooled[k] = pooled_stderr
            if judgeable:
                fill = spans[k] / window_s
                out_fills[k] = fill if fill < 1.0 else 1.0
            else:
                out_fills[k] = 0.0

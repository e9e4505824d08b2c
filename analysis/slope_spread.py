"""How much least-squares slopes really scatter, against what white noise claims.

The recording is cut into non-overlapping windows of `window_s`; each gets
its OLS slope and the slope's white-noise standard error √(s²/Sxx) (s² the
residual variance with n − 2 degrees of freedom, what the detector reports).
The measured spread is the standard deviation of the slopes across windows
(about their mean: a constant drift is not noise); its 68 % interval is the
χ² interval for n − 1 degrees of freedom, which treats the windows as
independent (true for white noise and a random walk's increments, a little
optimistic for flicker).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2  # type: ignore[import-untyped]

from .recording_csv import FloatArray

ONE_SIGMA_TAIL = (1.0 - math.erf(1.0 / math.sqrt(2.0))) / 2.0
MIN_WINDOWS = 4
STANDARD_WINDOWS_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class SlopeSpread:
    window_s: float
    windows: int
    measured_sd_pa_per_s: float
    measured_low: float  # 68 % interval
    measured_high: float
    white_claim_sd_pa_per_s: float  # median of the windows' √(s²/Sxx)

    @property
    def ratio(self) -> float:
        """measured / white claim: 1 for white noise, more for correlated noise."""
        return self.measured_sd_pa_per_s / self.white_claim_sd_pa_per_s


def windows_that_fit(duration_s: float) -> list[float]:
    return [w for w in STANDARD_WINDOWS_S if MIN_WINDOWS * w <= duration_s]


def slope_spread(times_s: FloatArray, values: FloatArray, window_s: float) -> SlopeSpread | None:
    """The spread over non-overlapping windows, or None when fewer than four fit.

    Windows are cut by time (t0 + k·window_s), so a jittered log gives each
    window the samples that fall in it; a window with under three samples
    has no residual and is skipped.
    """
    whole = int((times_s[-1] - times_s[0]) // window_s)
    edges = np.searchsorted(times_s, times_s[0] + window_s * np.arange(whole + 1), side="left")
    slopes = []
    errors = []
    for start, stop in itertools.pairwise(edges):
        if stop - start < 3:
            continue
        slope, standard_error = _ols_slope(times_s[start:stop], values[start:stop])
        slopes.append(slope)
        errors.append(standard_error)
    count = len(slopes)
    if count < MIN_WINDOWS:
        return None
    sd = float(np.std(slopes, ddof=1))
    dof = count - 1
    low = sd * math.sqrt(dof / chi2.ppf(1.0 - ONE_SIGMA_TAIL, dof))
    high = sd * math.sqrt(dof / chi2.ppf(ONE_SIGMA_TAIL, dof))
    return SlopeSpread(
        window_s=window_s,
        windows=count,
        measured_sd_pa_per_s=sd,
        measured_low=float(low),
        measured_high=float(high),
        white_claim_sd_pa_per_s=float(np.median(errors)),
    )


def _ols_slope(times_s: FloatArray, values: FloatArray) -> tuple[float, float]:
    centred_s = times_s - times_s.mean()
    sxx = float(centred_s @ centred_s)
    slope = float(centred_s @ (values - values.mean())) / sxx
    residuals = values - values.mean() - slope * centred_s
    residual_variance = float(residuals @ residuals) / (times_s.size - 2)
    return slope, math.sqrt(residual_variance / sxx)

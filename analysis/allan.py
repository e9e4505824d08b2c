"""Overlapping Allan deviation with confidence intervals (allantools).

The series is treated as allantools' "frequency" data: y_i = pressure (Pa)
at rate f = 1/(median period), so σ_A(τ) is in Pa and τ = m/f. The
overlapping estimator is NIST SP 1065 eq. (11), p. 16; its confidence
interval is the χ² interval for Greenhall's equivalent degrees of freedom
(allantools `edf_greenhall`), with the noise type at each τ from the lag-1
autocorrelation method of Riley & Greenhall (allantools `autocorr_noise_id`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import allantools  # type: ignore[import-untyped]
import numpy as np

from .recording_csv import FloatArray

ONE_SIGMA = math.erf(1.0 / math.sqrt(2.0))
# The lag-1 noise identification needs this many τ-averages to say anything.
MIN_AVERAGES_FOR_NOISE_ID = 32


@dataclass(frozen=True)
class AllanPoint:
    tau_s: float
    deviation: float  # σ_A(τ), in the series' unit
    low: float  # 68 % confidence interval
    high: float
    degrees_of_freedom: float
    noise_alpha: int  # the PSD exponent the interval assumed: 0 white, -1 flicker, -2 walk

    @property
    def variance_relative_error(self) -> float:
        """The 1σ relative error of σ_A² (χ² with `degrees_of_freedom`)."""
        return math.sqrt(2.0 / self.degrees_of_freedom)


def octave_factors(samples: int) -> list[int]:
    """m = 1, 2, 4, ... up to a quarter of the recording."""
    factors = []
    m = 1
    while m <= samples // 4:
        factors.append(m)
        m *= 2
    return factors


def allan_deviation(values: FloatArray, rate_hz: float) -> list[AllanPoint]:
    factors = octave_factors(values.size)
    taus_s = np.array(factors, dtype=np.float64) / rate_hz
    taus_out, deviations, _, _ = allantools.oadev(
        values, rate=rate_hz, data_type="freq", taus=taus_s
    )
    points = []
    alpha = 0
    for tau_s, deviation in zip(taus_out, deviations, strict=True):
        m = round(float(tau_s) * rate_hz)
        if values.size // m >= MIN_AVERAGES_FOR_NOISE_ID:
            alpha = _noise_alpha(values, m)
        # else: keep the type found at the longest τ that could tell
        edf = float(
            allantools.edf_greenhall(
                alpha=alpha, d=2, m=m, N=values.size, overlapping=True, modified=False
            )
        )
        low, high = allantools.confidence_interval(float(deviation), edf, ci=ONE_SIGMA)
        points.append(
            AllanPoint(
                tau_s=float(tau_s),
                deviation=float(deviation),
                low=float(low),
                high=float(high),
                degrees_of_freedom=edf,
                noise_alpha=alpha,
            )
        )
    return points


def _noise_alpha(values: FloatArray, m: int) -> int:
    """The dominant power-law exponent at averaging factor m, limited to what a
    second difference (the Allan variance) converges for: −2 ≤ α ≤ 2."""
    alpha_int, _, _, _ = allantools.autocorr_noise_id(values, m, data_type="freq", dmax=2)
    return int(min(2, max(-2, alpha_int)))

"""A pressure sensor's noise beyond white: flicker, random walk, tempco and popcorn.

Real barometers are not white. An MS5611 lying still on a bench (the recording
`ms5611_gy63_bench_80hz.csv`, see `CHIP_NOISE` below) has an overlapping
Allan deviation that falls as τ^-1/2 only up to about 1.5 s, bottoms out at
0.17 Pa and then climbs again: least-squares slopes over 30 s windows spread
12× wider than the white-noise formula says. This module makes that part of
the noise; the chip simulators keep drawing their own white noise per
conversion (and quantise to their output LSB), so the white-only mode is
exactly what it was.

The reading's offset from the truth, in Pa, is the sum of

- flicker (1/f): a sum of first-order Gauss–Markov (Ornstein–Uhlenbeck)
  processes with log-spaced time constants and equal variances, the standard
  approximation of a 1/f spectrum over the band they span. Scaled so that the
  sum's Allan deviation is `flicker_pa` at 100 s; within 6 % of it from 1 s to
  3·10^5 s. Each process is advanced exactly over whatever step separates two
  conversions: x ← x·e^(−Δt/T) + s·√(1 − e^(−2Δt/T))·N(0, 1);
- random walk: a Wiener process, w ← w + K·√Δt·N(0, 1), whose Allan variance
  is K²·τ/3 (K = `random_walk_pa_per_sqrt_s`);
- a temperature coefficient of offset: `tempco_pa_per_k` × (die temperature −
  25 °C), the die temperature being the sensor's own (lagged) temperature;
- popcorn (random telegraph) noise: the offset toggles between 0 and
  `popcorn_pa` at random times, a Poisson process of `popcorn_per_hour`.

Pure Python and cheap: a dozen Gaussian draws per conversion. Its random
stream is its own (seeded from the scenario seed and the sensor), so that
adding it leaves the chips' white noise unchanged.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

# Flicker: time constants from 0.2 s to 5·10^5 s, 1.5 per decade (11 processes).
# The flat band of their summed Allan deviation (±6 %) is 1 s to 3·10^5 s.
FLICKER_TIME_CONSTANTS_S: Final = tuple(0.2 * 10 ** (k / 1.5) for k in range(11))
FLICKER_REFERENCE_TAU_S: Final = 100.0
TEMPCO_REFERENCE_C: Final = 25.0  # the datasheets specify TCO from 25 °C up


@dataclass(frozen=True, slots=True)
class ChipNoise:
    """A chip's realistic noise defaults.

    `white_scale` multiplies the datasheet's RMS noise for the oversampling set.
    """

    white_scale: float
    flicker_pa: float
    random_walk_pa_per_sqrt_s: float
    tempco_pa_per_k: float
    popcorn_per_hour: float
    popcorn_pa: float
    source: str


# The MS5611 fit: /work/shared/realdata/ms5611_gy63_bench_80hz.csv (GitHub
# tomisuarez2/BarometricAltimeterCalibration, commit 6521925b, "characterization
# data/static_bar_alt_data.csv", MIT; an MS5611 at OSR 4096, 80 Hz, 400 s at rest).
# Its overlapping Allan deviation from 0.0125 s to 100 s, fitted by least squares
# in log σ to σ² = W²·τ0/τ + F² + K²·τ/3: W = 1.347 Pa per 80 Hz sample (with
# the 1 Pa quantisation: 1.316 Pa before it, 1.097× the datasheet's 1.2 Pa),
# F = 0.065 Pa, K = 0.154 Pa/√s; every point within −21 %..+17 % of the fit.
# The recording is of an open sensor in a room: room-pressure changes are in
# it, so these are an upper bound on the chip's own slow noise, and the random
# walk is measured to 100 s only (the recording lasts 400 s). No popcorn step in
# it (no jump between consecutive 2 s means beyond 4σ): rate 0. The MS5611
# datasheet gives no temperature coefficient of offset and the recording's
# 0.25 K of self-heating cannot separate one from the room: 0.
_MS5611_FIT: Final = ChipNoise(
    white_scale=1.097,
    flicker_pa=0.065,
    random_walk_pa_per_sqrt_s=0.154,
    tempco_pa_per_k=0.0,
    popcorn_per_hour=0.0,
    popcorn_pa=1.0,
    source="fitted to ms5611_gy63_bench_80hz.csv (Allan deviation, 0.0125-100 s)",
)
# BMP388/BMP390: white from the datasheet's noise table (BST-BMP388-DS001,
# "pressure noise"), as the chip simulator has it. No BMP3 recording at rest was
# found, so flicker and random walk are the MS5611's scaled by the ratio of the
# two chips' lowest white noise (×32 IIR off 1.2 Pa, OSR 4096 1.2 Pa): ×1.
# Temperature coefficient of offset: BMP388 datasheet ±0.75 Pa/K (25…40 °C at
# 900 hPa), taken with a + sign; the BMP390's own figure (DS002) is not checked
# here and the BMP388's is used.
_BMP3_SCALED: Final = ChipNoise(
    white_scale=1.0,
    flicker_pa=_MS5611_FIT.flicker_pa,
    random_walk_pa_per_sqrt_s=_MS5611_FIT.random_walk_pa_per_sqrt_s,
    tempco_pa_per_k=0.75,
    popcorn_per_hour=0.0,
    popcorn_pa=1.0,
    source="datasheet white and TCO; flicker and random walk scaled from the MS5611 fit",
)
CHIP_NOISE: Final = {
    "ms5611": _MS5611_FIT,
    "ms5607": _MS5611_FIT,  # same family and package; no recording of its own
    "bmp388": _BMP3_SCALED,
    "bmp390": _BMP3_SCALED,
}
# Serial instruments (bridge, PTB330): white is their `noise_pa`; nothing slow
# unless the scenario gives it (no recording of either).
SERIAL_NOISE: Final = ChipNoise(
    white_scale=1.0,
    flicker_pa=0.0,
    random_walk_pa_per_sqrt_s=0.0,
    tempco_pa_per_k=0.0,
    popcorn_per_hour=0.0,
    popcorn_pa=1.0,
    source="none: slow terms only where the scenario gives them",
)


@dataclass(frozen=True, slots=True)
class SlowNoiseParameters:
    flicker_pa: float = 0.0
    random_walk_pa_per_sqrt_s: float = 0.0
    tempco_pa_per_k: float = 0.0
    popcorn_per_hour: float = 0.0
    popcorn_pa: float = 1.0

    @property
    def silent(self) -> bool:
        return (
            self.flicker_pa == 0.0
            and self.random_walk_pa_per_sqrt_s == 0.0
            and self.tempco_pa_per_k == 0.0
            and self.popcorn_per_hour == 0.0
        )


def ou_allan_variance(tau_s: float, time_constant_s: float, variance: float) -> float:
    """Allan variance at averaging time `tau_s` of a stationary first-order Gauss–Markov
    process of this time constant and variance: (2σ²T/τ)·[1 − T(3 − 4e^(−τ/T) + e^(−2τ/T))/(2τ)]."""
    x = tau_s / time_constant_s
    if x < 1e-4:  # the bracket cancels to x²/3 − x³/4: keep the digits
        return 2.0 * variance * x / 3.0 * (1.0 - 0.75 * x)
    bracket = 1.0 - (3.0 - 4.0 * math.exp(-x) + math.exp(-2.0 * x)) / (2.0 * x)
    return 2.0 * variance / x * bracket


def flicker_allan_deviation(tau_s: float, flicker_pa: float) -> float:
    """The Allan deviation at `tau_s` of the flicker this module makes for `flicker_pa`."""
    reference = _unit_flicker_avar(FLICKER_REFERENCE_TAU_S)
    return flicker_pa * math.sqrt(_unit_flicker_avar(tau_s) / reference)


def _unit_flicker_avar(tau_s: float) -> float:
    return sum(ou_allan_variance(tau_s, t, 1.0) for t in FLICKER_TIME_CONSTANTS_S)


class SlowNoise:
    """The offset a sensor's reading carries beyond white noise, advanced in time.

    `offset_pa(t_s, die_temperature_c)` is called at each conversion, in time order;
    a call for an earlier time than the last returns the state as it is (no step
    back in time).
    """

    def __init__(self, parameters: SlowNoiseParameters, rng: random.Random) -> None:
        self.parameters = parameters
        self._rng = rng
        component_variance = parameters.flicker_pa**2 / _unit_flicker_avar(FLICKER_REFERENCE_TAU_S)
        self._component_sigma_pa = math.sqrt(component_variance)
        self._flicker = (
            [rng.gauss(0.0, self._component_sigma_pa) for _ in FLICKER_TIME_CONSTANTS_S]
            if parameters.flicker_pa > 0
            else []
        )
        self._walk_pa = 0.0
        self._popcorn_up = False
        self._popcorn_rate_per_s = parameters.popcorn_per_hour / 3600.0
        self._next_toggle_s = (
            rng.expovariate(self._popcorn_rate_per_s) if self._popcorn_rate_per_s > 0 else math.inf
        )
        self._t_s: float | None = None
        self.toggles = 0  # popcorn steps so far

    def offset_pa(self, t_s: float, die_temperature_c: float) -> float:
        p = self.parameters
        if self._t_s is None:
            self._t_s = t_s
        elif t_s > self._t_s:
            self._step(t_s - self._t_s)
            self._t_s = t_s
        while self._next_toggle_s <= t_s:
            self._popcorn_up = not self._popcorn_up
            self.toggles += 1
            self._next_toggle_s += self._rng.expovariate(self._popcorn_rate_per_s)
        offset = sum(self._flicker) + self._walk_pa
        offset += p.tempco_pa_per_k * (die_temperature_c - TEMPCO_REFERENCE_C)
        if self._popcorn_up:
            offset += p.popcorn_pa
        return offset

    def _step(self, dt_s: float) -> None:
        gauss = self._rng.gauss
        sigma = self._component_sigma_pa
        flicker = self._flicker
        for k, time_constant_s in enumerate(FLICKER_TIME_CONSTANTS_S if flicker else ()):
            decay = math.exp(-dt_s / time_constant_s)
            flicker[k] = flicker[k] * decay + sigma * math.sqrt(1.0 - decay * decay) * gauss()
        walk = self.parameters.random_walk_pa_per_sqrt_s
        if walk > 0:
            self._walk_pa += walk * math.sqrt(dt_s) * gauss()


@dataclass(frozen=True, slots=True)
class SensorNoise:
    """One sensor's resolved noise: the white part (for the chip) and the slow part.

    `white` False: no noise at all. `white_pa` None: the datasheet's RMS noise for
    the oversampling set, times `white_scale`.
    """

    white: bool
    white_pa: float | None
    white_scale: float
    slow: SlowNoiseParameters

    @property
    def realistic(self) -> bool:
        return not self.slow.silent


WHITE_ONLY: Final = SensorNoise(True, None, 1.0, SlowNoiseParameters())
NO_NOISE: Final = SensorNoise(False, None, 1.0, SlowNoiseParameters())


def resolve_noise(
    defaults: ChipNoise,
    model: str,
    *,
    white_pa: float | None = None,
    flicker_pa: float | None = None,
    random_walk_pa_per_sqrt_s: float | None = None,
    tempco_pa_per_k: float | None = None,
    popcorn_per_hour: float | None = None,
    popcorn_pa: float | None = None,
) -> SensorNoise:
    """A chip's defaults for `model` ("white" or "realistic") with the keys given replacing them."""
    if model == "white":
        return SensorNoise(True, white_pa, 1.0, SlowNoiseParameters())

    def pick(given: float | None, default: float) -> float:
        return default if given is None else given

    slow = SlowNoiseParameters(
        flicker_pa=pick(flicker_pa, defaults.flicker_pa),
        random_walk_pa_per_sqrt_s=pick(
            random_walk_pa_per_sqrt_s, defaults.random_walk_pa_per_sqrt_s
        ),
        tempco_pa_per_k=pick(tempco_pa_per_k, defaults.tempco_pa_per_k),
        popcorn_per_hour=pick(popcorn_per_hour, defaults.popcorn_per_hour),
        popcorn_pa=pick(popcorn_pa, defaults.popcorn_pa),
    )
    return SensorNoise(True, white_pa, defaults.white_scale, slow)

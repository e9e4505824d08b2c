"""The simulator's noise parameters as the detector's noise model (`daemon.noise_model`).

The simulator (`sensor_noise`) specifies each term the way a datasheet or an
Allan plot would: white as an RMS per conversion, flicker as its flat Allan
deviation, the random walk by the growth of its Allan variance. The detector
describes the same noise by the third-difference variance of block means,
V₃(τ) = a/τ + b + c·τ, from which the variance of a least-squares slope over
W seconds is 12a/W³ + 8.690·b/W² + 9c/W. With the one-sided power spectral
density of the pressure S(f), a block mean of τ seconds has the transfer
function sin(πfτ)/(πfτ), a difference of consecutive blocks 2·sin(πfτ), so
(x = πfτ)

    Allan:  σ_A²(τ) = ½·∫S(f)·4sin²x·sin²x/x² df
    V₃:     V₃(τ)   = (1/20)·∫S(f)·64sin⁶x·sin²x/x² df

- **white**, σ per conversion at f conversions per second: a block mean of τ
  holds f·τ independent conversions, so V₃ = σ²/(f·τ): a = σ²/f. (The chip's
  IIR filter, when set, does not change it: its gain at frequencies far
  below the sample rate is 1, and slopes over seconds only see those.)
- **flicker**, S = h₋₁/f: σ_A² = 2h₋₁·∫sin⁴x/x³ dx = 2·ln2·h₋₁, and
  V₃ = 3.2·h₋₁·∫sin⁸x/x³ dx = 3.2·h₋₁·(9/8)·ln(4/3) (the integral from the
  cosine expansion of sin⁸, Σcₖk²·ln k / 2). With σ_A = `flicker_pa`:
  b = flicker_pa² · 1.8·ln(4/3)/ln 2 = 0.7471·flicker_pa². (Check: the
  slope variance 8.690·b/W² is then 9·h₋₁/W², the flicker term of
  `analysis.noise_model`, derived independently from the Allan variance.)
- **random walk**, w ← w + K·√Δt·N(0, 1): Var[w(t+s) − w(t)] = K²·s, so its
  diffusion is D = K² and V₃ = (2/15)·D·τ (`noise_model`): c = 2K²/15.

Neglected: the output quantisation (the BMP3's 0.016 Pa count adds 2·10⁻⁵ Pa²
per sample to 2.6 Pa²; the MS56xx's 1 Pa step adds 1/12 Pa², about 5 % of
its white variance), the temperature coefficient of offset (a slow
deterministic term that follows the die temperature, not noise) and popcorn
steps (off by default). The simulated flicker is a sum of 11 Gauss–Markov
processes whose Allan deviation is flat within 6 % from 1 s to 3·10⁵ s, so b
holds to about ±12 % in that band.
"""

from __future__ import annotations

import math
from typing import Final

from hullwatch.daemon.detection.noise_model import NoiseModel
from hullwatch.drivers.bmp3.variants import variant_by_name as bmp3_variant
from hullwatch.drivers.catalog import DRIVERS
from hullwatch.drivers.ms5611.variants import variant_by_name as ms56xx_variant

from .scenario import Scenario, SensorSpec, sensor_noise
from .sensor_noise import SlowNoiseParameters

# V₃ flicker level per unit of flicker Allan variance: 1.8·ln(4/3)/ln 2.
FLICKER_THIRD_DIFFERENCE_PER_ALLAN: Final = 1.8 * math.log(4.0 / 3.0) / math.log(2.0)
# V₃ = c·τ per unit of K² (K² = D): 2/15.
RANDOM_WALK_THIRD_DIFFERENCE_PER_K2: Final = 2.0 / 15.0


def third_difference_model(
    *, white_pa: float, rate_hz: float, slow: SlowNoiseParameters
) -> NoiseModel:
    """(a, b, c) of V₃(τ) = a/τ + b + c·τ for white noise of `white_pa` RMS per
    conversion at `rate_hz` conversions per second plus the simulator's flicker
    (`slow.flicker_pa`, its flat Allan deviation) and random walk
    (`slow.random_walk_pa_per_sqrt_s`, K of w ← w + K·√Δt·N(0, 1)); the module
    docstring derives each factor."""
    if rate_hz <= 0:
        raise ValueError(f"rate_hz must be positive, got {rate_hz}")
    return NoiseModel(
        white_pa2_s=white_pa * white_pa / rate_hz,
        flicker_pa2=FLICKER_THIRD_DIFFERENCE_PER_ALLAN * slow.flicker_pa**2,
        random_walk_pa2_per_s=RANDOM_WALK_THIRD_DIFFERENCE_PER_K2
        * slow.random_walk_pa_per_sqrt_s**2,
    )


def configured_noise_model(scenario: Scenario, sensor: SensorSpec) -> NoiseModel:
    """What a chip of `scenario` is configured to add, as the detector's model: its
    resolved noise (the scenario's `sensor_noise` or the sensor's own table), the
    white RMS the chip simulator draws (`white_pa`, or the datasheet's for the
    oversampling set times the chip's scale) at the sensor's rate."""
    noise = sensor_noise(sensor, scenario.sensor_noise)
    if not noise.white:
        white_pa = 0.0
    elif noise.white_pa is not None:
        white_pa = noise.white_pa
    elif DRIVERS[sensor.kind].family == "bmp3":
        oversampling = _pressure_oversampling(sensor)
        # The simulator draws the IIR-off figure per conversion, before its filter.
        white_pa = bmp3_variant(sensor.kind).pressure_noise_pa[oversampling] * noise.white_scale
    else:
        oversampling = _pressure_oversampling(sensor)
        white_pa = ms56xx_variant(sensor.kind).pressure_noise_rms_pa(oversampling)
        white_pa *= noise.white_scale
    return third_difference_model(white_pa=white_pa, rate_hz=sensor.rate_hz, slow=noise.slow)


def _pressure_oversampling(sensor: SensorSpec) -> int:
    """The scenario's, or the one the daemon sets when it leaves it out: the driver's
    default (drivers/catalog.py)."""
    if sensor.pressure_oversampling is not None:
        return sensor.pressure_oversampling
    default = DRIVERS[sensor.kind].tuning()["pressure_oversampling"]
    assert isinstance(default, int)  # every I2C driver's oversampling is a factor or ratio
    return default

"""What the detector assumes of a sensor's noise before it has measured any.

Fitted to a real recording (`hullwatch characterize`, docs/noise.md): an MS5611
on a GY-63 breakout lying still on a table, 80 Hz, OSR 4096, 400 s
(Suárez, Corazza, Pérez, Univ. Nacional de Cuyo; MIT licence; tests/data/SOURCES.md).
Its third-difference variance is white to 1.6 s (σ = 1.36 Pa per sample, the
1 Pa quantisation included) and a random walk above, D = 0.028 Pa²/s: the
room's own pressure and the sensor's drift, which one sensor cannot tell
apart. No flicker level was needed to fit it.

The prior counts for only a few terms per octave (`noise_estimate.PRIOR_TERMS`):
within a minute the short octaves are the sensor's own, and the long ones
follow as their terms accrue. It errs on the side of a noisier world: a
sealed chamber does not see the room's weather, and its sensor will teach
the detector a smaller random walk within the first hour.
"""

from __future__ import annotations

from .noise_model import NoiseModel

# White: σ² / f of the recording (1.36 Pa at 80 Hz). The white part of a window's
# standard error comes from its own residuals; this term only shapes the fit
# until the sensor's own short octaves take over.
DEFAULT_NOISE_PRIOR = NoiseModel.from_physical(
    white_pa=1.36, rate_hz=80.0, flicker_pa2=0.0, diffusion_pa2_per_s=0.03
)

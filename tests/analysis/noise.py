"""Synthetic noise of known power-law coefficients, for the analysis tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def white(rng: np.random.Generator, samples: int, sd_pa: float) -> FloatArray:
    return rng.normal(0.0, sd_pa, samples)


def random_walk(
    rng: np.random.Generator, samples: int, rate_hz: float, diffusion_pa2_per_s: float
) -> FloatArray:
    """Increments of variance D·Δt: R = D/3 in the Allan model."""
    steps = rng.normal(0.0, np.sqrt(diffusion_pa2_per_s / rate_hz), samples)
    return np.cumsum(steps)


def flicker(
    rng: np.random.Generator, samples: int, rate_hz: float, h_minus1_pa2: float
) -> FloatArray:
    """One-sided PSD h−1/f: white noise shaped in the frequency domain.

    Unit white samples have the one-sided PSD 2/f_s; scaling each Fourier
    amplitude by √(h−1·f_s/(2f)) gives h−1/f. The DC bin is zeroed.
    """
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, samples))
    frequencies_hz = np.fft.rfftfreq(samples, d=1.0 / rate_hz)
    gain = np.zeros_like(frequencies_hz)
    gain[1:] = np.sqrt(h_minus1_pa2 * rate_hz / (2.0 * frequencies_hz[1:]))
    return np.fft.irfft(spectrum * gain, n=samples)

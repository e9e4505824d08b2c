"""Plausibility checks between a sensor and the detector.

A faulty sensor's values must never reach the ring buffer as if they were
pressure. Two faults look like valid readings and so pass the driver:

- **stuck**: the chip keeps returning the same raw counts (a frozen ADC, a
  bridge replaying its last frame). A real sensor's noise (≥ 1 Pa RMS for the
  BMP3 and MS5611, against a resolution of ~0.02 Pa) makes two exactly equal
  consecutive readings rare and a run of them impossible, so a run of
  `stuck_samples` identical readings marks the sensor stuck. A stuck sensor
  would otherwise look like a perfectly sealed chamber.
- **spike**: one sample that lies far outside the range its two neighbours
  span (an EMI hit, a bit error the bus did not catch). Judged with a delay of
  one sample: a sample is held until the next one arrives. A steep but steady
  fall (a large leak) is never a spike: each sample lies between its
  neighbours. "Far" is `spike_threshold_pa`, or, once the sensor's own noise
  is known, `spike_noise_multiple` times its RMS noise if that is smaller: a
  BMP388 at OSR ×16 (1.6 Pa RMS, datasheet noise table) then rejects a 20 Pa
  spike that the fixed 50 Pa would let through into the fit.

The noise is measured from the accepted samples' second differences
d = x_n − (x_(n−1) + x_(n+1))/2, which a line or a slow curve does not move and
which for white noise of RMS σ has variance 1.5·σ². An exponential average
over ~NOISE_AVERAGE_SAMPLES samples follows a change of oversampling; until
NOISE_WARMUP_SAMPLES have been seen only the fixed threshold applies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hullwatch.drivers.sensor import Reading

from ..settings.config import SensorSettings

NOISE_AVERAGE_SAMPLES = 512
NOISE_WARMUP_SAMPLES = 64


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    SPIKE = "spike"
    STUCK = "stuck"


@dataclass(frozen=True, slots=True)
class GuardedSample:
    t_s: float
    reading: Reading


@dataclass(frozen=True, slots=True)
class GuardResult:
    """What leaves the guard for one sample that came in."""

    released: GuardedSample | None  # the sample held back last time, if it passed
    verdict: Verdict  # the verdict on `released` (or on the held one, when rejected)
    stuck: bool  # the sensor is stuck now


class SampleGuard:
    def __init__(
        self,
        *,
        spike_threshold_pa: float,
        stuck_samples: int,
        spike_noise_multiple: float = 0.0,
    ) -> None:
        if spike_threshold_pa <= 0 or stuck_samples < 2 or spike_noise_multiple < 0:
            raise ValueError(
                "spike_threshold_pa must be > 0, stuck_samples >= 2, spike_noise_multiple >= 0"
            )
        self.spike_threshold_pa = spike_threshold_pa
        self.stuck_samples = stuck_samples
        self.spike_noise_multiple = spike_noise_multiple  # 0: the fixed threshold only
        self._noise_variance_pa2 = 0.0
        self._noise_samples = 0
        self._previous: GuardedSample | None = None  # last accepted
        self._held: GuardedSample | None = None  # waiting for its successor
        self._last_reading: Reading | None = None
        self._identical_run = 0
        self.spikes_rejected = 0

    @property
    def stuck(self) -> bool:
        return self._identical_run >= self.stuck_samples

    @property
    def identical_run(self) -> int:
        """How many readings in a row were identical to the newest one."""
        return self._identical_run

    @property
    def noise_pa(self) -> float | None:
        """The sensor's RMS noise measured so far; None during the warm-up."""
        if self._noise_samples < NOISE_WARMUP_SAMPLES:
            return None
        return math.sqrt(self._noise_variance_pa2)

    @property
    def effective_spike_threshold_pa(self) -> float:
        noise_pa = self.noise_pa
        if self.spike_noise_multiple == 0 or noise_pa is None or noise_pa == 0:
            return self.spike_threshold_pa
        return min(self.spike_threshold_pa, self.spike_noise_multiple * noise_pa)

    def reset(self) -> None:
        """Forget history (after the sensor was re-initialised)."""
        self._previous = self._held = None
        self._noise_variance_pa2 = 0.0
        self._noise_samples = 0
        self._last_reading = None
        self._identical_run = 0

    def submit(self, t_s: float, reading: Reading) -> GuardResult:
        if reading == self._last_reading:
            self._identical_run += 1
        else:
            self._identical_run = 1
        self._last_reading = reading
        if self.stuck:
            # Nothing from a stuck sensor goes on, not even the sample held back.
            self._held = None
            return GuardResult(None, Verdict.STUCK, True)

        incoming = GuardedSample(t_s, reading)
        held, self._held = self._held, incoming
        if held is None:
            return GuardResult(None, Verdict.ACCEPTED, False)
        if self._previous is not None and self._is_spike(
            self._previous.reading.pressure_pa, held.reading.pressure_pa, reading.pressure_pa
        ):
            self.spikes_rejected += 1
            return GuardResult(None, Verdict.SPIKE, False)
        if self._previous is not None:
            self._learn_noise(
                self._previous.reading.pressure_pa, held.reading.pressure_pa, reading.pressure_pa
            )
        self._previous = held
        return GuardResult(held, Verdict.ACCEPTED, False)

    def _is_spike(self, before_pa: float, sample_pa: float, after_pa: float) -> bool:
        """The sample lies more than the threshold outside the range its neighbours span."""
        low, high = min(before_pa, after_pa), max(before_pa, after_pa)
        outside_pa = max(low - sample_pa, sample_pa - high, 0.0)
        return outside_pa > self.effective_spike_threshold_pa

    def _learn_noise(self, before_pa: float, sample_pa: float, after_pa: float) -> None:
        second_difference = sample_pa - 0.5 * (before_pa + after_pa)
        variance = second_difference * second_difference / 1.5
        self._noise_samples += 1
        weight = 1.0 / min(self._noise_samples, NOISE_AVERAGE_SAMPLES)
        self._noise_variance_pa2 += weight * (variance - self._noise_variance_pa2)


def guards_for(sensors: Iterable[SensorSettings]) -> dict[str, SampleGuard]:
    """One guard per configured sensor, by sensor id, as its settings ask (the daemon's
    pollers and `hullwatch replay` guard alike)."""
    return {
        sensor.id: SampleGuard(
            spike_threshold_pa=sensor.spike_threshold_pa,
            stuck_samples=sensor.stuck_samples,
            spike_noise_multiple=sensor.spike_noise_multiple,
        )
        for sensor in sensors
    }

"""What the detector accepted during an in-process (accelerated) run, for benchmarks that
replay the same stream through something else (a baseline detector, the lag estimator).

The tap wraps `ZoneDetector.add_sample` for the duration of a `with` block, in this
process only; the daemon itself is not changed and never imports this module.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hullwatch.daemon.detection.detector import ZoneDetector


@dataclass
class DetectorSamples:
    """Every sample any zone's detector accepted, in order (all sensors together)."""

    times_s: array[float] = field(default_factory=lambda: array("d"))
    pressures_pa: array[float] = field(default_factory=lambda: array("d"))
    temperatures_c: array[float] = field(default_factory=lambda: array("d"))

    def times_from_first(self) -> array[float]:
        first = self.times_s[0] if self.times_s else 0.0
        return array("d", (t - first for t in self.times_s))


@contextmanager
def detector_samples() -> Iterator[DetectorSamples]:
    record = DetectorSamples()
    original = ZoneDetector.add_sample

    def tap(
        self: ZoneDetector, sensor_id: str, t_s: float, pressure_pa: float, temperature_c: float
    ) -> None:
        record.times_s.append(t_s)
        record.pressures_pa.append(pressure_pa)
        record.temperatures_c.append(temperature_c)
        original(self, sensor_id, t_s, pressure_pa, temperature_c)

    ZoneDetector.add_sample = tap  # type: ignore[method-assign]
    try:
        yield record
    finally:
        ZoneDetector.add_sample = original  # type: ignore[method-assign]

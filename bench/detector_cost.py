"""Detector cost per sample and memory per window, for several window lengths.

    .venv/bin/python bench/detector_cost.py

The claim to check: the cost of one sample (add + assess) does not grow with
the window, and memory grows linearly with window × rate. Results go in
docs/detection.md.
"""

from __future__ import annotations

import random
import time
import tracemalloc

from hullwatch.daemon.detector import ZoneDetector, ZoneParameters
from hullwatch.daemon.levels import LevelPolicy

RATE_HZ = 25.0
SAMPLES = 200_000


def _detector(window_s: float) -> ZoneDetector:
    return ZoneDetector(
        ZoneParameters(
            zone_id="bench",
            volume_m3=916.0,
            floor_pa=70_000.0,
            window_s=window_s,
            min_window_fill=0.5,
            discharge_coefficient=0.65,
            ambient_pressure_pa=0.0,
            reference_temperature_k=293.15,
            policy=LevelPolicy(0.02, 1.0, 5.0, 0.5),
        )
    )


def _run(window_s: float) -> tuple[float, float]:
    rng = random.Random(1)
    noise = [rng.gauss(0.0, 2.3) for _ in range(4096)]
    detector = _detector(window_s)
    start = time.perf_counter()
    for k in range(SAMPLES):
        t = k / RATE_HZ
        detector.add_sample("s", t, 101_325.0 - 0.045 * t + noise[k & 4095], 22.0)
        detector.assess()
    per_sample_us = (time.perf_counter() - start) / SAMPLES * 1e6

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    held = _detector(window_s)
    for k in range(int(window_s * RATE_HZ) + 10):
        held.add_sample("s", k / RATE_HZ, 101_325.0, 22.0)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    kib = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / 1024
    return per_sample_us, kib


def main() -> None:
    print(f"{SAMPLES} samples at {RATE_HZ:g} Hz per window length (add_sample + assess)")
    print(f"{'window_s':>9} {'samples in window':>18} {'µs/sample':>10} {'KiB/window':>11}")
    for window_s in (10.0, 60.0, 300.0, 1800.0, 3600.0):
        per_sample_us, kib = _run(window_s)
        print(f"{window_s:>9g} {int(window_s * RATE_HZ):>18} {per_sample_us:>10.2f} {kib:>11.0f}")


if __name__ == "__main__":
    main()

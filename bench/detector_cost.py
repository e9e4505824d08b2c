"""Detector cost per sample and memory per window, for several window lengths.

    .venv/bin/python bench/detector_cost.py

The claim to check: the cost of one sample (add + assess) does not grow with
the window, and memory grows linearly with window × rate. Two configurations:
one window (`window_s` alone), and the issue-5 detector (a bank of windows
from 4 s to `window_s`, each √2 longer, a false-alarm budget and the thermal-lag
correction with its 600 s cubic), whose cost grows with the number of windows,
i.e. with log(window_s), not with the samples held. Results go in
docs/detection.md.
"""

from __future__ import annotations

import math
import random
import time
import tracemalloc

from hullwatch.daemon.detection.detector import ZoneDetector, ZoneParameters
from hullwatch.daemon.detection.levels import LevelPolicy

RATE_HZ = 25.0
SAMPLES = 50_000


def _detector(window_s: float, bank: bool = False) -> ZoneDetector:
    extra = (
        {
            "min_window_s": min(4.0, window_s),
            "false_alarm_interval_days": 365.0,
            "temperature_lag_s": 60.0,
            "temperature_window_s": 600.0,
        }
        if bank
        else {}
    )
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
            **extra,  # type: ignore[arg-type]
        )
    )


def _run(window_s: float, bank: bool) -> tuple[float, float]:
    rng = random.Random(1)
    noise = [rng.gauss(0.0, 2.3) for _ in range(4096)]
    detector = _detector(window_s, bank)
    start = time.process_time()
    for k in range(SAMPLES):
        t = k / RATE_HZ
        temperature_c = 22.0 + 0.3 * math.sin(2 * math.pi * t / 5520.0) + noise[k & 4095] / 1e3
        detector.add_sample("s", t, 101_325.0 - 0.045 * t + noise[k & 4095], temperature_c)
        detector.assess()
    per_sample_us = (time.process_time() - start) / SAMPLES * 1e6

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    held = _detector(window_s, bank)
    for k in range(int(max(window_s, 600.0) * RATE_HZ) + 10):
        held.add_sample("s", k / RATE_HZ, 101_325.0 + (k & 7), 22.0 + (k & 3) * 1e-3)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    kib = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / 1024
    return per_sample_us, kib


def main() -> None:
    print(f"{SAMPLES} samples at {RATE_HZ:g} Hz per window length (add_sample + assess)")
    print(
        f"{'detector':>9} {'window_s':>9} {'windows':>8} {'samples in window':>18} "
        f"{'µs/sample':>10} {'KiB':>8}"
    )
    for bank in (False, True):
        for window_s in (10.0, 60.0, 300.0, 1800.0, 3600.0):
            per_sample_us, kib = _run(window_s, bank)
            windows = len(_detector(window_s, bank).windows_s)
            print(
                f"{'bank' if bank else 'single':>9} {window_s:>9g} {windows:>8} "
                f"{int(window_s * RATE_HZ):>18} {per_sample_us:>10.2f} {kib:>8.0f}"
            )


if __name__ == "__main__":
    main()

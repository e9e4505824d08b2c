"""Detector cost per sample and memory per window, for several window lengths.

    .venv/bin/python bench/detector_cost.py

The claim to check: the cost of one sample (add + assess) does not grow with
the window, and memory grows linearly with window × rate. Two configurations:
one window (`window_s` alone), and the issue-5 detector (a bank of windows
from 4 s to `window_s`, each √2 longer, a false-alarm budget and the thermal-lag
correction with its 600 s cubic), whose cost grows with the number of windows,
i.e. with log(window_s), not with the samples held. Results go in
docs/detection.md.

Then issue 14's zone: two sensors at 50 Hz each, the bank from 1 to 120 s (15
windows), a 365-day budget and a 30 s lag, judged after every sample and at
the default decision interval (0.1 s with the screen between decisions,
`ZoneDetector.decision_due`), side by side in rounds that alternate.
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


def _two_sensor_zone(decision_interval_s: float) -> ZoneDetector:
    return ZoneDetector(
        ZoneParameters(
            zone_id="bench-two",
            volume_m3=0.05,
            floor_pa=70_000.0,
            window_s=120.0,
            min_window_s=1.0,
            min_window_fill=0.5,
            discharge_coefficient=0.62,
            ambient_pressure_pa=0.0,
            reference_temperature_k=293.15,
            false_alarm_interval_days=365.0,
            temperature_lag_s=30.0,
            policy=LevelPolicy(0.5, 5.0, 5.0, 0.5),
            decision_interval_s=decision_interval_s,
        )
    )


def _feed(detector: ZoneDetector, first: int, rounds: int, rate_hz: float) -> int:
    """`rounds` rounds of both sensors from round `first`; the decisions made."""
    rng = random.Random(first)
    decisions = 0
    for k in range(first, first + rounds):
        t_s = k / rate_hz
        temperature_c = 22.0 + 0.3 * math.sin(2 * math.pi * t_s / 1800.0)
        for sensor_id, offset_s in (("a", 0.0), ("b", 0.001)):
            detector.add_sample(
                sensor_id,
                t_s + offset_s,
                101_325.0 + rng.gauss(0.0, 1.5),
                temperature_c + rng.gauss(0.0, 0.003),
            )
            if detector.decision_due(sensor_id):
                detector.assess()
                decisions += 1
    return decisions


def two_sensor_rounds(rounds: int = 3, rate_hz: float = 50.0, seconds: float = 200.0) -> None:
    """Per sample (one sensor's), every-sample judgement against the decision rate."""
    intervals = (0.0, 0.1)
    detectors = {interval: _two_sensor_zone(interval) for interval in intervals}
    warm = int(150.0 * rate_hz)  # the 120 s window full, the cubic settled
    for detector in detectors.values():
        _feed(detector, 0, warm, rate_hz)
    per_sample: dict[float, list[float]] = {interval: [] for interval in intervals}
    shares: dict[float, float] = {}
    step = int(seconds * rate_hz)
    for r in range(rounds):
        order = intervals if r % 2 == 0 else tuple(reversed(intervals))
        for interval in order:
            first = warm + r * step
            start = time.process_time()
            decisions = _feed(detectors[interval], first, step, rate_hz)
            per_sample[interval].append((time.process_time() - start) / (2 * step) * 1e6)
            shares[interval] = decisions / (2 * step)
    print(
        f"\ntwo sensors at {rate_hz:g} Hz, 15 windows (1-120 s), {rounds} rounds of"
        f" {seconds:g} s each, µs per sample (add_sample + decision_due + assess when due)"
    )
    for interval in intervals:
        figures = ", ".join(f"{x:.1f}" for x in per_sample[interval])
        label = "every sample" if interval == 0 else f"every {interval:g} s + screen"
        print(f"  {label:22s} {figures}  (judged after {shares[interval]:.1%} of the samples)")
    ratios = [b / a for a, b in zip(per_sample[0.0], per_sample[0.1], strict=True)]
    print("  ratio per round: " + ", ".join(f"{r:.3f}" for r in ratios))


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
    two_sensor_rounds()


if __name__ == "__main__":
    main()

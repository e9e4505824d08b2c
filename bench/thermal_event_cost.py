"""What a thermal event costs the detector: µs per sample after a heater step, with
the event fit (`daemon/detection/thermal_events.py`) and without it, side by side.

    .venv/bin/python bench/thermal_event_cost.py [--rounds 2]

A sealed 400 m³ module at 25 Hz (the ISS-class bank 4–600 s, a 600 s
temperature cubic, a die lagging 50 s); the wall steps by −0.25 K at 1500 s and
the gas follows it in 10 s. The samples are made first; each run feeds the
same samples to a fresh detector (add_sample + assess) and times, in process
CPU time, the 600 s after the step and the 600 s before it. The two variants
alternate (ABAB…), and the ratio is taken within one round, so the load of a
shared machine cancels. Results go in docs/detection.md ("Cost").
"""

from __future__ import annotations

import argparse
import math
import time

from hullwatch.daemon.detection import thermal_events
from hullwatch.hil.heater_step import heater_step_samples, module_detector

RATE_HZ = 25.0
STEP_AT_S = 1500.0
STEP_K = -0.25
AFTER_S = 600.0


def _samples() -> list[tuple[float, float, float]]:
    return list(
        heater_step_samples(
            step_k=STEP_K,
            step_at_s=STEP_AT_S,
            duration_s=STEP_AT_S + AFTER_S,
            rate_hz=RATE_HZ,
            seed=1,
        )
    )


def _run(samples: list[tuple[float, float, float]], events: bool) -> tuple[float, float, int]:
    """(µs/sample in the 600 s before the step, in the 600 s after it, events found)."""
    saved = thermal_events.EVENT_SIGMA
    thermal_events.EVENT_SIGMA = saved if events else math.inf
    try:
        detector = module_detector()
        before_s = after_s = 0.0
        before_n = after_n = 0
        for t, pressure, temperature in samples:
            start = time.process_time()
            detector.add_sample("s", t, pressure, temperature)
            detector.assess()
            spent = time.process_time() - start
            if STEP_AT_S - AFTER_S <= t < STEP_AT_S:
                before_s += spent
                before_n += 1
            elif t >= STEP_AT_S:
                after_s += spent
                after_n += 1
        # A benchmark's look inside: how many events the fit holds at the end.
        thermal = detector._tracks["s"].thermal
        count = len(thermal.events.events_s) if thermal is not None else 0
    finally:
        thermal_events.EVENT_SIGMA = saved
    return 1e6 * before_s / before_n, 1e6 * after_s / after_n, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    samples = _samples()
    print("round | variant | µs/sample before the step | after | events | after/before")
    ratios = []
    for round_index in range(args.rounds):
        results = {}
        for events in (True, False):
            before, after, count = _run(samples, events)
            results[events] = after
            name = "events" if events else "cubic only"
            print(
                f"{round_index + 1} | {name} | {before:.1f} | {after:.1f} | {count} | "
                f"{after / before:.2f}"
            )
        ratios.append(results[True] / results[False])
    print("after the step, events / cubic only:", ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()

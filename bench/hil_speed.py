"""Speed of an accelerated hardware-in-the-loop run: a quiet chamber, one BMP388 at 25 Hz.

    .venv/bin/python bench/hil_speed.py              # 1 simulated hour
    .venv/bin/python bench/hil_speed.py --hours 24   # the full day of issue 4

A sealed 50 L chamber whose gas cycles ±0.3 K every 20 minutes, read by one
BMP388 (the daemon's default chip settings: OSR x8/x1, IIR off, 50 Hz ODR)
polled at 25 Hz, run through `hullwatch.hil.accelerated.run_accelerated`, the
same code as `hullwatch hil run --accelerated`. Prints simulated seconds per
wall second, wall (and CPU) microseconds per sample and the process's peak RSS.
The run is one thread: on a loaded machine wall time exceeds CPU time.
Results go in docs/hil-performance.md.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from hullwatch.hil.accelerated import AcceleratedStats, run_accelerated
from hullwatch.hil.scenario import Scenario

RATE_HZ = 25.0


def quiet_chamber(hours: float) -> Scenario:
    return Scenario.model_validate(
        {
            "seed": 4,
            "title": "bench: quiet thermal cycle, one BMP388 at 25 Hz",
            "duration_s": hours * 3600.0,
            "zones": [
                {
                    "id": "chamber",
                    "volume_m3": 0.05,
                    "pressure_pa": 101_325.0,
                    "temperature_k": 295.15,
                    "cycle_amplitude_k": 0.3,
                    "cycle_period_s": 1200.0,
                    "detector": {"window_s": 30.0},
                }
            ],
            "sensors": [{"kind": "bmp388", "zone": "chamber", "address": 0x77, "rate_hz": RATE_HZ}],
            "expect": [{"kind": "quiet", "zone": "chamber"}],
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours (default 1)")
    parser.add_argument("--progress", action="store_true", help="progress lines on stderr")
    parser.add_argument(
        "--transport",
        choices=["in-process", "socket"],
        default="in-process",
        help="how the daemon reaches the simulated bus (socket: as `hullwatch sim` serves it)",
    )
    args = parser.parse_args()

    scenario = quiet_chamber(args.hours)
    stats = AcceleratedStats()
    start = time.perf_counter()
    cpu_start = time.process_time()
    result = run_accelerated(
        scenario,
        name="bench-quiet-bmp388-25hz",
        progress=sys.stderr if args.progress else None,
        stats=stats,
        transport=args.transport,
    )
    wall_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    samples = stats.samples_taken
    print(
        f"simulated           {scenario.duration_s:.0f} s ({args.hours:g} h), {args.transport} bus"
    )
    print(f"wall time           {wall_s:.1f} s (CPU {cpu_s:.1f} s: a busy machine shows here)")
    print(f"speed               {scenario.duration_s / wall_s:.0f} simulated s per wall s")
    print(f"samples             {samples} ({samples / scenario.duration_s:.2f} per simulated s)")
    per_sample = 1e6 / max(samples, 1)
    print(f"cost                {wall_s * per_sample:.1f} µs of wall time per sample")
    print(f"                    {cpu_s * per_sample:.1f} µs of CPU time per sample")
    print(f"peak RSS            {peak_rss_mib:.0f} MiB")
    print(f"alerts              {len(result.alerts)} ({'PASS' if result.passed else 'FAIL'})")
    return 0 if result.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())

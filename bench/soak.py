"""Soak: memory and open files over a long run in simulated time (issue 6).

    .venv/bin/python bench/soak.py                # 24 simulated hours at 1 Hz
    .venv/bin/python bench/soak.py --hours 6      # shorter
    make soak                                     # the default run

The same run as tests/integration/test_soak.py (`hullwatch.hil.soak`), longer: one
BMP388 read over the simulator's Unix socket, the detector, and the real publisher
with a durable outbox in a temporary state directory, publishing to a private
Mosquitto, while a hole opens for 90 s every 15 minutes (0.06 mm, a warning, and
0.25 mm, critical, in turn). Takes a checkpoint every 5 simulated minutes (Python
heap traced by tracemalloc, RSS, open files, alerts), prints every sixth, and the
peak growth between the two halves after the first hour. Exit 1 if an alert was
not delivered or open files grew. Figures go in docs/delivery.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.soak import run_soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (24)")
    parser.add_argument("--rate-hz", type=float, default=1.0, help="sampling rate (1 Hz)")
    parser.add_argument("--log", type=Path, help="keep the daemon's JSON log here")
    args = parser.parse_args()

    warm_up_s = 3600.0
    with tempfile.TemporaryDirectory(prefix="hullwatch-soak-") as workdir:
        broker = MosquittoBroker(Path(workdir) / "broker")
        broker.start()
        try:
            result = run_soak(
                hours=args.hours,
                rate_hz=args.rate_hz,
                cycle_s=900.0,
                telemetry_interval_s=10.0,
                alert_update_interval_s=10.0,
                checkpoint_every_s=300.0,
                broker_address=(broker.host, broker.port),
                log_path=args.log,
                progress=sys.stderr,
            )
        finally:
            broker.stop()
    print(result.table(every=6))
    print(result.summary())
    grown_bytes, grown_fds = result.peak_growth(warm_up_s)
    earlier, later = result.halves(warm_up_s)
    rss_growth_kib = max(c.rss_kib for c in later) - max(c.rss_kib for c in earlier)
    print(
        f"after the first hour, later half vs earlier half: peak traced memory "
        f"{grown_bytes:+d} B, peak RSS {rss_growth_kib:+d} KiB, open files {grown_fds:+d}"
    )
    after = [c for c in result.checkpoints if c.t_s >= warm_up_s]
    quarter = max(1, len(after) // 4)
    peaks = [
        f"{max(c.traced_bytes for c in after[k : k + quarter]) / 1024:.1f}"
        for k in range(0, quarter * 4, quarter)
    ]
    print(f"peak traced memory in each quarter after the first hour (KiB): {', '.join(peaks)}")
    lost = result.alerts_raised - result.alerts_delivered
    return 0 if lost == 0 and grown_fds <= 0 else 1


if __name__ == "__main__":
    sys.exit(main())

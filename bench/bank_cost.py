"""`LineFitBank.add` against the per-window running sums it replaced (issue 14),
in one run: cost per sample and precision against exact arithmetic.

    .venv/bin/python bench/bank_cost.py [--rounds 3] [--skip-precision]

Cost: the 1-120 s bank (15 windows, √2 apart) at 50 Hz, 101 325 Pa with 1.5 Pa
of noise, after a 150 s warm-up; µs of CPU per sample for `add` alone, and for
`add` plus `refresh` every 5th sample plus `line_of` of the shortest window
every sample (the detector's pattern at a 0.1 s decision interval), rounds
alternating between the two banks.

Precision: on adversarial streams (10⁵ Pa with 0.01 Pa of noise a day into the
run, a steep fall, gaps, the 1 s window in a 3600 s buffer), the largest
relative error of every window's slope, residual variance and second-difference
noise variance against exact rational arithmetic over the window's samples,
and the slope's error in units of its standard error, for both banks.

The old bank is read from git (`OLD_BANK_REF`), as the reference to compare with.
"""

from __future__ import annotations

import argparse
import importlib
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hullwatch.analysis.exact_line import exact_line, relative_error
from hullwatch.daemon.detection.window_bank import LineFitBank, geometric_windows

ROOT = Path(__file__).resolve().parents[1]
# The last commit whose `LineFitBank` kept running sums per window.
OLD_BANK_REF = "8cee5c9"


def old_bank_class(ref: str = OLD_BANK_REF) -> Any:
    """`LineFitBank` as it was at `ref` (per-window running sums), loaded from git so the
    comparison needs no copy of it: its `window_bank` and `linear_fit` into a
    temporary package of their own."""
    package = Path(tempfile.mkdtemp(prefix="hullwatch-old-bank-")) / "old_bank"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module in ("window_bank", "linear_fit"):
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{ref}:daemon/detection/{module}.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (package / f"{module}.py").write_text(source)
    sys.path.insert(0, str(package.parent))
    return importlib.import_module("old_bank.window_bank").LineFitBank


def _cost_round(
    make: Callable[[], object], rate_hz: float, seconds: float, with_reads: bool
) -> float:
    bank = make()
    rng = random.Random(5)
    noise = [rng.gauss(0.0, 1.5) for _ in range(4096)]
    add = bank.add  # type: ignore[attr-defined]
    warm = int(150.0 * rate_hz)
    for k in range(warm):
        add(k / rate_hz, 101_325.0 + noise[k & 4095])
    samples = int(seconds * rate_hz)
    if with_reads:
        refresh, line_of = bank.refresh, bank.line_of  # type: ignore[attr-defined]
        start = time.process_time()
        for k in range(warm, warm + samples):
            add(k / rate_hz, 101_325.0 + noise[k & 4095])
            line_of(0)
            if k % 5 == 0:
                refresh()
    else:
        start = time.process_time()
        for k in range(warm, warm + samples):
            add(k / rate_hz, 101_325.0 + noise[k & 4095])
    return (time.process_time() - start) / samples * 1e6


def cost(rounds: int) -> None:
    windows = geometric_windows(1.0, 120.0, 2**0.5)
    old_bank = old_bank_class()
    banks: dict[str, Callable[[], object]] = {
        "old (per-window sums)": lambda: old_bank(windows),
        "new (shared totals)": lambda: LineFitBank(windows),
    }
    print(f"cost: {len(windows)} windows (1-120 s) at 50 Hz, 300 s per round, µs of CPU per sample")
    for with_reads in (False, True):
        label = "add + line_of(0) + refresh every 5th" if with_reads else "add alone"
        results: dict[str, list[float]] = {name: [] for name in banks}
        for r in range(rounds):
            names = list(banks) if r % 2 == 0 else list(reversed(banks))
            for name in names:
                results[name].append(_cost_round(banks[name], 50.0, 300.0, with_reads))
        print(f"  {label}")
        for name, values in results.items():
            print(f"    {name:24s} " + ", ".join(f"{v:6.2f}" for v in values))
        old, new = results.values()
        ratios = [n / o for o, n in zip(old, new, strict=True)]
        print("    ratio new/old per round: " + ", ".join(f"{r:.3f}" for r in ratios))


BANK_1_120 = geometric_windows(1.0, 120.0, 2**0.5)
STREAMS: dict[str, tuple[tuple[float, ...], float, float, bool]] = {
    # name: windows, fall Pa/s, seconds at 50 Hz, gaps
    "1-120 s, 10⁵ Pa ± 0.01 Pa, t ≈ 86 400 s": (
        geometric_windows(1.0, 120.0, 2**0.5),
        0.0,
        800.0,
        False,
    ),
    "1-120 s, falling 30 Pa/s, ± 0.01 Pa": (
        geometric_windows(1.0, 120.0, 2**0.5),
        -30.0,
        800.0,
        False,
    ),
    "1-120 s, gaps 0.3-500 s, ± 0.01 Pa": (
        geometric_windows(1.0, 120.0, 2**0.5),
        -0.5,
        800.0,
        True,
    ),
    "1, 60, 3600 s, 3.2 h, ± 0.01 Pa": ((1.0, 60.0, 3600.0), -0.01, 3 * 3600.0 + 600.0, False),
}


def precision() -> None:
    print()
    print("precision: largest error over every window and checkpoint, against exact arithmetic")
    print("| stream | bank | slope rel. | slope / stderr | residual variance rel. | noise rel. |")
    print("|---|---|---:|---:|---:|---:|")
    for name, (windows, fall_pa_s, seconds, gaps) in STREAMS.items():
        banks: dict[str, Any] = {
            "old": old_bank_class()(windows),
            "new": LineFitBank(windows),
        }
        worst = {bank: [0.0, 0.0, 0.0, 0.0] for bank in banks}
        rng = random.Random(21)
        t = 86_400.0
        held: list[tuple[float, float]] = []
        samples = int(seconds * 50.0)
        checks = set(range(0, samples, int(37.3 * 50.0)))
        for k in range(samples):
            t += 0.02
            if gaps and k % 2000 == 1999:
                t += (0.3, 30.0, 130.0, 500.0)[(k // 2000) % 4]
            value = 101_325.0 + fall_pa_s * (t - 86_400.0) + rng.gauss(0.0, 0.01)
            for bank in banks.values():
                bank.add(t, value)
            held.append((t, value))
            if k not in checks:
                continue
            del held[: len(held) - len(banks["new"])]
            for bank in banks.values():
                bank.refresh()
            for index, window_s in enumerate(windows):
                inside = [(ti, yi) for ti, yi in held if ti >= t - window_s]
                if len(inside) < 3:
                    continue
                slope, variance, noise = exact_line(inside)
                for label, bank in banks.items():
                    w = worst[label]
                    w[0] = max(w[0], relative_error(bank.slopes[index], slope))
                    w[1] = max(
                        w[1], abs(bank.slopes[index] - float(slope)) / bank.slope_stderrs[index]
                    )
                    w[2] = max(w[2], relative_error(bank.residual_variances[index], variance))
                    w[3] = max(w[3], relative_error(bank.noise_variances[index], noise))
        for label, w in worst.items():
            print(f"| {name} | {label} | {w[0]:.1e} | {w[1]:.1e} | {w[2]:.1e} | {w[3]:.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-precision", action="store_true")
    args = parser.parse_args()
    cost(args.rounds)
    if not args.skip_precision:
        precision()


if __name__ == "__main__":
    main()

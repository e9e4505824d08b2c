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

The old bank is kept here only, as the reference to compare with.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from array import array
from collections.abc import Callable, Sequence

from hullwatch.analysis.exact_line import exact_line, relative_error
from hullwatch.daemon.detection.linear_fit import LineFit, RunningSums
from hullwatch.daemon.detection.window_bank import LineFitBank, geometric_windows


class OldLineFitBank:
    """Sliding least-squares lines over each of `windows_s` (seconds, ascending)."""

    def __init__(self, windows_s: Sequence[float]) -> None:
        if not windows_s or any(w <= 0 for w in windows_s):
            raise ValueError("windows_s must be positive and not empty")
        if list(windows_s) != sorted(windows_s):
            raise ValueError("windows_s must be in ascending order")
        self.windows_s = tuple(windows_s)
        self._times: list[float] = []
        self._values: list[float] = []
        self._head = 0  # index of the oldest sample any window still holds
        self._starts = [0] * len(windows_s)  # per window: index of its oldest sample
        self._sums = [RunningSums() for _ in windows_s]
        # Filled by `refresh`, one entry per window (count 0: no line yet).
        self.slopes = [0.0] * len(windows_s)
        self.slope_stderrs = [0.0] * len(windows_s)
        self.intercepts_at_last = [0.0] * len(windows_s)
        self.counts = [0] * len(windows_s)
        self.spans_s = [0.0] * len(windows_s)
        # Σ(t − t̄)² (s²) and the residual variance (value²): a slope's standard
        # error under another window's noise estimate is √(variance/sxx).
        self.sxxs = [0.0] * len(windows_s)
        self.residual_variances = [0.0] * len(windows_s)
        # From second differences; 0 with fewer than three samples.
        self.noise_variances = [0.0] * len(windows_s)
        # _dd_totals[i]: Σ d_j² for 1 ≤ j ≤ i (d_0 = 0), one entry per sample but
        # the newest, whose d needs its successor.
        self._dd_totals = array("d")  # 8 bytes a sample, not a float object's 32

    def __len__(self) -> int:
        return len(self._times) - self._head

    def clear(self) -> None:
        self._times.clear()
        self._values.clear()
        del self._dd_totals[:]
        self._head = 0
        self._starts = [0] * len(self.windows_s)
        for sums in self._sums:
            sums.reset(0.0, 0.0)

    def add(self, t_s: float, value: float) -> None:
        times, values = self._times, self._values
        if len(times) > self._head and t_s <= times[-1]:
            raise ValueError(f"sample times must increase: {t_s} after {times[-1]}")
        if len(times) == self._head:
            for sums in self._sums:
                sums.reset(t_s, value)
        times.append(t_s)
        values.append(value)
        newest = len(times) - 1
        totals = self._dd_totals
        if newest >= 2:
            d = values[newest - 1] - 0.5 * (values[newest - 2] + value)
            totals.append(totals[-1] + d * d)
        elif newest == 1:
            totals.append(0.0)
        starts = self._starts
        windows_s = self.windows_s
        # The hot path: `RunningSums.add` written out per window (the same operations in
        # the same order, so the sums are bit for bit those of the plain loop).
        for k, sums in enumerate(self._sums):
            t0 = sums.t0
            y0 = sums.y0
            t = t_s - t0
            y = value - y0
            sums.n += 1
            sums.st += t
            sums.sy += y
            sums.stt += t * t
            sums.sty += t * y
            sums.syy += y * y
            horizon = t_s - windows_s[k]
            start = starts[k]
            if times[start] < horizon:
                evicted = 0
                while times[start] < horizon:
                    t = times[start] - t0
                    y = values[start] - y0
                    sums.n -= 1
                    sums.st -= t
                    sums.sy -= y
                    sums.stt -= t * t
                    sums.sty -= t * y
                    sums.syy -= y * y
                    evicted += 1
                    start += 1
                starts[k] = start
                sums.evictions += evicted
                held = newest - start + 1
                if sums.evictions >= (held if held > 64 else 64):
                    self._rebuild(k)
        self._head = starts[-1]
        if self._head > 4096 and self._head * 2 > len(times):
            self._compact()

    def fit(self, index: int) -> LineFit | None:
        """The line through window `index`; None with fewer than three samples."""
        sums = self._sums[index]
        if sums.n < 3:
            return None
        newest_t = self._times[-1]
        return sums.line(newest_t_s=newest_t, span_s=newest_t - self._times[self._starts[index]])

    def line_of(self, index: int) -> tuple[float, float, float, int] | None:
        """Window `index`'s (slope, residual variance, Σ(t − t̄)², sample count) now, by
        `refresh`'s arithmetic but for one window; None where it has no line."""
        sums = self._sums[index]
        n = sums.n
        if n < 3:
            return None
        mean_t = sums.st / n
        mean_y = sums.sy / n
        sxx = sums.stt - n * mean_t * mean_t
        if sxx <= 0.0:
            return None
        sxy = sums.sty - n * mean_t * mean_y
        slope = sxy / sxx
        residual_ss = sums.syy - n * mean_y * mean_y - slope * sxy
        return slope, (residual_ss if residual_ss > 0.0 else 0.0) / (n - 2), sxx, n

    def refresh(self) -> None:
        """Every window's line into `slopes`, `slope_stderrs`, `intercepts_at_last`,
        `counts`, `spans_s`, `sxxs` and `residual_variances`, with no object per
        window (the detector's hot path).

        The same arithmetic as `fit`, so the figures are bit for bit its own; a
        window with no line (fewer than three samples, no spread in time) gets
        count 0.
        """
        times = self._times
        if not times:
            self.counts = [0] * len(self.windows_s)
            return
        newest_t = times[-1]
        slopes, stderrs = self.slopes, self.slope_stderrs
        intercepts, counts, spans = self.intercepts_at_last, self.counts, self.spans_s
        sxxs, variances = self.sxxs, self.residual_variances
        noise, totals = self.noise_variances, self._dd_totals
        newest = len(times) - 1
        starts = self._starts
        sqrt = math.sqrt
        for k, sums in enumerate(self._sums):
            n = sums.n
            if n < 3:
                counts[k] = 0
                continue
            mean_t = sums.st / n
            mean_y = sums.sy / n
            sxx = sums.stt - n * mean_t * mean_t
            if sxx <= 0.0:
                counts[k] = 0
                continue
            sxy = sums.sty - n * mean_t * mean_y
            syy = sums.syy - n * mean_y * mean_y
            slope = sxy / sxx
            residual_ss = syy - slope * sxy
            if residual_ss < 0.0:
                residual_ss = 0.0
            residual_variance = residual_ss / (n - 2)
            slopes[k] = slope
            stderrs[k] = sqrt(residual_variance / sxx)
            sxxs[k] = sxx
            variances[k] = residual_variance
            # Interior samples start + 1 … newest − 1 (n ≥ 3, so at least one).
            start = starts[k]
            noise[k] = (totals[newest - 1] - totals[start]) / (1.5 * (newest - 1 - start))
            intercepts[k] = sums.y0 + mean_y + slope * (newest_t - sums.t0 - mean_t)
            counts[k] = n
            spans[k] = newest_t - times[starts[k]]

    def _rebuild(self, index: int) -> None:
        # `reset` then `RunningSums.add` per sample, with the sums in locals (same
        # operations in the same order, so the same result, a few times faster).
        sums = self._sums[index]
        start = self._starts[index]
        times, values = self._times, self._values
        t0, y0 = times[start], values[start]
        sums.reset(t0, y0)
        st = sy = stt = sty = syy = 0.0
        for i in range(start, len(times)):
            t = times[i] - t0
            y = values[i] - y0
            st += t
            sy += y
            stt += t * t
            sty += t * y
            syy += y * y
        sums.n = len(times) - start
        sums.st, sums.sy, sums.stt, sums.sty, sums.syy = st, sy, stt, sty, syy

    def _compact(self) -> None:
        """Drop the samples no window holds (amortised O(1): at most once per half buffer)."""
        head = self._head
        del self._times[:head]
        del self._values[:head]
        # Differences of the totals are all that is read: rebase them on the new
        # first sample so they do not grow without bound.
        # (A gap longer than the longest window leaves only the newest sample, which
        # has no entry yet.)
        totals = self._dd_totals
        base = totals[head] if head < len(totals) else 0.0
        self._dd_totals = array("d", [total - base for total in totals[head:]])
        self._starts = [start - head for start in self._starts]
        self._head = 0


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
    banks: dict[str, Callable[[], object]] = {
        "old (per-window sums)": lambda: OldLineFitBank(windows),
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
        banks: dict[str, LineFitBank | OldLineFitBank] = {
            "old": OldLineFitBank(windows),
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

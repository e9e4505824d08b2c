"""The online thermal-lag estimator on the reference cases: how close, how soon, how costly.

    .venv/bin/python bench/lag_estimate.py [--long] [CASE ...]

Each case runs through `run_accelerated` (the simulated chamber and BMP3 chip, the
daemon's real drivers, pollers, guard and detector); the samples the detector
accepts are recorded on the way (a tap on `ZoneDetector.add_sample`, in this
process only, as bench/detection.py does) and fed to `LagEstimator` afterwards.
The truth is the simulated sensor's `thermal_lag_s`.

The estimator's settings follow the case's thermal cycle (period P): derivative
window ≈ P/45, segment ≈ P/3, window ≈ 1.3·P (the ISS cycle: 120 s, 1800 s,
7200 s, the defaults). The reference cases run 8 to 37 simulated minutes, less
than one 92-minute cycle; `--long` adds two 3-hour runs built in a temporary
file from quiet-24h.toml (sealed) and zvezda-2020.toml (its leak opening at
1200 s).

Per case: the estimate at the end with its standard error, when it first came
within 10 % of the truth and from when it stayed there (simulated seconds from
the first sample), and the CPU time of a loop that only feeds the estimator
(`time.process_time`, µs per sample), and of one that also asks for the
estimate after every sample.
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

from hullwatch.daemon.detection.lag_estimate import LagEstimate, LagEstimator
from hullwatch.daemon.detection.physics import KELVIN_AT_0_C
from hullwatch.hil.accelerated import run_accelerated
from hullwatch.hil.sample_tap import detector_samples
from hullwatch.hil.scenario import Scenario, load_scenario

REFERENCE = Path(__file__).resolve().parents[1] / "hil" / "scenarios" / "reference"
CASES = ("iss-2018", "zvezda-2020", "testbed-10um")
LONG_S = 3.0 * 3600.0
LONG_CASES = {"quiet-3h": "quiet-24h", "zvezda-3h": "zvezda-2020"}
WITHIN = 0.10
COST_REPEATS = 3


@dataclass
class Stream:
    name: str
    lag_s: float
    period_s: float
    duration_s: float
    wall_s: float
    times: array[float]
    pressures: array[float]
    temperatures_k: array[float]


def _record(scenario: Scenario, name: str) -> Stream:
    with detector_samples() as samples:
        start = time.monotonic()
        run_accelerated(scenario, name=name, progress=None)
        wall_s = time.monotonic() - start
    return Stream(
        name=name,
        lag_s=scenario.sensors[0].thermal_lag_s,
        period_s=scenario.zones[0].cycle_period_s,
        duration_s=scenario.duration_s,
        wall_s=wall_s,
        times=samples.times_from_first(),
        pressures=samples.pressures_pa,
        temperatures_k=array("d", (t + KELVIN_AT_0_C for t in samples.temperatures_c)),
    )


def _long_scenario(name: str, source: str, directory: Path) -> Scenario:
    """`source` with its duration set to LONG_S, in a temporary file (not under hil/)."""
    text = (REFERENCE / f"{source}.toml").read_text()
    text, count = re.subn(r"(?m)^duration_s = .*$", f"duration_s = {LONG_S}", text)
    if count != 1:
        raise ValueError(f"{source}: expected one duration_s line")
    path = directory / f"{name}.toml"
    path.write_text(text)
    return load_scenario(path)


# Segment length as a fraction of the cycle: "cycle" is the default's (1800 s of
# the 92-minute cycle), "short" one that gives two segments in the reference
# cases' half hour, at a loss of precision (the segment lines take out more of x).
VARIANTS = {"cycle": 1.0 / 3.0, "short": 1.0 / 9.0}


def _settings(period_s: float, variant: str) -> dict[str, float]:
    return {
        "derivative_s": _round_to(period_s / 45.0, 10.0),
        "segment_s": _round_to(period_s * VARIANTS[variant], 100.0),
        "window_s": _round_to(1.3 * period_s, 600.0),
    }


def _round_to(value: float, step: float) -> float:
    return max(step, round(value / step) * step)


@dataclass(frozen=True)
class Outcome:
    final: LagEstimate | None
    first_within_s: float | None
    stays_within_s: float | None
    first_answer_s: float | None
    us_per_sample: float
    us_per_sample_asking: float


def _evaluate(stream: Stream, variant: str) -> Outcome:
    settings = _settings(stream.period_s, variant)
    estimator = LagEstimator(**settings)
    first_answer = first_within = stays_within = None
    last: LagEstimate | None = None
    for t_s, pressure, temperature in zip(
        stream.times, stream.pressures, stream.temperatures_k, strict=True
    ):
        estimator.add(t_s, pressure, temperature)
        estimate = estimator.estimate()
        if estimate is last:  # cached: no new row since
            continue
        last = estimate
        if estimate is None:  # no answer (again): not within
            stays_within = None
            continue
        if first_answer is None:
            first_answer = t_s
        within = abs(estimate.lag_s - stream.lag_s) <= WITHIN * stream.lag_s
        if within and first_within is None:
            first_within = t_s
        if within and stays_within is None:
            stays_within = t_s
        elif not within:
            stays_within = None
    return Outcome(
        final=estimator.estimate(),
        first_within_s=first_within,
        stays_within_s=stays_within,
        first_answer_s=first_answer,
        us_per_sample=_cost_us(stream, settings, ask=False),
        us_per_sample_asking=_cost_us(stream, settings, ask=True),
    )


def _cost_us(stream: Stream, settings: dict[str, float], *, ask: bool) -> float:
    """CPU µs per sample of a loop that only feeds the estimator (and, with `ask`,
    asks for its estimate after every sample, as a per-sample caller would); best
    of a few, with the garbage collector off as timeit has it."""
    samples = list(zip(stream.times, stream.pressures, stream.temperatures_k, strict=True))
    best = float("inf")
    for _ in range(COST_REPEATS):
        estimator = LagEstimator(**settings)
        add, estimate = estimator.add, estimator.estimate
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            if ask:
                for t_s, pressure, temperature in samples:
                    add(t_s, pressure, temperature)
                    estimate()
            else:
                for t_s, pressure, temperature in samples:
                    add(t_s, pressure, temperature)
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    # The loop itself (unpacking, the call) counts: it is what the detector pays.
    return best / len(samples) * 1e6


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _table(rows: list[tuple[Stream, str, Outcome]]) -> str:
    lines = [
        "| case | settings | samples s | true τ s | D/segment/window s | estimate s | stderr s "
        "| error | segments used/set aside | first answer s | first within 10 % s "
        "| within 10 % from s | µs/sample | µs/sample with estimate() | wall s |",
        "|" + "---|" * 15,
    ]
    for stream, variant, outcome in rows:
        settings = _settings(stream.period_s, variant)
        final = outcome.final
        error = None if final is None else final.lag_s / stream.lag_s - 1.0
        lines.append(
            f"| {stream.name} | {variant} | {stream.times[-1]:.0f} | {stream.lag_s:g} "
            f"| {settings['derivative_s']:g}/{settings['segment_s']:g}/{settings['window_s']:g} "
            f"| {_fmt(final.lag_s if final else None, '.2f')} "
            f"| {_fmt(final.stderr_s if final else None, '.2f')} | {_fmt(error, '+.1%')} "
            f"| {f'{final.segments_used}/{final.segments_set_aside}' if final else '—'} "
            f"| {_fmt(outcome.first_answer_s, '.0f')} | {_fmt(outcome.first_within_s, '.0f')} "
            f"| {_fmt(outcome.stays_within_s, '.0f')} | {outcome.us_per_sample:.2f} "
            f"| {outcome.us_per_sample_asking:.2f} "
            f"| {stream.wall_s:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--long", action="store_true", help="add the two 3-hour runs")
    args = parser.parse_args(argv)
    rows: list[tuple[Stream, str, Outcome]] = []
    with tempfile.TemporaryDirectory() as directory:
        scenarios = [(name, load_scenario(REFERENCE / f"{name}.toml")) for name in args.cases]
        if args.long:
            scenarios += [
                (name, _long_scenario(name, source, Path(directory)))
                for name, source in LONG_CASES.items()
            ]
        for name, scenario in scenarios:
            stream = _record(scenario, name)
            print(f"  {name}: {stream.wall_s:.0f} s wall", file=sys.stderr, flush=True)
            rows += [(stream, variant, _evaluate(stream, variant)) for variant in VARIANTS]
    print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

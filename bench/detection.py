"""Every reference case in accelerated mode: hullwatch against the statistical limit
and against a plain derivative-and-threshold baseline.

    .venv/bin/python bench/detection.py [--jobs 2] [--skip-24h] [CASE ...]
    make bench-detection

Each case (hil/scenarios/reference/*.toml) runs through `run_accelerated`: the
simulated chamber and chips, the daemon's real drivers, pollers, guards and
detector. The samples the detector accepted are recorded on the way (a tap on
`ZoneDetector.add_sample`, in the worker process only), and the baseline runs
over that same stream afterwards, so both see identical data.

**The least-squares limit.** A least-squares slope over T seconds of samples at
f Hz with white noise σ has a standard error σ·√(12/(f·T³)); a fall r reaches z
standard errors once T = (12·z²·σ²/(f·r²))^(1/3). z is the significance the
detector itself demands of a window of that length under its false-alarm budget
(the bank's threshold interpolated at T, solved by fixed-point iteration), so
limit and detector work at the same confidence. σ is measured from the recorded
pressures (second differences), f is the sensor's rate.

**The baselines.** The slope between two smoothed points: the mean of a
quantity over the last BASELINE_SMOOTH_S, minus the same mean BASELINE_WINDOW_S
earlier, divided by BASELINE_WINDOW_S, in two variants over the same samples:

- *plain*: raw pressure, as a pressure-trend alarm on a console sees it;
- *compensated*: P·T_ref/T with the reported (lagging) sensor temperature, as
  hullwatch did before issue 5: the same gas-law compensation without the lag
  correction, the window bank or the false-alarm budget.

Each one's threshold is set so that it stays quiet on the 24-hour case:
BASELINE_MARGIN times the largest fall it shows there (after BASELINE_SETTLE_S,
as the detector's own settling; in cases whose hole opens earlier, from half-way
to the opening).
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from array import array
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hullwatch.daemon.config import Config
from hullwatch.daemon.physics import KELVIN_AT_0_C, R_AIR_J_PER_KG_K, hole_diameter_m
from hullwatch.daemon.service import zone_parameters
from hullwatch.hil.accelerated import run_accelerated
from hullwatch.hil.hil_config import daemon_config
from hullwatch.hil.run_result import truth_at
from hullwatch.hil.sample_tap import detector_samples
from hullwatch.hil.scenario import Scenario, load_scenario

REFERENCE = Path(__file__).resolve().parents[1] / "hil" / "scenarios" / "reference"
ORDER = ("iss-2018", "zvezda-2020", "quiet-24h", "testbed-10um", "testbed-100um", "testbed-1mm")
QUIET_CASE = "quiet-24h"
BASELINE_WINDOW_S = 60.0
BASELINE_SMOOTH_S = 10.0
BASELINE_MARGIN = 1.2
BASELINE_SETTLE_S = 300.0


@dataclass
class CaseRun:
    name: str
    wall_s: float
    report: dict[str, Any]
    onset_s: float | None
    noise_pa: float
    rate_hz: float
    # The samples the detector accepted, for the baselines (times from the first one).
    times: array[float]
    pressures: array[float]
    temperatures: array[float]


@dataclass(frozen=True)
class BaselineRun:
    """One baseline over one case: its fall rate (Pa/s) over time, judged from `settle_s`."""

    t_s: array[float]
    fall: array[float]
    max_quiet: float  # largest fall before the onset (whole run when sealed)
    max_abs_quiet: float  # largest |slope| there: the threshold when nothing ever fell


class BaselineDetector:
    """Mean over the last `smooth_s`, against the same mean `window_s` earlier.

    With `compensated`, the quantity is P·T_ref/T and the slope is scaled back to the
    gas temperature; without, it is the raw pressure.
    """

    def __init__(
        self,
        *,
        window_s: float,
        smooth_s: float,
        compensated: bool,
        reference_temperature_k: float = 293.15,
    ):
        self.window_s = window_s
        self.smooth_s = smooth_s
        self.compensated = compensated
        self.reference_temperature_k = reference_temperature_k
        self._recent: deque[tuple[float, float]] = deque()
        self._recent_sum = 0.0
        self._history: deque[tuple[float, float]] = deque()  # (t, smoothed value)

    def add(self, t_s: float, pressure_pa: float, temperature_c: float) -> float | None:
        """The fall rate (Pa/s) now, once a smoothed point `window_s` old exists."""
        temperature_k = temperature_c + KELVIN_AT_0_C
        scale = temperature_k / self.reference_temperature_k if self.compensated else 1.0
        value = pressure_pa / scale
        self._recent.append((t_s, value))
        self._recent_sum += value
        while self._recent[0][0] < t_s - self.smooth_s:
            self._recent_sum -= self._recent.popleft()[1]
        smoothed = self._recent_sum / len(self._recent)
        self._history.append((t_s, smoothed))
        old = None
        while self._history and self._history[0][0] <= t_s - self.window_s:
            old = self._history.popleft()
        if old is not None:
            self._history.appendleft(old)
            slope = (smoothed - old[1]) / (t_s - old[0])
            return -slope * scale
        return None


BASELINES = {"plain": False, "compensated": True}


def _baseline_run(run: CaseRun, *, compensated: bool) -> BaselineRun:
    baseline = BaselineDetector(
        window_s=BASELINE_WINDOW_S, smooth_s=BASELINE_SMOOTH_S, compensated=compensated
    )
    onset = run.onset_s
    # Judged from BASELINE_SETTLE_S, or half-way to an earlier onset (the testbeds).
    settle_s = BASELINE_SETTLE_S if onset is None else min(BASELINE_SETTLE_S, onset / 2)
    t_out, fall_out = array("d"), array("d")
    quiet_max = quiet_max_abs = -math.inf
    for t_s, pressure_pa, temperature_c in zip(
        run.times, run.pressures, run.temperatures, strict=True
    ):
        fall = baseline.add(t_s, pressure_pa, temperature_c)
        if fall is None or t_s < settle_s:
            continue
        t_out.append(t_s)
        fall_out.append(fall)
        if onset is None or t_s < onset:
            quiet_max = max(quiet_max, fall)
            quiet_max_abs = max(quiet_max_abs, abs(fall))
    return BaselineRun(t_out, fall_out, quiet_max, quiet_max_abs)


def _run_case(name: str) -> CaseRun:
    path = REFERENCE / f"{name}.toml"
    long_case = load_scenario(path).duration_s > 3600
    scenario = load_scenario(path)
    with detector_samples() as samples:
        start = time.monotonic()
        # The long case reports its progress (every 600 simulated seconds) on stderr.
        result = run_accelerated(scenario, name=name, progress=sys.stderr if long_case else None)
        wall_s = time.monotonic() - start

    return CaseRun(
        name=name,
        wall_s=wall_s,
        report=result.report(),
        onset_s=_onset_s(scenario),
        noise_pa=_noise_pa(samples.pressures_pa),
        rate_hz=scenario.sensors[0].rate_hz,
        times=samples.times_from_first(),
        pressures=samples.pressures_pa,
        temperatures=samples.temperatures_c,
    )


def _onset_s(scenario: Scenario) -> float | None:
    opens = [event.at_s for event in scenario.events if event.action == "open_hole"]
    return min(opens) if opens else None


def _noise_pa(pressures: array[float]) -> float:
    """RMS noise from second differences (a line or a slow curve does not move them)."""
    if len(pressures) < 3:
        return math.nan
    total = 0.0
    count = 0
    for k in range(1, len(pressures) - 1):
        d = pressures[k] - 0.5 * (pressures[k - 1] + pressures[k + 1])
        total += d * d
        count += 1
    return math.sqrt(total / count / 1.5)


def _limit_s(
    scenario: Scenario, rate_pa_per_s: float, noise_pa: float, rate_hz: float
) -> tuple[float, float]:
    """(T, z): the least-squares time to reach the detector's own significance."""
    config = Config.model_validate(daemon_config(scenario, socket_path=Path("/tmp/unused.sock")))
    parameters = zone_parameters(config)[0]
    windows = parameters.windows_s
    sigmas = parameters.thresholds_sigma()
    z = sigmas[-1]
    limit = math.nan
    for _ in range(20):
        limit = (12.0 * z * z * noise_pa**2 / (rate_hz * rate_pa_per_s**2)) ** (1.0 / 3.0)
        z = _interpolate(windows, sigmas, limit)
    return limit, z


def _interpolate(windows: tuple[float, ...], values: tuple[float, ...], at: float) -> float:
    if at <= windows[0]:
        return values[0]
    for k in range(1, len(windows)):
        w0, w1, v0, v1 = windows[k - 1], windows[k], values[k - 1], values[k]
        if at <= w1:
            x = math.log(at / w0) / math.log(w1 / w0)
            return v0 + x * (v1 - v0)
    return values[-1]


def _verdict_figure(report: dict[str, Any], kind_text: str, key: str) -> Any:
    for verdict in report["verdicts"]:
        if kind_text in verdict["expectation"] and key in verdict["figures"]:
            return verdict["figures"][key]
    return None


def _false_alarms(report: dict[str, Any], onset_s: float | None) -> int:
    return sum(
        1
        for alert in report["alerts"]
        if alert["previous_level"] == "ok"
        and alert["level"] != "ok"
        and (onset_s is None or alert["t_s"] < onset_s)
    )


def _baseline_result(
    run: CaseRun, baseline: BaselineRun, threshold: float
) -> tuple[float | None, int, float | None]:
    """(time to detect after the onset, false alarms before it, fall at the end)."""
    alarms = 0
    above = False
    detect = None
    for t_s, fall in zip(baseline.t_s, baseline.fall, strict=True):
        now_above = fall >= threshold
        if now_above and not above:
            if run.onset_s is None or t_s < run.onset_s:
                alarms += 1
            elif detect is None:
                detect = t_s - run.onset_s
        above = now_above
    end_fall = baseline.fall[-1] if baseline.fall else None
    return detect, alarms, end_fall


def _fmt(value: float | None, spec: str, missing: str = "—") -> str:
    return (
        missing
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, spec)
    )


def _seconds(value: float | None) -> str:
    """A time with two significant decimals below 10 s (a fast leak's 0.12 s is not 0.1 s)."""
    if value is None or math.isnan(value):
        return "—"
    return format(value, ".2f" if value < 10.0 else ".1f")


@dataclass(frozen=True)
class _BaselineFigures:
    detect_s: float | None
    false_alarms: int
    rate_error: float | None
    hole_error: float | None


def _baseline_figures(
    run: CaseRun, scenario: Scenario, baseline: BaselineRun, threshold: float
) -> _BaselineFigures:
    """A baseline's verdict on one case; its estimate is its fall at the end of the run."""
    detect, alarms, end_fall = _baseline_result(run, baseline, threshold)
    rate_error = hole_error = None
    zone = scenario.zones[0]
    if run.onset_s is not None and end_fall is not None:
        end_truth = truth_at(scenario, zone.id, baseline.t_s[-1])
        end_pv = max(end_fall, 0.0) * zone.volume_m3
        rate_error = end_pv / end_truth.leak_rate_pa_m3_per_s - 1.0
        temperature_k = run.temperatures[-1] + KELVIN_AT_0_C
        diameter = hole_diameter_m(
            mass_flow_kg_per_s=end_pv / (R_AIR_J_PER_KG_K * temperature_k),
            upstream_pa=run.pressures[-1],
            downstream_pa=zone.ambient_pressure_pa,
            temperature_k=temperature_k,
            discharge_coefficient=zone.detector.discharge_coefficient,
        )
        if diameter is not None and end_truth.hole_diameter_mm > 0:
            hole_error = diameter * 1e3 / end_truth.hole_diameter_mm - 1.0
    return _BaselineFigures(detect, alarms, rate_error, hole_error)


def _tables(runs: dict[str, CaseRun]) -> str:
    baselines = {
        name: {case: _baseline_run(run, compensated=compensated) for case, run in runs.items()}
        for name, compensated in BASELINES.items()
    }
    quiet = runs.get(QUIET_CASE)
    quiet_runs = {
        name: [by_case[QUIET_CASE]] if quiet is not None else list(by_case.values())
        for name, by_case in baselines.items()
    }
    thresholds = {
        name: BASELINE_MARGIN
        * max(max(b.max_quiet, 0.0) or b.max_abs_quiet for b in quiet_runs[name])
        for name in baselines
    }
    hullwatch = [
        "| case | true dP/dt Pa/s | true hole mm | σ Pa | f Hz | z | LS limit s "
        "| hullwatch s | ratio | rate err | hole err | false alarms | wall s |",
        "|" + "---|" * 13,
    ]
    against = [
        "| case | hullwatch s | plain s | plain / hullwatch | plain rate, hole err "
        "| plain false alarms | compensated s | compensated / hullwatch "
        "| compensated rate, hole err | compensated false alarms |",
        "|" + "---|" * 10,
    ]
    for name in ORDER:
        run = runs.get(name)
        if run is None:
            continue
        scenario = load_scenario(REFERENCE / f"{name}.toml")
        zone = scenario.zones[0]
        if run.onset_s is not None:
            truth = truth_at(scenario, zone.id, run.onset_s + 1.0)
            true_rate = -truth.leak_rate_pa_m3_per_s / zone.volume_m3
            true_hole: float | None = truth.hole_diameter_mm
            limit, z = _limit_s(scenario, abs(true_rate), run.noise_pa, run.rate_hz)
        else:
            true_rate, true_hole, limit = 0.0, None, math.nan
            z = zone_parameters(
                Config.model_validate(daemon_config(scenario, socket_path=Path("/tmp/u.sock")))
            )[0].thresholds_sigma()[-1]
        detect = _verdict_figure(run.report, "after", "time_to_detect_s")
        rate_hw = _relative(
            run.report, "reported_leak_rate_pa_m3_per_s", "true_leak_rate_pa_m3_per_s"
        )
        hole_hw = _relative(run.report, "reported_hole_diameter_mm", "true_hole_diameter_mm")
        ratio = detect / limit if detect is not None and limit == limit else None
        hullwatch.append(
            f"| {name} | {true_rate:.4g} | {_fmt(true_hole, '.4g')} | {run.noise_pa:.2f} "
            f"| {run.rate_hz:g} | {z:.2f} | {_seconds(limit)} | {_seconds(detect)} "
            f"| {_fmt(ratio, '.2f')} | {_pct(rate_hw)} | {_pct(hole_hw)} "
            f"| {_false_alarms(run.report, run.onset_s)} | {run.wall_s:.0f} |"
        )
        cells = [name, _seconds(detect)]
        for baseline_name in BASELINES:
            figures = _baseline_figures(
                run, scenario, baselines[baseline_name][name], thresholds[baseline_name]
            )
            speedup = figures.detect_s / detect if detect and figures.detect_s is not None else None
            never_ratio = "∞" if detect is not None and run.onset_s is not None else "—"
            cells += [
                _seconds(figures.detect_s)
                if figures.detect_s is not None
                else ("never" if run.onset_s is not None else "—"),
                _fmt(speedup, ".1f", never_ratio),
                f"{_pct(figures.rate_error)}, {_pct(figures.hole_error)}",
                str(figures.false_alarms),
            ]
        against.append("| " + " | ".join(cells) + " |")
    notes = [
        f"baselines: slope between {BASELINE_SMOOTH_S:g} s means {BASELINE_WINDOW_S:g} s apart; "
        + "; ".join(f"{name} threshold {thresholds[name]:.4g} Pa/s" for name in BASELINES)
        + f" = {BASELINE_MARGIN:g} × its largest fall on {QUIET_CASE}"
        + ("" if quiet is not None else " (not run: largest fall before any onset instead)"),
    ]
    return "\n".join([*hullwatch, "", *against, "", *notes])


def _relative(report: dict[str, Any], reported_key: str, true_key: str) -> float | None:
    reported = _verdict_figure(report, "leak rate", reported_key)
    true = _verdict_figure(report, "leak rate", true_key)
    if reported is None or not true:
        return None
    return float(reported) / float(true) - 1.0


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(ORDER))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-24h", action="store_true", help=f"leave out {QUIET_CASE}")
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep each case's run here (pickle) and reuse the ones already there, "
        "so the table can be rebuilt without running the 24-hour case again",
    )
    args = parser.parse_args(argv)
    names = [name for name in args.cases if not (args.skip_24h and name == QUIET_CASE)]
    runs: dict[str, CaseRun] = {}
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
        for name in ORDER:
            cached = args.cache / f"{name}.pickle"
            if cached.exists() and (name in names or name == QUIET_CASE):
                with cached.open("rb") as handle:
                    runs[name] = pickle.load(handle)
        names = [name for name in names if name not in runs]
    # The longest first, so the pool's other worker runs the rest meanwhile.
    names.sort(key=lambda name: load_scenario(REFERENCE / f"{name}.toml").duration_s, reverse=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for run in pool.map(_run_case, names):
            print(f"  {run.name}: {run.wall_s:.0f} s wall", file=sys.stderr, flush=True)
            runs[run.name] = run
            if args.cache is not None:
                with (args.cache / f"{run.name}.pickle").open("wb") as handle:
                    pickle.dump(run, handle)
    print(_tables(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

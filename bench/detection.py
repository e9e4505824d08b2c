"""Every reference case in accelerated mode, with white and with realistic sensor noise:
hullwatch against the statistical limit and against a plain derivative-and-threshold baseline.

    .venv/bin/python bench/detection.py [--noise white|realistic|both] [--jobs 2]
        [--skip-24h] [--cache DIR] [CASE ...]
    make bench-detection

Each case runs from hil/scenarios/reference/ (`sensor_noise = "white"`) and from
hil/scenarios/reference-realistic/ (the same scenario with white, flicker,
random-walk and tempco noise, `hullwatch.hil.sensor_noise`) through
`run_accelerated`: the simulated chamber and chips, the daemon's real drivers,
pollers, guards and detector. The samples the detector accepted are recorded on
the way (a tap on `ZoneDetector.add_sample`, in the worker process only), and the
baseline runs over that same stream afterwards, so both see identical data.

**The least-squares limit.** A least-squares slope over T seconds scatters with
the variance of the noise model, V(T) = 12a/T³ + 8.690·b/T² + 9c/T
(`daemon/detection/noise_model.py`); a fall r reaches z standard errors once r ≥ z(T)·√V(T),
and the limit is the smallest such T (`analysis/detection_limit.py`; for white
noise alone it is the closed form (12·z²·σ²/(f·r²))^(1/3)). z(T) is the
significance the detector itself demands of a window of that length under its
false-alarm budget (the bank's threshold interpolated at T), so limit and
detector work at the same confidence. Two limits, from two noise models:

- *configured*: (a, b, c) converted from the scenario's simulator noise
  (`hil/noise_coefficients.py`): the noise the chip really adds;
- *measured*: (a, b, c) fitted by `NoiseEstimate` (the detector's own
  estimator, without its prior) to the recorded pressures of the quiet part
  before the hole opens (the whole run when sealed): what a user who recorded
  the sensor at rest would compute. The third differences cancel what is
  quadratic in time, so the thermal cycle hardly enters.

The detector's time is divided by each (two ratio columns).

**The baselines.** The slope between two smoothed points: the mean of a
quantity over the last BASELINE_SMOOTH_S, minus the same mean BASELINE_WINDOW_S
earlier, divided by BASELINE_WINDOW_S, in two variants over the same samples:

- *plain*: raw pressure, as a pressure-trend alarm on a console sees it;
- *compensated*: P·T_ref/T with the reported (lagging) sensor temperature, as
  hullwatch did before issue 5: the same gas-law compensation without the lag
  correction, the window bank or the false-alarm budget.

Each one's threshold is set so that it stays quiet on the 24-hour case of the
same noise: BASELINE_MARGIN times the largest fall it shows there (after
BASELINE_SETTLE_S, as the detector's own settling; in cases whose hole opens
earlier, from half-way to the opening).
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hullwatch.analysis.detection_limit import interpolated_thresholds, least_squares_limit_s
from hullwatch.daemon.detection.noise_estimate import NoiseEstimate
from hullwatch.daemon.detection.noise_model import NoiseModel
from hullwatch.daemon.detection.physics import KELVIN_AT_0_C, R_AIR_J_PER_KG_K, hole_diameter_m
from hullwatch.daemon.service.service import zone_parameters
from hullwatch.daemon.settings.config import Config
from hullwatch.hil.accelerated import run_accelerated
from hullwatch.hil.hil_config import daemon_config
from hullwatch.hil.noise_coefficients import configured_noise_model
from hullwatch.hil.run_result import truth_at
from hullwatch.hil.sample_tap import detector_samples
from hullwatch.hil.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "hil" / "scenarios"
NOISE_DIRECTORIES = {
    "white": SCENARIOS / "reference",
    "realistic": SCENARIOS / "reference-realistic",
}
NOISES = tuple(NOISE_DIRECTORIES)
ORDER = ("iss-2018", "zvezda-2020", "quiet-24h", "testbed-10um", "testbed-100um", "testbed-1mm")
QUIET_CASE = "quiet-24h"
BASELINE_WINDOW_S = 60.0
BASELINE_SMOOTH_S = 10.0
BASELINE_MARGIN = 1.2
BASELINE_SETTLE_S = 300.0
# Alerts before the onset listed under the tables, per case (the first ones).
LISTED_FALSE_ALARMS = 3


@dataclass
class CaseRun:
    name: str
    noise: str  # "white" or "realistic": the scenario directory it ran from
    wall_s: float
    report: dict[str, Any]
    onset_s: float | None
    noise_pa: float
    rate_hz: float
    # The noise fitted to the recorded pressures before the onset (None: too short).
    measured_model: NoiseModel | None
    quiet_s: float  # how much of the recording that fit saw
    # The samples the detector accepted, for the baselines (times from the first one).
    times: array[float]
    pressures: array[float]
    temperatures: array[float]


def scenario_path(noise: str, name: str) -> Path:
    return NOISE_DIRECTORIES[noise] / f"{name}.toml"


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


def _run_case(job: tuple[str, str]) -> CaseRun:
    noise, name = job
    scenario = load_scenario(scenario_path(noise, name))
    long_case = scenario.duration_s > 3600
    with detector_samples() as samples:
        start = time.monotonic()
        # The long case reports its progress (every 600 simulated seconds) on stderr.
        result = run_accelerated(scenario, name=name, progress=sys.stderr if long_case else None)
        wall_s = time.monotonic() - start

    onset_s = _onset_s(scenario)
    times = samples.times_from_first()
    measured, quiet_s = _measured_model(times, samples.pressures_pa, onset_s)
    return CaseRun(
        name=name,
        noise=noise,
        wall_s=wall_s,
        report=result.report(),
        onset_s=onset_s,
        noise_pa=_noise_pa(samples.pressures_pa),
        rate_hz=scenario.sensors[0].rate_hz,
        measured_model=measured,
        quiet_s=quiet_s,
        times=times,
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


def _measured_model(
    times: array[float], pressures: array[float], onset_s: float | None
) -> tuple[NoiseModel | None, float]:
    """The power-law noise of the recorded pressures before `onset_s` (all of them when
    sealed), fitted by the detector's own estimator with no prior: (model, seconds seen)."""
    until_s = math.inf if onset_s is None else onset_s
    quiet_s = min(until_s, times[-1] if times else 0.0)
    estimate = NoiseEstimate(prior=None, max_scale_s=max(quiet_s, 1.0))
    last_s = 0.0
    for t_s, pressure_pa in zip(times, pressures, strict=True):
        if t_s >= until_s:
            break
        estimate.add(t_s, pressure_pa)
        last_s = t_s
    return estimate.model(last_s + 1.0), quiet_s


def _thresholds(scenario: Scenario) -> tuple[Callable[[float], float], float]:
    """z(T), the detector's threshold for a window of T as its bank sets them, and the
    bank's longest window."""
    config = Config.model_validate(daemon_config(scenario, socket_path=Path("/tmp/unused.sock")))
    parameters = zone_parameters(config)[0]
    windows = parameters.windows_s
    return interpolated_thresholds(windows, parameters.thresholds_sigma()), max(windows)


def _verdict_figure(report: dict[str, Any], kind_text: str, key: str) -> Any:
    for verdict in report["verdicts"]:
        if kind_text in verdict["expectation"] and key in verdict["figures"]:
            return verdict["figures"][key]
    return None


def _alerts_before(report: dict[str, Any], onset_s: float | None) -> list[dict[str, Any]]:
    """Raises from ok before the onset (the whole run when sealed): false alarms."""
    return [
        alert
        for alert in report["alerts"]
        if alert["previous_level"] == "ok"
        and alert["level"] != "ok"
        and (onset_s is None or alert["t_s"] < onset_s)
    ]


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
    if math.isinf(value):
        return "∞"
    if value >= 10_000.0:
        return f"{value:.3g}"
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


def _coefficients(model: NoiseModel | None) -> str:
    if model is None:
        return "—"
    return f"{model.white_pa2_s:.3g}, {model.flicker_pa2:.3g}, {model.random_walk_pa2_per_s:.3g}"


def _ordered(runs: dict[tuple[str, str], CaseRun]) -> list[CaseRun]:
    return [runs[(noise, name)] for name in ORDER for noise in NOISES if (noise, name) in runs]


def _baseline_thresholds(
    runs: dict[tuple[str, str], CaseRun], baselines: dict[str, dict[tuple[str, str], BaselineRun]]
) -> tuple[dict[tuple[str, str], float], list[str]]:
    """Per (baseline, noise): BASELINE_MARGIN × the largest fall on that noise's 24-hour
    case, or before any onset when that case was not run; and a note for each."""
    thresholds: dict[tuple[str, str], float] = {}
    notes = []
    for noise in NOISES:
        keys = [key for key in runs if key[0] == noise]
        if not keys:
            continue
        quiet_key = (noise, QUIET_CASE)
        for name, by_case in baselines.items():
            chosen = [by_case[quiet_key]] if quiet_key in runs else [by_case[k] for k in keys]
            largest = max(max(b.max_quiet, 0.0) or b.max_abs_quiet for b in chosen)
            thresholds[(name, noise)] = BASELINE_MARGIN * largest
        notes.append(
            f"{noise} noise: "
            + "; ".join(
                f"{name} threshold {thresholds[(name, noise)]:.4g} Pa/s" for name in BASELINES
            )
            + f" = {BASELINE_MARGIN:g} × its largest fall on {QUIET_CASE}"
            + ("" if quiet_key in runs else " (not run: largest fall before any onset instead)")
        )
    return thresholds, notes


def _tables(runs: dict[tuple[str, str], CaseRun]) -> str:
    baselines = {
        name: {key: _baseline_run(run, compensated=compensated) for key, run in runs.items()}
        for name, compensated in BASELINES.items()
    }
    thresholds, threshold_notes = _baseline_thresholds(runs, baselines)
    hullwatch = [
        "| case | noise | true dP/dt Pa/s | true hole mm | σ Pa | z | limit s (configured noise) "
        "| limit s (measured noise) | hullwatch s | ratio (configured) | ratio (measured) "
        "| rate err | hole err | false alarms | expectations met | wall s |",
        "|" + "---|" * 16,
    ]
    noise_table = [
        "| case | noise | f Hz | configured a Pa²·s, b Pa², c Pa²/s | measured a, b, c "
        "| measured over s | √V(60 s) configured, measured Pa/s "
        "| longest window s | smallest fall it can call, configured, measured Pa/s |",
        "|" + "---|" * 9,
    ]
    against = [
        "| case | noise | hullwatch s | plain s | plain / hullwatch | plain rate, hole err "
        "| plain false alarms | compensated s | compensated / hullwatch "
        "| compensated rate, hole err | compensated false alarms |",
        "|" + "---|" * 11,
    ]
    findings: list[str] = []
    for run in _ordered(runs):
        scenario = load_scenario(scenario_path(run.noise, run.name))
        zone = scenario.zones[0]
        threshold_sigma, longest_s = _thresholds(scenario)
        configured = configured_noise_model(scenario, scenario.sensors[0])
        measured = run.measured_model
        limit_configured = limit_measured = math.nan
        true_hole: float | None = None
        true_rate = 0.0
        z = threshold_sigma(math.inf)
        if run.onset_s is not None:
            truth = truth_at(scenario, zone.id, run.onset_s + 1.0)
            true_rate = -truth.leak_rate_pa_m3_per_s / zone.volume_m3
            true_hole = truth.hole_diameter_mm
            limit_configured = least_squares_limit_s(true_rate, configured, threshold_sigma)
            z = threshold_sigma(limit_configured)
            if measured is not None:
                limit_measured = least_squares_limit_s(true_rate, measured, threshold_sigma)
        detect = _verdict_figure(run.report, "after", "time_to_detect_s")
        rate_hw = _relative(
            run.report, "reported_leak_rate_pa_m3_per_s", "true_leak_rate_pa_m3_per_s"
        )
        hole_hw = _relative(run.report, "reported_hole_diameter_mm", "true_hole_diameter_mm")
        false_alarms = _alerts_before(run.report, run.onset_s)
        verdicts = run.report["verdicts"]
        met = sum(1 for verdict in verdicts if verdict["met"])
        hullwatch.append(
            f"| {run.name} | {run.noise} | {true_rate:.4g} | {_fmt(true_hole, '.4g')} "
            f"| {run.noise_pa:.2f} | {z:.2f} | {_seconds(limit_configured)} "
            f"| {_seconds(limit_measured)} | {_seconds(detect)} "
            f"| {_ratio(detect, limit_configured)} | {_ratio(detect, limit_measured)} "
            f"| {_pct(rate_hw)} | {_pct(hole_hw)} | {len(false_alarms)} "
            f"| {met}/{len(verdicts)} | {run.wall_s:.0f} |"
        )
        sd_60 = [
            _fmt(math.sqrt(model.slope_variance(60.0)), ".3g") if model is not None else "—"
            for model in (configured, measured)
        ]
        smallest = [
            _fmt(threshold_sigma(longest_s) * math.sqrt(model.slope_variance(longest_s)), ".3g")
            if model is not None
            else "—"
            for model in (configured, measured)
        ]
        noise_table.append(
            f"| {run.name} | {run.noise} | {run.rate_hz:g} | {_coefficients(configured)} "
            f"| {_coefficients(measured)} | {run.quiet_s:.0f} | {sd_60[0]}, {sd_60[1]} "
            f"| {longest_s:g} | {smallest[0]}, {smallest[1]} |"
        )
        cells = [run.name, run.noise, _seconds(detect)]
        for baseline_name in BASELINES:
            figures = _baseline_figures(
                run,
                scenario,
                baselines[baseline_name][(run.noise, run.name)],
                thresholds[(baseline_name, run.noise)],
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
        findings += _findings(run, false_alarms)
    notes = [
        "a, b, c: V₃(τ) = a/τ + b + c·τ (daemon/detection/noise_model.py); limits: the smallest T "
        "with |dP/dt| ≥ z(T)·√V(T) (analysis/detection_limit.py), z the detector's threshold "
        "for a window of T (shown at the configured limit); ratio = hullwatch / limit.",
        f"baselines: slope between {BASELINE_SMOOTH_S:g} s means {BASELINE_WINDOW_S:g} s apart",
        *threshold_notes,
    ]
    if findings:
        notes += ["", "Expectations missed and alerts before the onset:", *findings]
    return "\n".join([*hullwatch, "", *noise_table, "", *against, "", *notes])


def _findings(run: CaseRun, false_alarms: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"- {run.name} ({run.noise}): MISSED {verdict['expectation']}: {verdict['detail']}"
        for verdict in run.report["verdicts"]
        if not verdict["met"]
    ]
    for alert in false_alarms[:LISTED_FALSE_ALARMS]:
        lines.append(
            f"- {run.name} ({run.noise}): {alert['level']} at {alert['t_s']:.1f} s, before the "
            f"onset: {alert.get('reason', '')}"
        )
    if len(false_alarms) > LISTED_FALSE_ALARMS:
        lines.append(
            f"- {run.name} ({run.noise}): … {len(false_alarms) - LISTED_FALSE_ALARMS} more "
            "raised from ok before the onset"
        )
    return lines


def _ratio(detect_s: float | None, limit_s: float) -> str:
    if detect_s is None or math.isnan(limit_s):
        return "—"
    return _fmt(detect_s / limit_s, ".2f") if math.isfinite(limit_s) else "0"


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
    parser.add_argument(
        "--noise",
        choices=[*NOISES, "both"],
        default="both",
        help="run the cases with white noise (hil/scenarios/reference), with realistic "
        "noise (hil/scenarios/reference-realistic) or both (default)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-24h", action="store_true", help=f"leave out {QUIET_CASE}")
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep each case's run here (pickle) and reuse the ones already there, "
        "so the table can be rebuilt without running the 24-hour case again",
    )
    args = parser.parse_args(argv)
    noises = NOISES if args.noise == "both" else (args.noise,)
    names = [name for name in args.cases if not (args.skip_24h and name == QUIET_CASE)]
    jobs = [(noise, name) for noise in noises for name in names]
    runs: dict[tuple[str, str], CaseRun] = {}
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
        for noise in noises:
            for name in ORDER:
                cached = args.cache / f"{noise}-{name}.pickle"
                if cached.exists() and (name in names or name == QUIET_CASE):
                    with cached.open("rb") as handle:
                        runs[(noise, name)] = pickle.load(handle)
        jobs = [job for job in jobs if job not in runs]
    # The longest first, so the pool's other worker runs the rest meanwhile.
    jobs.sort(key=lambda job: load_scenario(scenario_path(*job)).duration_s, reverse=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for run in pool.map(_run_case, jobs):
            print(
                f"  {run.name} ({run.noise}): {run.wall_s:.0f} s wall", file=sys.stderr, flush=True
            )
            runs[(run.noise, run.name)] = run
            if args.cache is not None:
                with (args.cache / f"{run.noise}-{run.name}.pickle").open("wb") as handle:
                    pickle.dump(run, handle)
    print(_tables(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

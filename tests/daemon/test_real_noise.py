"""The detector on a real sensor's noise, and its level rules (issue 12 §2, §5).

The excerpt is 150 s of an MS5611 lying still on a table at 80 Hz
(tests/data/SOURCES.md): white to about 1.6 s, a random walk above.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import numpy as np
import pytest

from hullwatch.analysis.at_rest import NEVER_PA_PER_S, at_rest_bank, at_rest_zone
from hullwatch.daemon.detection.detector import ZoneDetector
from hullwatch.daemon.detection.levels import Level

EXCERPT = Path(__file__).parent.parent / "data" / "ms5611_gy63_bench_excerpt_char.csv"


def _excerpt() -> tuple[list[float], list[float]]:
    with EXCERPT.open() as handle:
        rows = list(csv.DictReader(handle))
    return [float(r["t_s"]) for r in rows], [float(r["pressure_pa"]) for r in rows]


def _zone(*, noise: str = "learned", **overrides: float) -> ZoneDetector:
    return at_rest_zone(
        noise=noise,
        warning_pa_per_s=overrides.pop("warning", NEVER_PA_PER_S),
        critical_pa_per_s=overrides.pop("critical", 2 * NEVER_PA_PER_S),
        **overrides,
    )


def _spread_and_median_stderr(window_s: float, noise: str) -> tuple[float, float]:
    times, pressures = _excerpt()
    detector = _zone(noise=noise, window_s=window_s)
    stderrs = []
    for t, p in zip(times, pressures, strict=True):
        detector.add_sample("ms5611", t, p, 20.0)
        assessment = detector.assess()
        if assessment is not None and assessment.window_fill >= 0.95:
            stderrs.append(assessment.dpdt_stderr_pa_per_s)
    t = np.array(times)
    y = np.array(pressures)
    slopes = []
    start = t[0]
    while start + window_s <= t[-1]:
        inside = (t >= start) & (t < start + window_s)
        slopes.append(np.polyfit(t[inside], y[inside], 1)[0])
        start += window_s
    return float(np.std(slopes, ddof=1)), float(np.median(stderrs))


@pytest.mark.parametrize("window_s", [4.0, 8.0, 16.0])
def test_reported_errors_match_the_real_spread_of_slopes(window_s: float) -> None:
    spread, stderr = _spread_and_median_stderr(window_s, "learned")
    assert 0.67 <= spread / stderr <= 1.5


def test_the_white_noise_error_is_several_times_too_small_on_the_same_data() -> None:
    spread, stderr = _spread_and_median_stderr(16.0, "white")
    assert spread / stderr > 3.0


def _raised(detector: ZoneDetector, ramp_pa_per_s: float = 0.0, onset_s: float = 1e9) -> list:
    times, pressures = _excerpt()
    raised = []
    for t, p in zip(times, pressures, strict=True):
        detector.add_sample("ms5611", t, p + ramp_pa_per_s * max(0.0, t - onset_s), 20.0)
        assessment = detector.assess()
        if assessment is not None and assessment.level_changed and assessment.level is not Level.OK:
            raised.append((t, assessment.level))
    return raised


def _bank(noise: str) -> ZoneDetector:
    return at_rest_bank(
        noise=noise, longest_window_s=60.0, warning_pa_per_s=0.02, critical_pa_per_s=2.0
    )


def test_a_sensor_at_rest_raises_nothing() -> None:
    assert _raised(_bank("learned")) == []


def test_with_the_white_noise_error_the_same_sensor_at_rest_raises_alarms() -> None:
    assert _raised(_bank("white")) != []


def test_a_ramp_added_to_the_real_recording_is_raised_and_nothing_before() -> None:
    """−0.3 Pa/s from 60 s: the 16 s windows' measured spread is ≈ 0.045 Pa/s, so at
    z ≈ 6.5 the fall is about 1.5 × their limit; the bank raises it within 40 s."""
    raised = _raised(_bank("learned"), ramp_pa_per_s=-0.3, onset_s=60.0)
    assert raised
    assert 60.0 < raised[0][0] < 100.0


def test_a_big_leak_is_never_released_while_it_goes_on() -> None:
    """−45 Pa/s (a 0.5 mm hole in 50 L) opening 20 s after a start, with a lagging
    sensor: the start-up widening of the lag correction makes the estimate less
    certain, which must not release the level while the fall stands."""
    detector = at_rest_bank(warning_pa_per_s=0.5, critical_pa_per_s=5.0, temperature_lag_s=30.0)
    rng = random.Random(5)
    levels = []
    for k in range(60 * 25):
        t = k / 25.0
        pressure = 101_325.0 - 45.0 * max(0.0, t - 20.0) + rng.gauss(0.0, 1.6)
        detector.add_sample("s", t, pressure, 20.0 + 0.05 * math.sin(t / 60.0))
        assessment = detector.assess()
        if assessment is not None and t > 20.0:
            levels.append((t, assessment.level, assessment))
    critical_since = next(t for t, level, _ in levels if level is Level.CRITICAL)
    assert critical_since < 21.0
    after = [(t, level, a) for t, level, a in levels if t >= critical_since]
    assert all(level is Level.CRITICAL for _, level, _ in after), [
        (t, a.reason) for t, level, a in after if level is not Level.CRITICAL
    ][:3]


def test_a_raised_zone_reports_a_window_that_holds_its_level() -> None:
    """Every document of a raised zone shows a fall at or above the level's
    release rate, or names the rule that holds it."""
    detector = at_rest_bank(warning_pa_per_s=0.5, critical_pa_per_s=5.0)
    rng = random.Random(6)
    checked = 0
    for k in range(200 * 25):
        t = k / 25.0
        rate = -2.0 if 20.0 <= t < 60.0 else 0.0
        pressure = 101_325.0 + rate * (t - 20.0 if t < 60.0 else 0.0) + rng.gauss(0.0, 1.6)
        if t >= 60.0:
            pressure = 101_325.0 - 80.0 + rng.gauss(0.0, 1.6)
        detector.add_sample("s", t, pressure, 20.0)
        assessment = detector.assess()
        if assessment is None or assessment.level is Level.OK:
            continue
        checked += 1
        release = 0.5 * detector.parameters.policy.threshold_of(assessment.level)
        assert -assessment.dpdt_pa_per_s >= release or "held" in assessment.reason, (
            t,
            assessment.reason,
        )
    assert checked > 100

"""The daemon measures each sensor's thermal lag and says when the configuration is wrong:
a simulated BMP388 whose die lags the gas by 60 s, configured with no lag at all."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from hullwatch.hil.accelerated import run_accelerated
from hullwatch.hil.scenario import Scenario

# Whole scenarios through the daemon's code: out of `make test-fast`.
pytestmark = pytest.mark.hil

SCENARIO = """
title = "A lagging die configured as not lagging"
seed = 60
duration_s = 3000.0

[[zones]]
id = "station"
volume_m3 = 916.0
pressure_pa = 101300.0
temperature_k = 295.0
cycle_amplitude_k = 0.3
cycle_period_s = 5520.0

## No temperature_lag_s: the detector is told the die follows the gas. The rates
## are high enough that the uncorrected lag (0.008 Pa/s) raises nothing.
[zones.detector]
floor_pa = 70000.0
window_s = 60.0
warning_pa_per_s = 0.05
critical_pa_per_s = 1.0

[[sensors]]
kind = "bmp388"
zone = "station"
address = 0x77
rate_hz = 5.0
pressure_oversampling = 16
temperature_oversampling = 1
thermal_lag_s = 60.0

[[expect]]
kind = "quiet"
zone = "station"
until_s = 3000.0
"""


def test_a_wrong_configured_lag_is_measured_and_logged(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(tomllib.loads(SCENARIO))
    log_path = tmp_path / "daemon.log"
    result = run_accelerated(scenario, name="lag", log_path=log_path, progress=None)
    assert result.passed, result.summary()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    warnings = [line for line in lines if line["event"].startswith("temperature lag differs")]
    assert len(warnings) == 1  # once, not every telemetry interval
    warning = warnings[0]
    assert warning["level"] == "warning"
    assert warning["configured_s"] == 0.0
    assert warning["estimated_s"] == pytest.approx(60.0, rel=0.1)
    assert warning["suggested_temperature_lag_s"] == round(warning["estimated_s"])

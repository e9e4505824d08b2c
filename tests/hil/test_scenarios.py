"""Every shipped scenario, on simulated time, against the daemon's real pipeline.
A missed expectation fails the test with the verdict's own words."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hullwatch.hil.accelerated import run_accelerated
from hullwatch.hil.processes import hullwatch_command
from hullwatch.hil.scenario import load_scenario

# Whole scenarios through the daemon's code: out of `make test-fast`.
pytestmark = pytest.mark.hil

SCENARIOS = sorted((Path(__file__).parents[2] / "hil" / "scenarios").glob("*.toml"))
ACCELERATED = [path for path in SCENARIOS if not load_scenario(path).serial_sensors]


def test_the_shipped_scenarios_are_all_here() -> None:
    names = {path.stem for path in SCENARIOS}
    assert {
        "quiet-thermal-cycle",
        "small-chamber-leak",
        "fast-decompression",
        "leak-during-glitches",
        "slow-leak-under-thermal-cycle",
        "hatch-isolation",
        "vent-refill-and-heater",
        "heater-steps-lagging-sensor",
        "wrong-lag-sealed",
        "big-leak-at-start",
        "leak-after-heater-step",
    } <= names


@pytest.mark.parametrize("path", ACCELERATED, ids=lambda path: path.stem)
def test_scenario_passes_in_accelerated_mode(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    result = run_accelerated(
        scenario, name=path.stem, log_path=tmp_path / "daemon.log", progress=None
    )
    print(result.summary())
    assert result.verdicts, "a scenario without expectations proves nothing"
    assert result.passed, result.summary()
    # Simulated time really is faster than real time.
    assert result.wall_time_s < scenario.duration_s


def test_a_missed_expectation_fails_the_run_and_the_report_says_why(tmp_path: Path) -> None:
    scenario = tmp_path / "impossible.toml"
    text = (SCENARIOS[0].parent / "fast-decompression.toml").read_text()
    scenario.write_text(text.replace("within_s = 3.0", "within_s = 0.05"))
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            *hullwatch_command(),
            "hil",
            "run",
            str(scenario),
            "--accelerated",
            "--quiet",
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "MISSED" in result.stdout
    assert result.stdout.rstrip().endswith("FAIL")
    document = json.loads(report.read_text())
    assert document["passed"] is False
    missed = [v for v in document["verdicts"] if not v["met"]]
    assert len(missed) == 1
    assert missed[0]["figures"]["time_to_detect_s"] > 0.05


def test_an_invalid_scenario_exits_78(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('duration_s = 10\n[[zones]]\nid = "z"\n')
    result = subprocess.run(
        [*hullwatch_command(), "hil", "run", str(scenario), "--accelerated"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 78
    assert "volume_m3" in result.stderr

"""The issue-5 reference cases that run in about a minute, on simulated time, against
the daemon's real pipeline. The 24-hour quiet case and the 37-minute Zvezda case
run in `make bench-detection` (bench/detection.py), not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from hullwatch.hil.accelerated import run_accelerated
from hullwatch.hil.scenario import load_scenario

# Whole scenarios through the daemon's code: out of `make test-fast`.
pytestmark = pytest.mark.hil

REFERENCE = Path(__file__).parents[2] / "hil" / "scenarios" / "reference"
IN_CI = (
    "iss-2018",
    "testbed-10um",
    "testbed-100um",
    "testbed-1mm",
)


def test_every_reference_case_is_a_valid_scenario_with_expectations() -> None:
    names = {path.stem for path in REFERENCE.glob("*.toml")}
    assert {"iss-2018", "testbed-10um", "testbed-100um", "testbed-1mm"} <= names
    assert {"zvezda-2020", "quiet-24h"} <= names
    for path in REFERENCE.glob("*.toml"):
        assert load_scenario(path).expect, path.name


@pytest.mark.parametrize("name", IN_CI)
def test_reference_case_meets_its_expectations(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(REFERENCE / f"{name}.toml")
    result = run_accelerated(scenario, name=name, log_path=tmp_path / "daemon.log", progress=None)
    print(result.summary())
    assert result.verdicts
    assert result.passed, result.summary()


REALISTIC = REFERENCE.parent / "reference-realistic"


def test_every_reference_case_has_a_realistic_noise_copy_that_differs_only_in_its_noise() -> None:
    assert {path.name for path in REALISTIC.glob("*.toml")} == {
        path.name for path in REFERENCE.glob("*.toml")
    }
    for path in REFERENCE.glob("*.toml"):
        white = load_scenario(path)
        realistic = load_scenario(REALISTIC / path.name)
        assert white.sensor_noise == "white"
        assert realistic.sensor_noise == "realistic", path.name
        same = {"sensor_noise": "white", "title": white.title}
        assert realistic.model_copy(update=same) == white, path.name

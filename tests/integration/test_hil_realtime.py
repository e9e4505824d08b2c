"""A scenario in real time, real processes (Mosquitto, simulator, `hullwatch run`),
and the same scenario on simulated time: both pass, and they agree."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hullwatch.hil.accelerated import run_accelerated
from hullwatch.hil.processes import hullwatch_command
from hullwatch.hil.scenario import load_scenario

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).parents[2] / "hil" / "scenarios"


# A representative pair: a decompression judged at critical within a second, and a
# leak found while the other sensor NACKs, sticks and spikes (faults on the wire).
@pytest.mark.parametrize(
    ("name", "level"), [("fast-decompression", "critical"), ("leak-during-glitches", "warning")]
)
def test_real_time_run_passes_and_agrees_with_accelerated(
    tmp_path: Path, name: str, level: str
) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    report = tmp_path / "report.json"
    workdir = tmp_path / "run"
    result = subprocess.run(
        [
            *hullwatch_command(),
            "hil",
            "run",
            str(SCENARIOS / f"{name}.toml"),
            "--report",
            str(report),
            "--workdir",
            str(workdir),
        ],
        capture_output=True,
        text=True,
        timeout=scenario.duration_s + 120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"t =     10 s of {scenario.duration_s:g} s" in result.stderr  # the progress display
    realtime = json.loads(report.read_text())
    assert realtime["mode"] == "realtime"
    assert realtime["passed"] is True
    assert Path(realtime["logs"]["daemon"]).read_text().count('"event": "alert"') >= 1

    accelerated = run_accelerated(scenario, name=name, progress=None)
    assert accelerated.passed

    def time_to_detect(verdicts: list[dict[str, object]]) -> float:
        figures = next(
            v["figures"] for v in verdicts if f": {level} after" in str(v["expectation"])
        )
        assert isinstance(figures, dict)
        return float(figures["time_to_detect_s"])

    accelerated_report = accelerated.report()
    realtime_delay = time_to_detect(realtime["verdicts"])
    accelerated_delay = time_to_detect(accelerated_report["verdicts"])
    print(
        f"{name}: time to {level}: real time {realtime_delay} s, accelerated {accelerated_delay} s"
    )
    # Same physics, same noise seed, same detector; the real-time run's clock is
    # offset by process start-up and scheduling, a fraction of a second.
    assert realtime_delay == pytest.approx(accelerated_delay, abs=1.0)

"""`hullwatch characterize` end to end: real noise, malformed input, gaps, config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hullwatch.daemon.cli import main

REPO = Path(__file__).resolve().parents[2]
EXCERPT = REPO / "tests" / "data" / "ms5611_gy63_bench_excerpt_char.csv"
TESTBED_CONFIG = REPO / "config" / "testbed.toml"


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    return int(stopped.value.code or 0)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _white_csv(path: Path, samples: int = 400, *, header: str = "t_s,pressure_pa") -> Path:
    rng = np.random.default_rng(4)
    rows = [header]
    rows += [f"{i * 0.1:.3f},{101325.0 + rng.normal(0.0, 1.0):.3f}" for i in range(samples)]
    return _write(path, "\n".join(rows) + "\n")


def test_real_ms5611_excerpt_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "noise.png"
    assert _run(["characterize", str(EXCERPT), "--json", "--plot", str(plot)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    report: dict[str, Any] = json.loads(line)
    assert report["samples"] == 12_000
    assert report["period_s"] == pytest.approx(0.0125)
    quantities = {q["quantity"]: q for q in report["quantities"]}
    assert set(quantities) == {"pressure", "compensated"}
    pressure = quantities["pressure"]
    by_window = {row["window_s"]: row for row in pressure["windows"]}
    # 150 s holds a 30 s window five times; 60 s only twice (not four): left out.
    assert sorted(by_window) == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    # Real noise is not white: at 30 s the slopes scatter far more than claimed.
    assert by_window[30.0]["measured_over_white"] > 1.5
    # The white floor: ~1.35 Pa per sample at 80 Hz (1 Pa quantisation and more).
    assert pressure["model"]["white_sd_pa"] == pytest.approx(1.35, rel=0.1)
    assert by_window[30.0]["detectable_fall_pa_per_s"] == pytest.approx(
        by_window[30.0]["z"] * by_window[30.0]["measured_sd_pa_per_s"]
    )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_output_has_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["characterize", str(EXCERPT), "--false-alarm-interval-days", "30"]) == 0
    out = capsys.readouterr().out
    assert "σ_A²(τ) = W/τ + F + R·τ" in out
    assert "z for one false alarm in 30 days" in out
    assert "compensated q = P·T_ref/T" in out


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("t_s,temperature_c\n0,20\n", 1, "missing column 'pressure_pa'"),
        ("t_s,pressure_pa,temp\n0,1,2\n", 1, "unknown column 'temp'"),
        ("t_s,pressure_pa\n0,101325\n0.1,abc\n", 3, "pressure_pa 'abc' is not a number"),
        ("t_s,pressure_pa\n0,101325\n0.1,nan\n", 3, "not a finite number"),
        ("t_s,pressure_pa\n0,101325\n0.2,101325\n0.1,101325\n", 4, "time goes backwards"),
        ("t_s,pressure_pa\n0,101325\n0.1,101325,7\n", 3, "3 cells where the header has 2"),
        (
            "t_s,pressure_pa,temperature_c\n0,101325,20\n0.1,101325,\n",
            3,
            "temperature_c is empty here",
        ),
        ("", 1, "empty file"),
        ("t_s,pressure_pa\n", 1, "no samples"),
    ],
)
def test_malformed_recordings_exit_65_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, reason: str
) -> None:
    path = _write(tmp_path / "bad.csv", text)
    assert _run(["characterize", str(path)]) == 65
    captured = capsys.readouterr()
    assert f"{path}:{line}: " in captured.err
    assert reason in captured.err
    assert captured.out == ""


def test_a_bad_second_file_reports_nothing_for_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _white_csv(tmp_path / "good.csv")
    bad = _write(tmp_path / "bad.csv", "t_s,pressure_pa\n0,x\n")
    assert _run(["characterize", str(good), str(bad)]) == 65
    assert capsys.readouterr().out == ""


def test_a_gap_is_refused_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["t_s,pressure_pa"]
    rows += [f"{i * 0.1:.1f},{101325 + i % 3}" for i in range(300)]
    rows += [f"{100 + i * 0.1:.1f},{101325 + i % 3}" for i in range(700)]  # 70 s later
    path = _write(tmp_path / "gap.csv", "\n".join(rows) + "\n")
    assert _run(["characterize", str(path)]) == 65
    err = capsys.readouterr().err
    assert f"{path}:302: " in err
    assert "a gap of 70.1 s" in err

    assert _run(["characterize", str(path), "--allow-gaps", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == 1000  # every sample kept
    assert report["gaps"] == 1
    assert report["gap_fraction"] == pytest.approx(70.0 / 169.9, rel=0.01)


def test_jittered_sampling_uses_the_median_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    times_s = np.arange(2000) * 0.04 + rng.uniform(-0.008, 0.008, 2000)
    rows = ["t_s,pressure_pa"] + [f"{t:.4f},{101325 + rng.normal():.3f}" for t in times_s]
    path = _write(tmp_path / "jitter.csv", "\n".join(rows) + "\n")
    assert _run(["characterize", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["period_s"] == pytest.approx(0.04, rel=0.02)
    pressure = report["quantities"][0]
    assert pressure["model"]["white_sd_pa"] == pytest.approx(1.0, rel=0.1)


def test_config_names_the_sensors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known = _white_csv(tmp_path / "known.csv")  # no sensor column: the config's first sensor
    assert _run(["characterize", str(known), "--config", str(TESTBED_CONFIG), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sensor"] == "bmp-a"

    rows = ["t_s,pressure_pa,sensor"] + [f"{i * 0.1:.1f},101325,nosuch" for i in range(100)]
    unknown = _write(tmp_path / "unknown.csv", "\n".join(rows) + "\n")
    assert _run(["characterize", str(unknown), "--config", str(TESTBED_CONFIG)]) == 65
    err = capsys.readouterr().err
    assert f"{unknown}:2: sensor 'nosuch' is not in the configuration" in err


def test_two_sensors_in_one_file_are_reported_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(6)
    rows = ["t_s,pressure_pa,sensor"]
    for i in range(500):
        rows.append(f"{i * 0.1:.1f},{101325 + rng.normal(0.0, 1.0):.3f},a")
        rows.append(f"{i * 0.1 + 0.05:.2f},{101325 + rng.normal(0.0, 3.0):.3f},b")
    path = _write(tmp_path / "two.csv", "\n".join(rows) + "\n")
    assert _run(["characterize", str(path), "--json"]) == 0
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    white_sd = {r["sensor"]: r["quantities"][0]["model"]["white_sd_pa"] for r in reports}
    assert white_sd["a"] == pytest.approx(1.0, rel=0.15)
    assert white_sd["b"] == pytest.approx(3.0, rel=0.15)


@pytest.mark.integration  # starts a process
def test_the_daemon_cli_registers_characterize_without_importing_numpy() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from hullwatch.daemon.cli import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in ('numpy', 'scipy', 'allantools', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""

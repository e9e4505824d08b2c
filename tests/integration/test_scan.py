"""`hullwatch scan` against the simulator process: what answers, which chip, a first reading."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hullwatch.hil.processes import hullwatch_command, start_simulator

pytestmark = pytest.mark.integration

SCENARIO = """
[[zones]]
id = "c"
volume_m3 = 0.05
pressure_pa = 99000.0
temperature_k = 293.15
[[sensors]]
kind = "bmp390"
zone = "c"
address = 0x40
[[sensors]]
kind = "bmp388"
zone = "c"
address = 0x41
[[sensors]]
kind = "ms5611"
zone = "c"
address = 0x77
[[sensors]]
kind = "ms5611"
zone = "c"
address = 0x76
[[faults]]
at_s = 0.0
address = 0x76
kind = "corrupt_calibration"
"""

NOTHING_ANSWERS = """
[[zones]]
id = "c"
volume_m3 = 0.05
pressure_pa = 99000.0
temperature_k = 293.15
[[sensors]]
kind = "bmp390"
zone = "c"
address = 0x76
[[faults]]
at_s = 0.0
address = 0x76
kind = "nack"
"""


def _scan(tmp_path: Path, scenario_text: str, *extra: str) -> subprocess.CompletedProcess[str]:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(scenario_text)
    socket_path = tmp_path / "sim.sock"
    simulator = start_simulator(scenario, socket_path, tmp_path / "sim.log")
    try:
        return subprocess.run(
            [*hullwatch_command(), "scan", f"sim:{socket_path}", *extra],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        simulator.stop()


def test_scan_identifies_each_chip_and_reads_it(tmp_path: Path) -> None:
    result = _scan(tmp_path, SCENARIO, "--json")
    assert result.returncode == 0, result.stderr
    findings = {item["address"]: item for item in map(json.loads, result.stdout.splitlines())}
    assert sorted(findings) == ["0x40", "0x41", "0x76", "0x77"]
    assert findings["0x40"]["chip"] == "BMP390"
    assert findings["0x41"]["chip"] == "BMP388"
    assert findings["0x77"]["chip"] == "MS5611/MS5607"
    for address in ("0x40", "0x41", "0x77"):
        assert findings[address]["pressure_pa"] == pytest.approx(99_000.0, abs=30.0)
        assert findings[address]["temperature_c"] == pytest.approx(20.0, abs=0.2)
    # A blank PROM fails the CRC: something answers, but it is not a sensor we can trust.
    assert findings["0x76"]["chip"] is None
    assert "PROM" in findings["0x76"]["detail"]


def test_scan_prints_readable_lines(tmp_path: Path) -> None:
    result = _scan(tmp_path, SCENARIO)
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if " 0x40 " in line)
    assert "BMP390: chip id 0x60" in line
    assert " Pa " in line


def test_scan_exits_1_when_nothing_answers(tmp_path: Path) -> None:
    result = _scan(tmp_path, NOTHING_ANSWERS)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no device answered" in result.stderr


def test_scan_says_why_a_bus_cannot_be_opened(tmp_path: Path) -> None:
    result = subprocess.run(
        [*hullwatch_command(), "scan", f"sim:{tmp_path / 'absent.sock'}", "/dev/i2c-250"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"cannot open sim:{tmp_path / 'absent.sock'}" in result.stderr
    assert "cannot open /dev/i2c-250" in result.stderr


def test_scan_names_serial_instruments_and_says_why_a_port_is_not_one(tmp_path: Path) -> None:
    links = tmp_path / "serial"
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        f"""
[[zones]]
id = "c"
volume_m3 = 0.05
pressure_pa = 99000.0
temperature_k = 293.15
[[serial_sensors]]
kind = "serial_bridge"
zone = "c"
link = "{links}/bridge"
rate_hz = 10.0
[[serial_sensors]]
kind = "ptb330"
zone = "c"
link = "{links}/ptb"
"""
    )
    simulator = start_simulator(scenario, tmp_path / "sim.sock", tmp_path / "sim.log")
    try:
        result = subprocess.run(
            [
                *hullwatch_command(),
                "scan",
                "--json",
                "--serial",
                f"{links}/bridge",
                "--serial",
                f"{links}/ptb",
                "--serial",
                f"{links}/absent",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        simulator.stop()
    assert result.returncode == 0, result.stderr
    findings = {
        Path(item["bus"]).name: item for item in map(json.loads, result.stdout.splitlines())
    }
    assert findings["bridge"]["chip"] == "serial_bridge"
    assert findings["ptb"]["chip"] == "ptb330"
    assert "PTB330" in findings["ptb"]["detail"]
    for name in ("bridge", "ptb"):
        assert findings[name]["pressure_pa"] == pytest.approx(99_000.0, abs=5.0)
    assert findings["absent"]["chip"] is None
    assert "serial_bridge:" in findings["absent"]["detail"]
    assert "ptb330:" in findings["absent"]["detail"]


def test_scan_needs_something_to_scan() -> None:
    result = subprocess.run(
        [*hullwatch_command(), "scan"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 64
    assert "name at least one I2C bus or --serial port" in result.stderr

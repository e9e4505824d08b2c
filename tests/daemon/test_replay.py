"""`hullwatch replay`: plain CSV and recordings through the daemon's own path, in-process."""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hullwatch.daemon.cli import main
from hullwatch.daemon.delivery.alert_document import alert_document, telemetry_document
from hullwatch.daemon.record_command import parse_duration_s
from hullwatch.daemon.service.alert_policy import AlertPolicy
from hullwatch.daemon.service.recording import RecordedSample, RecordingWriter, recording_files
from hullwatch.daemon.settings.config import load_config

DATA = Path(__file__).parent.parent / "data"
EXCERPT = DATA / "ms5611_gy63_bench_excerpt.csv"

CONFIG = """
station = "bench"
state_dir = "state"
[mqtt]
topic_prefix = "hwtest"
telemetry_interval_s = 1.0
alert_update_interval_s = 5.0
[[zones]]
id = "hull"
volume_m3 = 0.05
floor_pa = 80000
window_s = 4
warning_pa_per_s = 0.5
critical_pa_per_s = 20.0
[[sensors]]
id = "a"
zone = "hull"
driver = "ms5611"
bus = "/dev/i2c-1"
address = 0x77
rate_hz = 50
[[sensors]]
id = "b"
zone = "hull"
driver = "ms5611"
bus = "/dev/i2c-1"
address = 0x76
rate_hz = 50
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(CONFIG)
    return path


def _replay(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["replay", *map(str, args)])
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def _leak_csv(
    path: Path,
    *,
    fall_pa_per_s: float = 2.0,
    leak_at_s: float = 20.0,
    seconds: float = 40.0,
    rate_hz: float = 50.0,
    temperature: bool = True,
    sensor: str | None = None,
    seed: int = 3,
) -> Path:
    """A sealed zone at rest, then a leak: pressure falling at `fall_pa_per_s`."""
    rng = random.Random(seed)
    header = ["t_s", "pressure_pa"] + (["temperature_c"] if temperature else [])
    header += ["sensor"] if sensor else []
    lines = [",".join(header)]
    for i in range(int(seconds * rate_hz)):
        t_s = i / rate_hz
        pressure = 100_000.0 + rng.gauss(0, 1.0) - fall_pa_per_s * max(0.0, t_s - leak_at_s)
        cells = [f"{t_s:.4f}", f"{pressure:.3f}"]
        cells += ["21.0"] if temperature else []
        cells += [sensor] if sensor else []
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_leak_in_plain_csv_is_alerted_on_recording_time(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = _leak_csv(tmp_path / "leak.csv")
    code, out, err = _replay(capsys, csv_path, "--config", config_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines, "no alert printed"
    # `hullwatch watch`'s line: time, station/zone, LEVEL (was ...).
    assert lines[0].startswith("1970-01-01T00:00:2")
    assert " bench/hull WARNING (was ok) " in lines[0]
    raised_s = float(lines[0][17:23])  # seconds of 1970-01-01T00:00:SS.mmmZ
    assert 20.0 < raised_s < 24.0
    assert err == ""  # the file has temperatures: no notice


def test_json_documents_are_the_daemons(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = _leak_csv(tmp_path / "leak.csv", seconds=40.0)
    code, out, _ = _replay(capsys, csv_path, "--config", config_path, "--json")
    assert code == 0
    documents = [json.loads(line) for line in out.splitlines()]
    config = load_config(config_path, {})
    # The keys the daemon's documents have, from the daemon's own builders.
    router_holder: list[Any] = []
    router = AlertPolicy(config, lambda a, k, t: router_holder.append(a))
    for i in range(200):
        router.add_sample("a", i / 50, 100_000.0 + (i % 3), 21.0)
    assessment = router.latest["hull"]
    alert_keys = set(alert_document(assessment, station="bench", seq=1, kind="update").wire_dict())
    telemetry_keys = set(telemetry_document(assessment, station="bench", lags={}).wire_dict())

    alerts = [d for d in documents if d["topic"] == "hwtest/bench/zones/hull/alert"]
    telemetry = [d for d in documents if d["topic"] == "hwtest/bench/zones/hull/telemetry"]
    assert len(alerts) + len(telemetry) == len(documents)
    assert alerts
    assert all(set(d["payload"]) == alert_keys for d in alerts)
    assert all(set(d["payload"]) == telemetry_keys for d in telemetry)
    # Telemetry every telemetry_interval_s of recording time, from the first sample.
    times = [d["payload"]["time"] for d in telemetry]
    assert times[0] == "1970-01-01T00:00:01.000Z"
    assert times[1] == "1970-01-01T00:00:02.000Z"
    assert 37 <= len(telemetry) <= 40
    # Alert republished every alert_update_interval_s while not ok, seq counting up.
    assert [d["payload"]["seq"] for d in alerts] == list(range(1, len(alerts) + 1))
    kinds = [d["payload"]["kind"] for d in alerts]
    assert kinds[0] == "level_change"
    assert "update" in kinds


def test_no_temperature_is_said_once_and_means_raw_pressure(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _leak_csv(tmp_path / "a.csv", temperature=False, sensor="a")
    second = _leak_csv(tmp_path / "b.csv", temperature=False, sensor="b", seed=4)
    code, out, err = _replay(capsys, first, second, "--config", config_path, "--json")
    assert code == 0
    assert err.count("raw pressure without the gas law") == 1
    telemetry = [json.loads(line)["payload"] for line in out.splitlines()]
    # q = P at the reference temperature: 293.15 K is 20 °C.
    assert {doc["temperature_c"] for doc in telemetry} == {20.0}
    # Both files' sensors were merged into the zone.
    assert any(doc.get("sensors") == ["a", "b"] for doc in telemetry)


def test_sensor_column_absent_means_the_first_sensor(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = _leak_csv(tmp_path / "leak.csv", seconds=10.0)
    code, out, _ = _replay(capsys, csv_path, "--config", config_path, "--json")
    assert code == 0
    sensors = {tuple(json.loads(line)["payload"]["sensors"]) for line in out.splitlines()}
    assert sensors == {("a",)}


MALFORMED = [
    ("t_s,temperature_c\n0,20\n", 1, "missing column 'pressure_pa'"),
    ("t_s,pressure_pa\n0,100000\n0.1,abc\n", 3, "pressure_pa: not a number: 'abc'"),
    ("t_s,pressure_pa\n0,100000\n0.2,100000\n0.1,100000\n", 4, "time goes backwards"),
    ("t_s,pressure_pa\n0,100000\n0.1,nan\n", 3, "pressure_pa: not a finite number"),
    ("t_s,pressure_pa\n0,100000\ninf,100000\n", 3, "t_s: not a finite number"),
    ("t_s,pressure_pa,sensor\n0,100000,a\n0.1,100000,zz\n", 3, "unknown sensor 'zz'"),
    ("t_s,pressure_pa\n0,100000\n0.1\n", 3, "expected 2 cells, found 1"),
    ("", 1, "no header row"),
]


@pytest.mark.parametrize(("text", "line", "reason"), MALFORMED)
def test_a_malformed_recording_exits_65_naming_file_and_line(
    tmp_path: Path,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    line: int,
    reason: str,
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    code, out, err = _replay(capsys, bad, "--config", config_path)
    assert code == 65
    assert out == ""
    assert f"{bad}:{line}: {reason}" in err


def test_nothing_is_half_reported(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Alerts raised before the bad line are not printed either."""
    csv_path = _leak_csv(tmp_path / "leak.csv")
    with csv_path.open("a") as file:
        file.write("40.5,oops,21.0\n")
    report = tmp_path / "report.json"
    code, out, err = _replay(capsys, csv_path, "--config", config_path, "--report", report)
    assert code == 65
    assert out == ""
    assert not report.exists()
    assert f"{csv_path}:2002: pressure_pa: not a number" in err


def test_a_daemon_recording_replays_with_its_wall_time(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(5)
    writer = RecordingWriter(
        tmp_path / "rec",
        station="bench",
        sensor_zones={"a": "hull"},
        file_max_bytes=10**6,
        total_max_bytes=10**7,
    )
    wall0_s = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    writer.write(
        [
            RecordedSample(
                t_s=5000.0 + i / 50,
                wall_time_s=wall0_s + i / 50,
                sensor_id="a",
                zone_id="hull",
                pressure_pa=100_000 + rng.gauss(0, 1.0) - 2.0 * max(0.0, i / 50 - 20),
                temperature_c=21.0,
                flags="",
            )
            for i in range(2000)
        ]
    )
    writer.close()
    code, out, _ = _replay(capsys, tmp_path / "rec", "--config", config_path)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("2026-01-01T00:00:2")
    assert "WARNING (was ok)" in first
    assert recording_files(tmp_path / "rec")


def test_report_and_plot(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    csv_path = _leak_csv(tmp_path / "leak.csv")
    report_path, plot_path = tmp_path / "report.json", tmp_path / "replay.png"
    code, _, err = _replay(
        capsys, csv_path, "--config", config_path, "--report", report_path, "--plot", plot_path
    )
    assert code == 0, err
    report = json.loads(report_path.read_text())
    zone = report["zones"]["hull"]
    assert zone["samples"] == 1999  # the guard holds the newest back, as in the daemon
    assert zone["duration_s"] == pytest.approx(39.96)
    assert zone["alerts"][0]["level"] == "warning"
    assert 20.0 < zone["alerts"][0]["t_s"] < 24.0
    assert zone["max_abs_z"] > 10
    assert len(zone["series"]["t_s"]) == len(zone["series"]["dpdt_pa_per_s"]) <= 1000
    data = plot_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 800 <= width <= 3000
    assert 400 <= height <= 2000
    assert len(data) > 20_000  # something was drawn


def test_the_real_excerpt_replays(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "report.json"
    code, _, err = _replay(
        capsys, EXCERPT, "--config", config_path, "--raw-pressure", "--report", report_path
    )
    assert code == 0
    assert err.count("--raw-pressure") == 1
    report = json.loads(report_path.read_text())
    assert report["zones"]["hull"]["samples"] == 1999  # the guard holds the newest back


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0), ("45", 45.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "10x", "-5s", "0m", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration_s(text)


@pytest.mark.integration  # starts a process
def test_run_does_not_import_record_or_replay() -> None:
    code = (
        "import sys\n"
        "from hullwatch.daemon import cli\n"
        "from hullwatch.daemon.service import process\n"
        "cli.build_parser()\n"
        "names = ('record', 'replay')\n"
        "print(sorted(m for m in sys.modules if m.rsplit('.', 1)[-1].startswith(names)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['hullwatch.daemon.service.recording']"

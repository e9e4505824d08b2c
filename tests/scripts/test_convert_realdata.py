"""scripts/convert-realdata on tiny synthetic sources of each format: values, units, time from 0,
the output read back by the replay reader, and a clear error (nothing written) on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import scipy.io  # type: ignore[import-untyped]

from hullwatch.analysis.recording_csv import read_recording

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "convert-realdata"


def _load_script() -> ModuleType:
    loader = SourceFileLoader("convert_realdata", str(SCRIPT))
    spec = spec_from_loader("convert_realdata", loader)
    assert spec is not None
    module = module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    loader.exec_module(module)
    return module


convert_realdata = _load_script()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = convert_realdata.main(list(argv))
    return code, capsys.readouterr().err


def test_ms5611_compensation_reproduces_the_datasheet_example() -> None:
    # MS5611-01BA03 datasheet, "Pressure and temperature calculation", typical values:
    # C1..C6 = 40127, 36924, 23317, 23282, 33464, 28312; D1 = 9085466, D2 = 8569150
    # give TEMP = 2007 (20.07 °C) and P = 100009 (1000.09 mbar) in integer arithmetic.
    pressure_pa, temperature_c = convert_realdata.ms5611_compensate(
        9085466, 8569150, (40127, 36924, 23317, 23282, 33464, 28312)
    )
    assert pressure_pa == pytest.approx(100009, abs=1.0)  # exact division keeps the fraction
    assert temperature_c == pytest.approx(20.07, abs=0.01)


def test_ms5611_second_order_compensation_is_continuous_at_20_c() -> None:
    prom = (40127, 36924, 23317, 23282, 33464, 28312)
    d2_at_20_c = 33464 * 2**8  # dT = 0: TEMP = 2000 exactly
    below, above, further = (
        convert_realdata.ms5611_compensate(9085466, d2_at_20_c + step, prom) for step in (-1, 1, 3)
    )
    assert below[1] < 20.0 < above[1]
    # Across 20 °C the second-order terms (zero at dT = 0) add no jump: the same two D2 steps
    # move P alike on either side.
    assert above[0] - below[0] == pytest.approx(further[0] - above[0], abs=1e-4)


def test_casper2_raw_words_become_pa_and_c_from_time_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "BARO_HI.CSV"
    source.write_text(
        "timestamp_us,pressure,temperature\n"
        "43925,9223754,9198468\n"
        "87925,9223842,9200570\n"
        "131925,9223508,9201654\n"
    )
    code, err = _run(
        capsys, "casper2-ms5611-raw", str(source), "out.csv", "--out-dir", str(tmp_path / "o")
    )
    assert (code, err) == (0, "")
    [series] = read_recording(tmp_path / "o" / "out.csv", "s")
    np.testing.assert_allclose(series.times_s, [0.0, 0.044, 0.088], atol=1e-9)
    expected = [convert_realdata.ms5611_compensate(*words) for words in [(9223754, 9198468)]]
    assert series.pressure_pa[0] == pytest.approx(expected[0][0], abs=0.005)
    assert series.temperature_c is not None
    assert series.temperature_c[0] == pytest.approx(expected[0][1], abs=0.005)
    assert 90_000 < series.pressure_pa[0] < 110_000  # an absolute pressure in Pa, not mbar


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("time,pressure,temperature\n1,9223754,9198468\n", ":1: header"),
        ("timestamp_us,pressure,temperature\n1,9223754,x\n2,1,1\n", ":2: temperature (raw D2)"),
        ("timestamp_us,pressure,temperature\n1,9223754\n", ":2: 2 columns, expected 3"),
        ("timestamp_us,pressure,temperature\n1,16777216,9198468\n", "not a 24-bit ADC result"),
        ("timestamp_us,pressure,temperature\n5,9223754,9198468\n5,9223754,9198468\n", "sample 2"),
        ("timestamp_us,pressure,temperature\n", "a header and no samples"),
    ],
)
def test_casper2_malformed_source_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    source = tmp_path / "BARO.CSV"
    source.write_text(text)
    code, err = _run(
        capsys, "casper2-ms5611-raw", str(source), "out.csv", "--out-dir", str(tmp_path)
    )
    assert code == convert_realdata.EXIT_DATAERR
    assert str(source) in err
    assert reason in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BARO.CSV"]


def test_delft_chamber_dotted_milliseconds_and_bar_become_s_and_whole_pa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "Prusa.csv"
    source.write_bytes(b"0.000;3.823;7.646\r\n101.000;3.820;7.640\r\n143.595.000;3.774;7.547")
    code, _ = _run(capsys, "delft-chamber-csv", str(source), "d.csv", "--out-dir", str(tmp_path))
    assert code == 0
    assert (tmp_path / "d.csv").read_text().splitlines() == [
        "t_s,pressure_pa,temperature_c",
        "0.000,764600,",
        "0.101,764000,",
        "143.595,754700,",
    ]
    [series] = read_recording(tmp_path / "d.csv", "s")
    assert series.temperature_c is None
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "d.csv").stat().st_mode & 0o777 == 0o666 & ~umask  # readable by others
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Prusa.csv", "d.csv"]  # no leftovers


@pytest.mark.parametrize(
    ("text", "reason"), [("0,5;3.8;7.6\n", "is not milliseconds"), ("0.000;3.8;7,6\n", "not bar")]
)
def test_delft_chamber_malformed_row_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("0.000;3.823;7.646\n" + text)
    code, err = _run(capsys, "delft-chamber-csv", str(source), "d.csv", "--out-dir", str(tmp_path))
    assert code == convert_realdata.EXIT_DATAERR
    assert f"{source}:2: " in err
    assert reason in err


def test_logbooktd_mat_mbar_become_pa(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "es_11.mat"
    scipy.io.savemat(
        source,
        {
            "tempi": np.array([[0.0, 0.25, 0.5]]),
            "pressioni": np.array([[977.5, 977.25, 977.0]]),
            "temperature": np.array([[19.5, 19.5, 19.625]]),
        },
    )
    code, _ = _run(
        capsys, "logbooktd-lps331ap-mat", str(source), "l.csv", "--out-dir", str(tmp_path)
    )
    assert code == 0
    [series] = read_recording(tmp_path / "l.csv", "s")
    np.testing.assert_allclose(series.pressure_pa, [97750.0, 97725.0, 97700.0])
    np.testing.assert_allclose(series.times_s, [0.0, 0.25, 0.5])
    assert series.temperature_c is not None
    np.testing.assert_allclose(series.temperature_c, [19.5, 19.5, 19.625])


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"tempi": [[0.0, 1.0]], "pressioni": [[977.0, 977.0]]}, "temperature: variable missing"),
        (
            {"tempi": [[0.0, 1.0]], "pressioni": [[977.0]], "temperature": [[20.0, 20.0]]},
            "vectors of different lengths",
        ),
        (
            {"tempi": [[0.0, 1.0]], "pressioni": [[977.0, np.nan]], "temperature": [[20, 20]]},
            "pressioni[1]: not a number",
        ),
    ],
)
def test_logbooktd_malformed_mat_is_named(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, object],
    reason: str,
) -> None:
    source = tmp_path / "bad.mat"
    scipy.io.savemat(source, {name: np.array(value) for name, value in variables.items()})
    code, err = _run(
        capsys, "logbooktd-lps331ap-mat", str(source), "l.csv", "--out-dir", str(tmp_path)
    )
    assert code == convert_realdata.EXIT_DATAERR
    assert reason in err


def test_logbooktd_text_file_is_not_a_mat_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "not.mat"
    source.write_text("tempi,pressioni\n")
    code, err = _run(
        capsys, "logbooktd-lps331ap-mat", str(source), "l.csv", "--out-dir", str(tmp_path)
    )
    assert code == convert_realdata.EXIT_DATAERR
    assert "not a readable MATLAB 5 file" in err


@pytest.mark.integration  # starts a process
def test_source_read_from_a_commit_of_a_git_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "data").mkdir()
    (repo / "data" / "A.csv").write_text("0.000;3.6;7.315\n100.000;3.6;7.314\n")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "data")
    commit = git("rev-parse", "HEAD")
    (repo / "data" / "A.csv").write_text("changed after the commit\n")
    code, _ = _run(
        capsys,
        "delft-chamber-csv",
        "data/A.csv",
        "a.csv",
        "--out-dir",
        str(tmp_path),
        "--git-dir",
        str(repo / ".git"),
        "--commit",
        commit,
    )
    assert code == 0
    assert (tmp_path / "a.csv").read_text().splitlines()[1:] == ["0.000,731500,", "0.100,731400,"]


def test_missing_source_exits_66(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(
        capsys, "delft-chamber-csv", str(tmp_path / "nope.csv"), "x.csv", "--out-dir", str(tmp_path)
    )
    assert code == convert_realdata.EXIT_NOINPUT
    assert "nope.csv" in err


def test_output_name_must_be_a_plain_csv_name(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        convert_realdata.main(
            ["delft-chamber-csv", "x", "../escape.csv", "--out-dir", str(tmp_path)]
        )
    assert stopped.value.code == 2


def _gy63_source(path: Path, reference_pa: float, pressures_pa: list[int]) -> Path:
    # What the logging sketch prints: 44330·(1 − (P/P_ref)^0.1902949) m to two decimals.
    altitudes = [44330.0 * (1.0 - (p / reference_pa) ** 0.1902949) for p in pressures_pa]
    rows = "".join(f"{h:.2f},20.{i:02d}\n" for i, h in enumerate(altitudes))
    path.write_text("Fs,80.00\nLogging time,400\nh,temp\n" + rows)
    return path


def _run_gy63(capsys: pytest.CaptureFixture[str], source: Path, *options: str) -> tuple[int, str]:
    """Convert to g.csv beside the source."""
    return _run(
        capsys,
        "gy63-ms5611-altitude",
        str(source),
        "g.csv",
        "--out-dir",
        str(source.parent),
        *options,
    )


def test_gy63_altitudes_become_the_whole_pascals_they_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pressures = [91124, 91125, 91123, 91124, 91126]
    source = _gy63_source(tmp_path / "static.csv", 91123.06, pressures)
    code, err = _run_gy63(capsys, source, "--reference-pa", "91123.06")
    assert (code, err) == (0, "")
    [series] = read_recording(tmp_path / "g.csv", "s")
    np.testing.assert_array_equal(series.pressure_pa, pressures)
    np.testing.assert_allclose(series.times_s, [0.0, 0.0125, 0.025, 0.0375, 0.05])
    assert series.temperature_c is not None
    np.testing.assert_allclose(series.temperature_c, [20.0, 20.01, 20.02, 20.03, 20.04])


def test_gy63_wrong_or_missing_reference_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _gy63_source(tmp_path / "static.csv", 91123.06, [91124, 91125, 91123])
    code, err = _run_gy63(capsys, source, "--reference-pa", "91123.5")
    assert code == convert_realdata.EXIT_DATAERR
    assert ":4: h " in err
    assert "not a whole pascal" in err
    code, err = _run_gy63(capsys, source)
    assert code == convert_realdata.EXIT_DATAERR
    assert "--reference-pa" in err
    assert not (tmp_path / "g.csv").exists()


def test_gy63_without_its_metadata_lines_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "static.csv"
    source.write_text("h,temp\n-0.09,20.32\n-0.09,20.32\n-0.09,20.32\n")
    code, err = _run_gy63(capsys, source, "--reference-pa", "91123.06")
    assert code == convert_realdata.EXIT_DATAERR
    assert f"{source}:1: expected Fs,<Hz>" in err

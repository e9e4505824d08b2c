"""The daemon imports only what it runs: no simulator module under `run` or `check-config`.

Each command runs in a fresh interpreter with `-X importtime`, which reports every module
the process imported (a module imported lazily by a function counts as much as one at the
top of a file).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hullwatch.daemon.exit_codes import ExitCode

from ..imported_modules import imported_modules, simulator_modules

# Runs the CLI in a subprocess: out of `make test-fast`.
pytestmark = pytest.mark.integration

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
CONFIG_CASES = Path(__file__).resolve().parent / "config_cases"


CLI = "from hullwatch.daemon.cli import main; main()"


def _hullwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected_code"),
    [
        pytest.param(["run", "--help"], 0, id="run-help"),
        pytest.param(["check-config", str(CONFIG_DIR / "demo.toml")], 0, id="check-config"),
        pytest.param(
            ["check-config", str(CONFIG_CASES / "bad_address.toml")],
            ExitCode.CONFIG,
            id="check-config-invalid",
        ),
        pytest.param(["scan", "--help"], 0, id="scan-help"),
        pytest.param(["replay", "--help"], 0, id="replay-help"),
    ],
)
def test_daemon_commands_import_no_simulator_module(args: list[str], expected_code: int) -> None:
    result = _hullwatch(*args)
    assert result.returncode == expected_code, result.stderr[-2000:]
    # The report saw the daemon's own modules: an empty report would prove nothing.
    assert "hullwatch.daemon.cli" in imported_modules(result.stderr)
    assert simulator_modules(result.stderr) == []


def test_check_config_imports_the_configuration_not_the_service() -> None:
    result = _hullwatch("check-config", str(CONFIG_DIR / "demo.toml"))
    modules = imported_modules(result.stderr)
    assert "hullwatch.daemon.settings.config" in modules
    assert "hullwatch.daemon.service.service" not in modules


def test_top_level_help_lists_every_command() -> None:
    result = _hullwatch("--help")
    assert result.returncode == 0, result.stderr[-2000:]
    for command in (
        "run",
        "check-config",
        "watch",
        "scan",
        "record",
        "replay",
        "sim",
        "demo",
        "hil",
        "characterize",
    ):
        assert f"    {command} " in result.stdout or f"    {command}\n" in result.stdout, command


def test_a_plugin_command_still_parses_its_own_arguments() -> None:
    result = _hullwatch("sim", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--scenario" in result.stdout
    assert "--socket" in result.stdout


def test_an_unknown_command_is_refused_naming_every_choice() -> None:
    result = _hullwatch("frobnicate")
    assert result.returncode == 2  # argparse refuses it before any command runs
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert "'sim'" in result.stderr
    assert "'characterize'" in result.stderr

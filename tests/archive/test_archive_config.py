"""`hullwatch archive --config`: a bad configuration is exit 78 naming the key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hullwatch.archive.config import load_archive_config
from hullwatch.hil.processes import hullwatch_command

# Runs the CLI in a subprocess: out of `make test-fast`.
pytestmark = pytest.mark.integration

GOOD = '[postgres]\nconninfo = "host=127.0.0.1 dbname=hullwatch"\n'


def _check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "archive.toml"
    config.write_text(text)
    return subprocess.run(
        [*hullwatch_command(), "archive", "--config", str(config), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_valid_configuration_passes_with_the_defaults(tmp_path: Path) -> None:
    result = _check(tmp_path, GOOD)
    assert result.returncode == 0, result.stderr
    config = load_archive_config(tmp_path / "archive.toml", environ={})
    assert config.mqtt.subscription == "$share/hullwatch-archive/hullwatch/#"


def test_bad_keys_exit_78_naming_each(tmp_path: Path) -> None:
    text = (
        GOOD + '[mqtt]\nport = 0\nshare_group = "a/b"\ncolour = "red"\n[batch]\nmax_messages = 0\n'
    )
    result = _check(tmp_path, text)
    assert result.returncode == 78
    assert "mqtt.port = 0: Input should be greater than or equal to 1" in result.stderr
    assert "mqtt.share_group = 'a/b'" in result.stderr
    assert "mqtt.colour = 'red': unknown key" in result.stderr
    assert "batch.max_messages = 0" in result.stderr


def test_a_missing_conninfo_and_an_environment_override(tmp_path: Path) -> None:
    result = _check(tmp_path, "[mqtt]\n")
    assert result.returncode == 78
    assert "postgres = (missing): required key is missing" in result.stderr
    config_path = tmp_path / "archive.toml"
    config_path.write_text(GOOD)
    config = load_archive_config(config_path, environ={"HULLWATCH_MQTT__PORT": "18830"})
    assert config.mqtt.port == 18830


def test_receive_maximum_must_hold_a_batch(tmp_path: Path) -> None:
    result = _check(tmp_path, GOOD + "[mqtt]\nreceive_maximum = 100\n")
    assert result.returncode == 78
    assert "receive_maximum (100) must be at least batch.max_messages (2000)" in result.stderr

"""Secrets are never echoed, and loosely kept secrets are warned about (issue 13):
config.py's redaction of unknown keys that look like secrets, daemon/settings/secret_hygiene.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hullwatch.daemon.settings.check_config import check_config
from hullwatch.daemon.settings.config import (
    ConfigError,
    MqttSettings,
    load_config,
    looks_like_a_secret,
)
from hullwatch.daemon.settings.secret_hygiene import secret_warnings
from hullwatch.hil.broker import make_test_pki

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SECRET = "tr0ub4dor&3"


@pytest.mark.parametrize(
    "variable",
    [
        "HULLWATCH_MQTT__PASSWROD",
        "HULLWATCH_MQTT__PASWORD",
        "HULLWATCH_MQTT__API_TOKEN",
        "HULLWATCH_MQTT__SECERT",
        "HULLWATCH_MQTT__PRIVATE_KEY",
        "HULLWATCH_MQTTT__PASSWORD",
    ],
)
def test_an_unknown_key_that_looks_like_a_secret_is_reported_without_its_value(
    variable: str,
) -> None:
    out = io.StringIO()
    assert check_config(CONFIG_DIR / "demo.toml", stream=out, environ={variable: SECRET}) == 78
    printed = out.getvalue()
    print(printed)
    assert SECRET not in printed
    assert variable.removeprefix("HULLWATCH_").split("__")[-1].lower() in printed
    with pytest.raises(ConfigError) as refused:
        load_config(CONFIG_DIR / "demo.toml", {variable: SECRET})
    assert SECRET not in str(refused.value)


def test_an_unknown_secret_key_in_the_file_is_not_echoed(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "demo.toml").read_text()
    config = tmp_path / "hullwatch.toml"
    config.write_text(text.replace("[mqtt]\n", f'[mqtt]\npasswrod = "{SECRET}"\n', 1))
    assert "passwrod" in config.read_text()
    out = io.StringIO()
    assert check_config(config, stream=out, environ={}) == 78
    assert "mqtt.passwrod" in out.getvalue()
    assert SECRET not in out.getvalue()


def test_other_unknown_keys_still_show_their_value() -> None:
    out = io.StringIO()
    check_config(CONFIG_DIR / "demo.toml", stream=out, environ={"HULLWATCH_MQTT__PROT": "1884"})
    assert "'1884'" in out.getvalue()


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("passwrod", True),
        ("pasword", True),
        ("secert", True),
        ("tokne", True),
        ("api_key", True),
        ("prot", False),
        ("hots", False),
        ("topic_prefx", False),
    ],
)
def test_looks_like_a_secret(name: str, secret: bool) -> None:
    assert looks_like_a_secret(name) is secret


def _mqtt(tmp_path: Path, *, mode: int, verify_hostname: bool = True) -> MqttSettings:
    pki = make_test_pki(tmp_path / "pki")
    password = tmp_path / "mqtt-password"
    password.write_text("hunter2\n")
    for path in (password, pki.client_key):
        path.chmod(mode)
    return MqttSettings(
        password_file=password,
        tls_ca_file=pki.ca_cert,
        tls_cert_file=pki.client_cert,
        tls_key_file=pki.client_key,
        tls_verify_hostname=verify_hostname,
    )


@pytest.mark.integration  # starts a process
def test_secrets_kept_tight_give_no_warning(tmp_path: Path) -> None:
    assert secret_warnings(_mqtt(tmp_path, mode=0o600)) == []


@pytest.mark.integration  # starts a process
def test_loose_secret_files_and_a_disabled_hostname_check_are_warned_about(
    tmp_path: Path,
) -> None:
    warnings = secret_warnings(_mqtt(tmp_path, mode=0o644, verify_hostname=False))
    for warning in warnings:
        print(warning)
    assert [w.key_path for w in warnings] == [
        "mqtt.password_file",
        "mqtt.tls_key_file",
        "mqtt.tls_verify_hostname",
    ]
    assert "mode 0644" in warnings[0].message
    assert warnings[0].fix.startswith("chmod 600 ")
    assert "hunter2" not in "".join(map(str, warnings))
    assert "names" in warnings[2].fix


@pytest.mark.integration  # starts a process
def test_group_readable_is_loose_too(tmp_path: Path) -> None:
    warnings = secret_warnings(_mqtt(tmp_path, mode=0o640))
    assert [w.key_path for w in warnings] == ["mqtt.password_file", "mqtt.tls_key_file"]


def test_check_config_prints_the_warnings_and_still_passes(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("hunter2\n")
    secret.chmod(0o604)
    out = io.StringIO()
    environ = {"HULLWATCH_MQTT__PASSWORD_FILE": str(secret)}
    assert check_config(CONFIG_DIR / "demo.toml", stream=out, environ=environ) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(
        f"warning: mqtt.password_file: {secret} is readable by group or "
        f"others (mode 0604); chmod 600 {secret} and make the service "
        "user its owner"
    )
    assert "ok: station" in lines[-1]

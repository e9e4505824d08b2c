"""Warnings about how the MQTT secrets are kept, given at start and on every reload.

None of these stop the daemon (it must keep watching the chamber), but each is a
way in for someone else: a password or client key that other users can read, and
a TLS connection that accepts any certificate the CA signed for any host.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import structlog

from .config import MqttSettings

log = structlog.get_logger("hullwatch.config")

_GROUP_OR_OTHERS_READ = stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class SecretWarning:
    key_path: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"warning: {self.key_path}: {self.message}; {self.fix}"


def secret_warnings(mqtt: MqttSettings) -> list[SecretWarning]:
    found = [
        warning
        for key_path, path in (
            ("mqtt.password_file", mqtt.password_file),
            ("mqtt.tls_key_file", mqtt.tls_key_file),
        )
        if path is not None and (warning := _loose_file(key_path, path)) is not None
    ]
    tls = mqtt.tls_ca_file is not None or mqtt.tls_cert_file is not None
    if tls and not mqtt.tls_verify_hostname:
        found.append(
            SecretWarning(
                "mqtt.tls_verify_hostname",
                "false: any certificate the CA signed is accepted for any host, so anyone "
                "holding one can pose as the broker",
                f"give the broker a certificate that names {mqtt.host!r} and remove the setting",
            )
        )
    return found


def _loose_file(key_path: str, path: Path) -> SecretWarning | None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # reported as a configuration problem already
    if not mode & _GROUP_OR_OTHERS_READ:
        return None
    return SecretWarning(
        key_path,
        f"{path} is readable by group or others (mode {stat.S_IMODE(mode):04o})",
        f"chmod 600 {path} and make the service user its owner",
    )


def log_secret_warnings(mqtt: MqttSettings) -> None:
    for warning in secret_warnings(mqtt):
        log.warning(
            "secret kept loosely",
            key=warning.key_path,
            problem=warning.message,
            fix=warning.fix,
        )

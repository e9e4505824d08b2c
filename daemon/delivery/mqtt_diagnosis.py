"""One log line per failed MQTT session, saying what went wrong and what to do.

The failure's class (`mqtt_errors`) decides the line and its level; failures that need
a person (`needs_a_person`: login, certificates, other TLS failures, a refused publish)
are errors and are retried at the slowest pace, the others are warnings and back off
exponentially (docs/delivery.md, "Reconnecting").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from ..settings.config import MqttSettings
from . import mqtt_errors as errors

log = structlog.get_logger("hullwatch.mqtt")


@dataclass(frozen=True)
class Failure:
    """Why a session failed, as one log line; `needs_a_person`: retrying soon will not help."""

    event: str
    fields: dict[str, Any]
    needs_a_person: bool

    def log(self, **more: Any) -> None:
        method = log.error if self.needs_a_person else log.warning
        method(self.event, **self.fields, **more)


def diagnose(
    error: errors.MqttError, settings: MqttSettings, base: str, *, was_connected: bool
) -> Failure:
    where = {"host": settings.host, "port": settings.port, "error": str(error)}
    event, fields = _explain(error, settings, base, was_connected=was_connected)
    return Failure(event, {**fields, **where}, error.needs_a_person)


def _explain(
    error: errors.MqttError, settings: MqttSettings, base: str, *, was_connected: bool
) -> tuple[str, dict[str, Any]]:
    if isinstance(error, errors.PublishRefusedError):
        hint = f"the broker's ACL must let this station's user write {base}/#"
        fields = {"topic": error.topic, "reason": error.reason, "hint": hint}
        return "broker refused a publish: the message stays in the outbox", fields
    if isinstance(error, errors.LoginRefusedError):
        hint = (
            "check mqtt.username and the password (password_file or HULLWATCH_MQTT__PASSWORD) "
            "against the broker's password file and ACL"
        )
        return "broker refused the login", {
            "reason": error.reason,
            "username": settings.username,
            "hint": hint,
        }
    if isinstance(error, errors.ConnectRefusedError):
        return "broker refused the connection, retrying", {"reason": error.reason}
    if isinstance(error, errors.CertificateNotTrustedError):
        hint = "mqtt.tls_ca_file must hold the CA that signed the broker's certificate"
        if settings.tls_verify_hostname:
            hint += ", and the certificate must name mqtt.host"
        return "broker certificate not trusted", {"reason": error.verify_message, "hint": hint}
    if isinstance(error, errors.TlsRefusedByBrokerError):
        return "broker refused the TLS session", {
            "reason": error.reason,
            "hint": _client_certificate_hint(settings),
        }
    if isinstance(error, errors.TlsError):
        return "TLS handshake with the broker failed", {"reason": error.reason}
    if isinstance(error, errors.TlsFilesError):
        hint = (
            "mqtt.tls_ca_file, tls_cert_file and tls_key_file must be PEM files the service "
            "user can read, the key matching the certificate"
        )
        return "cannot load this station's TLS files", {"hint": hint}
    if isinstance(error, errors.BrokerHungUpError):
        return "broker closed the connection before accepting it", {}
    if isinstance(error, errors.ConnectTimeoutError):
        timeout = {"timeout_s": settings.connect_timeout_s}
        return "broker accepted the connection but did not answer in time", timeout
    if isinstance(error, errors.NoAnswerError):
        return "broker stopped answering, reconnecting", {}
    if was_connected and not isinstance(error, errors.ConnectError):
        return "connection to the broker lost", {}
    return "broker unreachable, retrying", {}


def _client_certificate_hint(settings: MqttSettings) -> str:
    if settings.tls_cert_file is None:
        return (
            "the broker may require a client certificate: set mqtt.tls_cert_file and "
            "mqtt.tls_key_file to one signed by a CA the broker trusts"
        )
    return (
        f"the broker does not accept mqtt.tls_cert_file ({settings.tls_cert_file}): it must be "
        "signed by a CA in the broker's cafile, be in date, and allow client authentication"
    )

"""Why an MQTT session failed, as our own exception classes (docs/delivery.md, "The MQTT boundary").

`mqtt_session` raises only these; the publisher decides from the class alone (never
from an error's text) how to log a failure and how soon to try again.
`needs_a_person` marks the failures retrying will not mend: a refused login, a
certificate either side does not trust, any other TLS failure, a refused publish.
"""

from __future__ import annotations

import ssl
from typing import ClassVar


class MqttError(Exception):
    """The root of every failure an MQTT session reports."""

    needs_a_person: ClassVar[bool] = False


# --- the connection was never accepted ----------------------------------------------------


class ConnectError(MqttError):
    """No CONNACK accepted the connection."""


class BrokerUnreachableError(ConnectError):
    """The TCP connection could not be made (nothing listens, no route, no such host)."""


class BrokerHungUpError(ConnectError):
    """The broker closed the connection before it accepted it (no CONNACK)."""


class ConnectTimeoutError(ConnectError):
    """The broker accepted TCP but did not complete the connection within the timeout."""


class ConnectRefusedError(ConnectError):
    """A CONNACK with a failure reason code that is not about the login (e.g. server busy)."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(f"the broker refused the connection: {reason} (0x{code:02X})")
        self.reason = reason
        self.code = code


class LoginRefusedError(ConnectRefusedError):
    """A CONNACK refusing the client id, user name or password, or not authorising it."""

    needs_a_person = True


class TlsError(ConnectError):
    """The TLS layer failed: `ssl_error` is what OpenSSL reported (its `reason` names it)."""

    needs_a_person = True

    def __init__(self, message: str, ssl_error: ssl.SSLError) -> None:
        super().__init__(f"{message}: {ssl_error}")
        self.ssl_error = ssl_error

    @property
    def reason(self) -> str:
        """OpenSSL's name for the failure (`TLSV1_ALERT_UNKNOWN_CA`), or its message."""
        return str(self.ssl_error.reason or self.ssl_error.strerror or self.ssl_error)


class CertificateNotTrustedError(TlsError):
    """We did not trust the broker's certificate (its CA, its name, its dates)."""

    @property
    def verify_message(self) -> str:
        error = self.ssl_error
        if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
            return str(error.verify_message)
        return self.reason


class TlsRefusedByBrokerError(TlsError):
    """The broker ended the TLS session with an alert after the handshake: with TLS 1.3 that
    is how it refuses a client certificate (e.g. `TLSV1_ALERT_UNKNOWN_CA`)."""


class TlsFilesError(MqttError):
    """Our own TLS files (CA, client certificate, key) could not be loaded: changed or made
    unreadable since the configuration was checked."""

    needs_a_person = True


# --- an accepted session ended ------------------------------------------------------------


class SessionLostError(MqttError):
    """The connection of an accepted session broke or the broker closed it."""


class NoAnswerError(MqttError):
    """The broker did not acknowledge a publish within the timeout."""


class RefusedError(MqttError):
    """The broker answered a request with a failure reason code: retrying will not help."""

    needs_a_person = True
    request: ClassVar[str] = "request for"

    def __init__(self, topic: str, reason: str, code: int) -> None:
        super().__init__(f"the broker refused the {self.request} {topic}: {reason} (0x{code:02X})")
        self.topic = topic
        self.reason = reason
        self.code = code


class PublishRefusedError(RefusedError):
    """A QoS 1 publish answered by an MQTT 5 PUBACK with a failure code (an ACL)."""

    request = "publish to"


class SubscribeRefusedError(RefusedError):
    """A subscription answered by a SUBACK failure code (an ACL, a bad filter)."""

    request = "subscription to"

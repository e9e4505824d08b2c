"""The sd_notify protocol (sd_notify(3)): tell systemd about readiness, status and liveness.

A notification is one datagram of newline-separated `KEY=value` assignments
sent to the AF_UNIX socket named by `$NOTIFY_SOCKET`: a filesystem path, or
an abstract-namespace name when it starts with `@`. systemd sets
`$WATCHDOG_USEC` (and `$WATCHDOG_PID`, the process it is meant for) when the
unit has `WatchdogSec=`; the service must send `WATCHDOG=1` more often than
that, half the interval being the usual choice.

Without `$NOTIFY_SOCKET` (not started by systemd, or `Type=` not `notify`)
every call is a no-op. A notification that cannot be sent is logged and
dropped: the service never fails because its supervisor is not listening.
The socket is non-blocking, so a supervisor that stops reading cannot stall
the event loop either.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

import structlog

log = structlog.get_logger("hullwatch.sd_notify")

ABSTRACT_PREFIX = "@"


def socket_address(notify_socket: str) -> bytes | None:
    """`$NOTIFY_SOCKET` as an AF_UNIX address: `@name` → abstract `\\0name`; None if unusable."""
    if notify_socket.startswith(ABSTRACT_PREFIX) and len(notify_socket) > 1:
        return b"\0" + os.fsencode(notify_socket[1:])
    if notify_socket.startswith("/"):
        return os.fsencode(notify_socket)
    return None  # relative paths and systemd 254's `vsock:` are not for us


def watchdog_interval_s(environ: Mapping[str, str], pid: int) -> float | None:
    """Half of `$WATCHDOG_USEC`, when it is set, valid and meant for process `pid`."""
    usec_text = environ.get("WATCHDOG_USEC")
    if usec_text is None:
        return None
    pid_text = environ.get("WATCHDOG_PID")
    if pid_text is not None and pid_text.strip() != str(pid):
        return None  # inherited from a parent the watchdog is meant for
    try:
        usec = int(usec_text)
    except ValueError:
        log.warning("ignoring an invalid WATCHDOG_USEC", value=usec_text)
        return None
    if usec <= 0:
        log.warning("ignoring an invalid WATCHDOG_USEC", value=usec_text)
        return None
    return usec / 2e6


def _one_line(text: str) -> str:
    """A value must not break the `KEY=value` per line framing."""
    return " ".join(text.split())


class Notifier:
    """Sends notifications to systemd; does nothing when `address` is None."""

    def __init__(self, address: bytes | None, *, watchdog_interval_s: float | None = None) -> None:
        self._address = address
        self.watchdog_interval_s = watchdog_interval_s if address is not None else None
        self._socket: socket.socket | None = None
        self._failing = False

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, pid: int | None = None
    ) -> Notifier:
        environ = os.environ if environ is None else environ
        notify_socket = environ.get("NOTIFY_SOCKET", "")
        address = socket_address(notify_socket) if notify_socket else None
        if notify_socket and address is None:
            log.warning("ignoring an unsupported NOTIFY_SOCKET", value=notify_socket)
        interval_s = watchdog_interval_s(environ, os.getpid() if pid is None else pid)
        return cls(address, watchdog_interval_s=interval_s)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *self._status(status))

    def status(self, text: str) -> bool:
        return self.send(*self._status(text))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *self._status(status))

    def reloading(self, status: str | None = None) -> bool:
        # systemd 253+ ignores RELOADING=1 without the time it was sent (CLOCK_MONOTONIC).
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}", *self._status(status))

    def send(self, *assignments: str) -> bool:
        """One datagram; True when it was sent, False when disabled or it failed (logged)."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(_one_line(a) for a in assignments).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
                )
            self._socket.sendto(payload, self._address)
        except OSError as exc:
            if not self._failing:  # one line per outage, not one per watchdog tick
                log.warning(
                    "cannot notify systemd",
                    socket=self._address.decode(errors="replace").replace("\0", "@"),
                    error=str(exc),
                )
            self._failing = True
            return False
        if self._failing:
            log.info("notifying systemd again")
            self._failing = False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @staticmethod
    def _status(text: str | None) -> tuple[str, ...]:
        return () if text is None else (f"STATUS={text}",)

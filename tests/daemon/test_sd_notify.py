"""The sd_notify protocol against real AF_UNIX datagram sockets: a path and the abstract
namespace; the watchdog environment; never failing the caller. And journald priorities."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from hullwatch.daemon.service.logging_setup import SyslogPrefixed, stderr_is_journal
from hullwatch.daemon.service.sd_notify import Notifier, socket_address, watchdog_interval_s


def _receive(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2.0)
        yield str(path), sock


@pytest.fixture
def abstract_socket() -> Iterator[tuple[str, socket.socket]]:
    name = f"hullwatch-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2.0)
        yield "@" + name, sock


@pytest.mark.parametrize("kind", ["path_socket", "abstract_socket"])
def test_each_notification_is_one_datagram(kind: str, request: pytest.FixtureRequest) -> None:
    address, sock = request.getfixturevalue(kind)
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": address})
    assert notifier.enabled
    try:
        assert notifier.ready("chamber ok | broker connected")
        assert _receive(sock) == ["READY=1", "STATUS=chamber ok | broker connected"]
        assert notifier.status("a status\nthat tried to add a line")
        assert _receive(sock) == ["STATUS=a status that tried to add a line"]
        assert notifier.watchdog()
        assert _receive(sock) == ["WATCHDOG=1"]
        assert notifier.stopping()
        assert _receive(sock) == ["STOPPING=1"]
    finally:
        notifier.close()


def test_reloading_carries_the_monotonic_time(path_socket: tuple[str, socket.socket]) -> None:
    address, sock = path_socket
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": address})
    before_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert notifier.reloading("reloading")
    after_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reloading, monotonic, status = _receive(sock)
    assert (reloading, status) == ("RELOADING=1", "STATUS=reloading")
    key, value = monotonic.split("=")
    assert key == "MONOTONIC_USEC"
    assert before_usec <= int(value) <= after_usec
    notifier.close()


def test_without_notify_socket_everything_is_a_no_op() -> None:
    notifier = Notifier.from_environment({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None  # no socket, no watchdog to feed
    assert not notifier.ready("x")
    assert not notifier.watchdog()
    notifier.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/run/systemd/notify", b"/run/systemd/notify"),
        ("@/org/freedesktop/systemd1/notify/123", b"\0/org/freedesktop/systemd1/notify/123"),
        ("@", None),
        ("relative/path", None),
        ("vsock:2:1234", None),
    ],
)
def test_socket_address(value: str, expected: bytes | None) -> None:
    assert socket_address(value) == expected


@pytest.mark.parametrize(
    ("environ", "expected_s"),
    [
        ({"WATCHDOG_USEC": "10000000"}, 5.0),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "4242"}, 0.5),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}, None),  # another process's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(
    environ: dict[str, str], expected_s: float | None
) -> None:
    assert watchdog_interval_s(environ, pid=4242) == expected_s


def test_watchdog_interval_for_this_process(path_socket: tuple[str, socket.socket]) -> None:
    address, _ = path_socket
    environ = {
        "NOTIFY_SOCKET": address,
        "WATCHDOG_USEC": "3000000",
        "WATCHDOG_PID": str(os.getpid()),
    }
    notifier = Notifier.from_environment(environ)
    assert notifier.watchdog_interval_s == 1.5


def test_a_missing_or_full_socket_is_logged_never_raised(
    tmp_path: Path, path_socket: tuple[str, socket.socket]
) -> None:
    gone = Notifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")})
    assert not gone.ready()
    assert not gone.watchdog()
    gone.close()

    # systemd not reading: the non-blocking socket fills up and sends fail at once.
    address, sock = path_socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": address})
    started_s = time.monotonic()
    results = [notifier.status("x" * 512) for _ in range(2000)]
    assert time.monotonic() - started_s < 5.0
    assert results[0]
    assert not all(results)
    # Once systemd reads again, notifications go through again.
    sock.setblocking(False)
    while True:
        try:
            sock.recv(4096)
        except BlockingIOError:
            break
    assert notifier.watchdog()
    notifier.close()


# --- the other half of talking to systemd: journald priorities on stderr (logging_setup) ---


def test_stderr_is_journal_only_when_device_and_inode_match(tmp_path: Path) -> None:
    stream_path, other_path = tmp_path / "stream", tmp_path / "other"
    stream_path.touch()
    other_path.touch()
    status = stream_path.stat()
    environ = {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}
    with stream_path.open("w") as stream, other_path.open("w") as other:
        assert stderr_is_journal(environ, stream)
        # Inherited by a process whose stderr was redirected elsewhere: no prefixes.
        assert not stderr_is_journal(environ, other)
        assert not stderr_is_journal({}, stream)
        assert not stderr_is_journal({"JOURNAL_STREAM": "garbage"}, stream)


@pytest.mark.parametrize(
    ("method", "prefix"),
    [("critical", "<2>"), ("error", "<3>"), ("warning", "<4>"), ("info", "<6>"), ("debug", "<7>")],
)
def test_each_line_starts_with_its_syslog_priority(method: str, prefix: str) -> None:
    render = SyslogPrefixed(structlog.processors.JSONRenderer())
    line = render(None, method, {"event": "alert", "alert_level": "critical"})
    assert line == prefix + '{"event": "alert", "alert_level": "critical"}'

"""The daemon under a stand-in for systemd: sd_notify on a real datagram socket, signals,
reload, a real broker; and the unit file checked by systemd-analyze.

systemd is not needed (nor PID 1): the test binds the AF_UNIX SOCK_DGRAM socket
systemd would, passes it as NOTIFY_SOCKET and records every datagram with the
time it arrived.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hullwatch.daemon.exit_codes import ExitCode
from hullwatch.daemon.service.process import SHUTDOWN_FLUSH_TIMEOUT_S
from hullwatch.daemon.service.supervisor import READY_TIMEOUT_S
from hullwatch.hil.broker import MosquittoBroker, free_tcp_port
from hullwatch.hil.mqtt_recorder import MqttRecorder, Received
from hullwatch.hil.processes import (
    ManagedProcess,
    hullwatch_command,
)

from .station import StartStation, chamber_config, chamber_scenario

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "hullwatch.service"
EXPOSURE_TARGET = 2.0

STATION = "sd"
PREFIX = "hwtest"
OTHER_PREFIX = "hwtest-reloaded"
STATUS_TOPIC = f"{PREFIX}/{STATION}/status"
TELEMETRY_TOPIC = f"{PREFIX}/{STATION}/zones/chamber/telemetry"
HEALTH_TOPIC = f"{PREFIX}/{STATION}/sensors/bmp-a/health"
WATCHDOG_USEC = 1_000_000  # pings expected every 0.5 s

SCENARIO = chamber_scenario(seed=5)


def config_text(
    *, telemetry_interval_s: float = 0.5, window_s: float = 4.0, extra: str = ""
) -> str:
    return chamber_config(
        station=STATION,
        prefix=PREFIX,
        mqtt=f"telemetry_interval_s = {telemetry_interval_s}",
        window_s=window_s,
        extra=extra,
    )


SECOND_SENSOR = """
[[sensors]]
id = "bmp-b"
zone = "chamber"
driver = "bmp390"
bus = "sim:/placeholder.sock"
address = 0x76
rate_hz = 25.0
"""


# --- a stand-in for systemd's notification socket --------------------------------------


@dataclass(frozen=True)
class Notification:
    at_s: float  # monotonic, when the test received it
    fields: dict[str, str]


class NotifyListener:
    """Binds the AF_UNIX datagram socket and records each notification from a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.settimeout(0.1)
        self.received: list[Notification] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._receive, name="notify", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed:
            try:
                datagram = self._socket.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            lines = datagram.decode().split("\n")
            fields = dict(line.split("=", 1) for line in lines if "=" in line)
            with self._changed:
                self.received.append(Notification(time.monotonic(), fields))
                self._changed.notify_all()

    def count(self) -> int:
        with self._changed:
            return len(self.received)

    def wait_for(
        self, key: str, timeout_s: float, *, start: int = 0, value: str | None = None
    ) -> tuple[int, Notification]:
        """The first notification from index `start` on that sets `key` (to `value`)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for index in range(start, len(self.received)):
                    fields = self.received[index].fields
                    if key in fields and (value is None or fields[key] == value):
                        return index, self.received[index]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no {key}={value or '*'} within {timeout_s} s; got: "
                        + ", ".join(str(n.fields) for n in self.received[-8:])
                    )
                self._changed.wait(remaining)

    def pings(self, start: int = 0) -> list[float]:
        with self._changed:
            return [n.at_s for n in self.received[start:] if n.fields.get("WATCHDOG") == "1"]

    def statuses(self, start: int = 0) -> list[str]:
        with self._changed:
            return [n.fields["STATUS"] for n in self.received[start:] if "STATUS" in n.fields]

    def close(self) -> None:
        self._closed = True
        self._thread.join()
        self._socket.close()


# --- processes and their logs --------------------------------------------------------

LogLine = dict[str, Any]
_PRIORITY = re.compile(r"^<([0-7])>")


def log_lines(process: ManagedProcess) -> list[LogLine]:
    """The daemon's JSON log lines, each with its journald priority prefix (if any) as
    `_priority`."""
    lines = []
    for text in process.log_text().splitlines():
        prefix = _PRIORITY.match(text)
        try:
            line = json.loads(text[prefix.end() :] if prefix else text)
        except ValueError:
            continue
        if isinstance(line, dict):
            line["_priority"] = int(prefix.group(1)) if prefix else None
            lines.append(line)
    return lines


def first_index(lines: list[LogLine], event: str, **fields: object) -> int | None:
    for index, line in enumerate(lines):
        if line.get("event") == event and all(line.get(k) == v for k, v in fields.items()):
            return index
    return None


def wait_for_log(
    process: ManagedProcess, event: str, timeout_s: float, **fields: object
) -> LogLine:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = log_lines(process)
        index = first_index(lines, event, **fields)
        if index is not None:
            return lines[index]
        if not process.alive():
            raise AssertionError(f"the daemon exited while waiting for {event!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line {event!r} {fields} within {timeout_s} s")
        time.sleep(0.05)


def wait_for_exit(process: ManagedProcess, timeout_s: float) -> int:
    try:
        return int(process.process.wait(timeout=timeout_s))
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the daemon did not exit within {timeout_s} s") from None


@dataclass
class NotifiedStation:
    config: Path
    listener: NotifyListener
    daemon: ManagedProcess


StartNotifiedStation = Callable[..., NotifiedStation]


@pytest.fixture
def start_notified_station(
    tmp_path: Path, start_station: StartStation
) -> Iterator[StartNotifiedStation]:
    """Simulator + daemon with NOTIFY_SOCKET (and WATCHDOG_USEC) set; stopped afterwards."""
    listeners: list[NotifyListener] = []

    def start(
        *,
        config: str,
        mqtt_port: int,
        scenario: str = SCENARIO,
        watchdog_usec: int | None = WATCHDOG_USEC,
        journal_stream: bool = False,
    ) -> NotifiedStation:
        listener = NotifyListener(tmp_path / "notify.sock")
        listeners.append(listener)
        # Added to this process's environment. An inherited WATCHDOG_USEC (a test run
        # under systemd) comes with WATCHDOG_PID naming another process: ignored.
        environment = {"NOTIFY_SOCKET": str(listener.path)}
        if watchdog_usec is not None:
            environment["WATCHDOG_USEC"] = str(watchdog_usec)
        if journal_stream:
            # As if stderr were journald's stream: the daemon compares device and inode.
            log_path = tmp_path / "daemon.log"
            log_path.touch()
            status = log_path.stat()
            environment["JOURNAL_STREAM"] = f"{status.st_dev}:{status.st_ino}"
        station = start_station(
            scenario=scenario, config=config, mqtt_port=mqtt_port, env=environment
        )
        return NotifiedStation(station.config_path, listener, station.daemon)

    yield start
    for listener in listeners:
        listener.close()
        # Shown by pytest only when the test failed.
        print("--- notifications ---", *(n.fields for n in listener.received), sep="\n")


# --- notify: READY, STATUS, WATCHDOG, STOPPING ------------------------------------------


def test_ready_after_first_sample_then_status_watchdog_and_a_clean_stop(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_notified_station: StartNotifiedStation,
) -> None:
    recorder = recorder_factory([STATUS_TOPIC, HEALTH_TOPIC, TELEMETRY_TOPIC])
    station = start_notified_station(config=config_text(), mqtt_port=broker.port)
    listener, daemon = station.listener, station.daemon

    _, ready = listener.wait_for("READY", 20, value="1")
    # The first sample reached the detector (health ok) before READY was sent.
    lines = log_lines(daemon)
    health_ok = first_index(lines, "sensor health", sensor="bmp-a", health="ok")
    ready_line = first_index(lines, "ready: every sensor delivered a first sample")
    assert health_ok is not None
    assert ready_line is not None
    assert health_ok < ready_line
    assert listener.received[0].fields == {
        "STATUS": "starting: waiting for a first sample from bmp-a"
    }
    assert "sensors 1/1 ok" in ready.fields["STATUS"]
    assert ready.fields["STATUS"].startswith("chamber ok")

    # STATUS follows the broker and the zone's estimate.
    listener.wait_for("STATUS", 10, value="chamber ok | broker connected | sensors 1/1 ok")
    recorder.wait_for(lambda m: m.topic == TELEMETRY_TOPIC, 10, "on telemetry")

    # WATCHDOG=1 at half of WATCHDOG_USEC.
    mark = listener.count()
    deadline = time.monotonic() + 10
    while len(listener.pings(mark)) < 9 and time.monotonic() < deadline:
        time.sleep(0.1)
    pings = listener.pings(mark)
    assert len(pings) >= 9, pings
    intervals = [b - a for a, b in itertools.pairwise(pings)]
    assert statistics.mean(intervals) == pytest.approx(WATCHDOG_USEC / 2e6, abs=0.05)
    assert max(intervals) < WATCHDOG_USEC / 1e6, intervals
    print(f"watchdog intervals: {[round(i, 3) for i in intervals]}")

    # SIGTERM: STOPPING=1 at once, then the flush, `offline`, exit 0.
    mark = listener.count()
    daemon.process.send_signal(signal.SIGTERM)
    listener.wait_for("STOPPING", 5, start=mark, value="1")
    assert wait_for_exit(daemon, SHUTDOWN_FLUSH_TIMEOUT_S + 5) == ExitCode.OK
    offline = recorder.wait_for(
        lambda m: m.topic == STATUS_TOPIC and m.payload == b"offline", 5, "offline"
    )
    health = [m for m in recorder.messages if m.topic == HEALTH_TOPIC]
    assert health
    assert health[-1].json()["health"] == "ok"
    assert health[-1].at_s <= offline.at_s
    assert first_index(log_lines(daemon), "hullwatch stopped") is not None
    assert "Traceback" not in daemon.log_text()


# --- a wedged poller lets the watchdog fire -------------------------------------------

HANG_AT_S = 7.0
HANG_TIMEOUT_S = 2.0  # each read waits this long for the held-back reply

WEDGE_SCENARIO = (
    SCENARIO
    + f"""
[[faults]]
at_s = {HANG_AT_S}
duration_s = 60.0
address = 0x77
kind = "hang"
"""
)


def test_no_watchdog_ping_while_the_only_poller_is_wedged(
    broker: MosquittoBroker, start_notified_station: StartNotifiedStation
) -> None:
    """Wedged: the poller says `ok` but no sample for 3 periods (at least 1 s).

    The `hang` fault holds every I2C reply back: each read blocks for the sensor's
    timeout_s (2 s) and the poller, still `ok`, produces nothing until its third
    failure makes it `degraded` (6 s). Pings stop for that long: with WatchdogSec=1s
    systemd would have killed and restarted the daemon. Once the poller has declared
    the sensor faulty (health on MQTT, re-initialisation with backoff) it is no
    longer wedged, and the pings resume.
    """
    config = config_text().replace(
        "rate_hz = 25.0", f"rate_hz = 25.0\ntimeout_s = {HANG_TIMEOUT_S}"
    )
    station = start_notified_station(config=config, scenario=WEDGE_SCENARIO, mqtt_port=broker.port)
    listener, daemon = station.listener, station.daemon
    listener.wait_for("READY", 20, value="1")
    withheld = wait_for_log(daemon, "watchdog ping withheld: sampling makes no progress", 20)
    assert withheld["reason"] == "no sample from bmp-a"
    assert withheld["_priority"] is None  # not under journald here
    degraded = wait_for_log(daemon, "sensor health", 10, sensor="bmp-a", health="degraded")
    assert "no answer from the simulated bus within 2.0 s" in degraded["reason"]
    wait_for_log(daemon, "watchdog pings resumed", 5)
    mark = listener.count()
    listener.wait_for("WATCHDOG", 5, start=mark)

    pings = listener.pings()
    gaps = [(b - a, a) for a, b in itertools.pairwise(pings)]
    longest, _ = max(gaps)
    print(f"longest gap between pings: {longest:.2f} s")
    # The wedge lasts from 1 s after the last sample to the third 2 s timeout.
    assert longest >= 3 * HANG_TIMEOUT_S - 1.5, gaps
    assert longest >= 2 * WATCHDOG_USEC / 1e6
    # Every other gap is the regular cadence.
    regular = sorted(gap for gap, _ in gaps)[:-1]
    assert max(regular) < WATCHDOG_USEC / 1e6, regular
    assert "sensors 0/1 ok (bmp-a " in listener.statuses()[-1]


# --- SIGHUP: a good configuration is applied, a bad one refused -----------------------


def _intervals(messages: list[Received]) -> list[float]:
    times = [m.at_s for m in messages]
    return [b - a for a, b in itertools.pairwise(times)]


def test_sighup_applies_a_valid_configuration_and_refuses_an_invalid_one(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_notified_station: StartNotifiedStation,
) -> None:
    recorder = recorder_factory([f"{PREFIX}/#", f"{OTHER_PREFIX}/#"])
    station = start_notified_station(
        config=config_text(telemetry_interval_s=1.0), mqtt_port=broker.port
    )
    listener, daemon = station.listener, station.daemon
    listener.wait_for("READY", 20, value="1")

    def telemetry_after(t_s: float, count: int, topic: str = TELEMETRY_TOPIC) -> list[Received]:
        deadline = time.monotonic() + 10
        while True:
            found = [m for m in list(recorder.messages) if m.topic == topic and m.at_s > t_s]
            if len(found) >= count:
                return found[:count]
            assert time.monotonic() < deadline, f"{len(found)} messages on {topic} after {t_s}"
            time.sleep(0.05)

    def statuses(prefix: str) -> list[bytes]:
        return [
            m.payload for m in list(recorder.messages) if m.topic == f"{prefix}/{STATION}/status"
        ]

    slow = _intervals(telemetry_after(time.monotonic(), 3))
    assert statistics.mean(slow) == pytest.approx(1.0, abs=0.2)

    # 1. A valid new configuration: telemetry every 0.25 s, a longer window. The MQTT
    # session is kept: nothing is published in between, not even `offline`.
    station.config.write_text(config_text(telemetry_interval_s=0.25, window_s=6.0))
    mark = listener.count()
    sent_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    daemon.process.send_signal(signal.SIGHUP)
    _, reloading = listener.wait_for("RELOADING", 5, start=mark, value="1")
    # MONOTONIC_USEC is CLOCK_MONOTONIC, which this process reads too.
    assert 0 <= int(reloading.fields["MONOTONIC_USEC"]) - sent_usec < 2_000_000
    _, ready = listener.wait_for("READY", 15, start=mark, value="1")
    applied = wait_for_log(daemon, "applying the new configuration", 1)
    assert applied["changed"] == ["mqtt.telemetry_interval_s", "zones"]
    fast = _intervals(telemetry_after(ready.at_s, 6))
    assert statistics.mean(fast) == pytest.approx(0.25, abs=0.1)
    assert statuses(PREFIX) == [b"online"]

    # 2. An invalid one: refused, its problem named, the running configuration stays.
    station.config.write_text(config_text(telemetry_interval_s=0.25, window_s=-6.0))
    mark = listener.count()
    daemon.process.send_signal(signal.SIGHUP)
    listener.wait_for("RELOADING", 5, start=mark, value="1")
    _, ready = listener.wait_for("READY", 5, start=mark, value="1")
    assert ready.fields["STATUS"].endswith("| last reload rejected (see the log)")
    rejected = wait_for_log(
        daemon, "configuration reload rejected, the running configuration stays", 5
    )
    (problem,) = rejected["problems"]
    assert problem.startswith(f"{station.config}: zones[0].window_s = -6.0: ")
    assert rejected["_priority"] is None  # error level; no journald here
    still = _intervals(telemetry_after(time.monotonic(), 6))
    assert statistics.mean(still) == pytest.approx(0.25, abs=0.1)
    assert daemon.alive()
    assert statuses(PREFIX) == [b"online"]

    # 3. New topics: the old station topic is told `offline` before the new one is used.
    station.config.write_text(config_text(telemetry_interval_s=0.25).replace(PREFIX, OTHER_PREFIX))
    mark = listener.count()
    daemon.process.send_signal(signal.SIGHUP)
    listener.wait_for("READY", 15, start=mark, value="1")
    telemetry_after(time.monotonic(), 2, f"{OTHER_PREFIX}/{STATION}/zones/chamber/telemetry")
    assert statuses(PREFIX) == [b"online", b"offline"]
    assert statuses(OTHER_PREFIX) == [b"online"]
    assert daemon.stop(signal.SIGTERM) == ExitCode.OK
    recorder.wait_for(
        lambda m: m.topic == f"{OTHER_PREFIX}/{STATION}/status" and m.payload == b"offline",
        5,
        "offline on the new topic",
    )


def test_a_reload_clears_the_retained_health_of_a_sensor_it_removed(
    broker: MosquittoBroker,
    recorder_factory: Callable[[list[str]], MqttRecorder],
    start_notified_station: StartNotifiedStation,
) -> None:
    """bmp-b (no chip on its bus) has a retained `failed` health; a reload that names
    that sensor bmp-c instead deletes bmp-b's retained message, so a subscriber
    arriving later finds bmp-a and bmp-c only. (Renamed rather than removed: the
    harness sets each sensor's bus by index in the environment.)"""
    health_topics = f"{PREFIX}/{STATION}/sensors/+/health"
    removed_topic = f"{PREFIX}/{STATION}/sensors/bmp-b/health"
    recorder = recorder_factory([health_topics])
    station = start_notified_station(
        config=config_text(extra=SECOND_SENSOR), mqtt_port=broker.port, watchdog_usec=None
    )
    listener, daemon = station.listener, station.daemon
    listener.wait_for("READY", READY_TIMEOUT_S + 10, value="1")
    recorder.wait_for(
        lambda m: m.topic == removed_topic and m.json()["health"] != "ok", 20, "bmp-b unwell"
    )

    station.config.write_text(config_text(extra=SECOND_SENSOR.replace("bmp-b", "bmp-c")))
    mark = listener.count()
    daemon.process.send_signal(signal.SIGHUP)
    listener.wait_for("READY", 15, start=mark, value="1")
    cleared = wait_for_log(daemon, "cleared the retained state of what the reload removed", 5)
    assert cleared["topics"] == [removed_topic]
    recorder.wait_for(lambda m: m.topic == removed_topic and m.payload == b"", 10, "the clear")

    # A late subscriber gets the retained messages in one burst after subscribing.
    late = recorder_factory([health_topics])
    for sensor in ("bmp-a", "bmp-c"):
        late.wait_for(lambda m, s=sensor: m.topic.endswith(f"/{s}/health") and m.retain, 10, sensor)
    assert removed_topic not in {m.topic for m in late.messages}
    assert daemon.stop(signal.SIGTERM) == ExitCode.OK


# --- a missing sensor: READY after the bound; journald priorities ---------------------


def test_ready_after_the_bound_when_a_sensor_never_delivers(
    broker: MosquittoBroker, start_notified_station: StartNotifiedStation
) -> None:
    """A second sensor with no chip on the bus; stderr taken for journald's stream, so
    every log line carries its syslog priority."""
    station = start_notified_station(
        config=config_text(extra=SECOND_SENSOR),
        mqtt_port=broker.port,
        watchdog_usec=None,
        journal_stream=True,
    )
    listener, daemon = station.listener, station.daemon
    started_s = time.monotonic()
    _, ready = listener.wait_for("READY", READY_TIMEOUT_S + 10, value="1")
    assert ready.at_s - started_s >= READY_TIMEOUT_S - 1.0
    assert ready.fields["STATUS"] == (
        "chamber ok | broker connected | sensors 1/2 ok (bmp-b failed) | no sample yet from bmp-b"
    )
    assert listener.pings() == []  # no WATCHDOG_USEC, no pings
    late = wait_for_log(daemon, "ready without a first sample from every sensor", 1)
    assert late["missing"] == ["bmp-b"]
    assert daemon.stop(signal.SIGTERM) == ExitCode.OK

    lines = log_lines(daemon)
    assert all(line["_priority"] is not None for line in lines)
    priorities = {line["event"]: line["_priority"] for line in lines}
    assert priorities["hullwatch starting"] == 6
    assert priorities["ready without a first sample from every sensor"] == 4
    assert priorities["hullwatch stopped"] == 6
    health = {
        (line["health"], line["_priority"]) for line in lines if line["event"] == "sensor health"
    }
    assert health == {("ok", 6), ("failed", 4)}


# --- SIGTERM with a broker that never answers: the flush is bounded --------------------


def test_sigterm_with_a_silent_broker_exits_within_the_flush_bound(
    start_notified_station: StartNotifiedStation,
) -> None:
    """The broker accepts TCP and never answers: the daemon stops anyway, in time."""
    port = free_tcp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", port))
        silent.listen(8)
        station = start_notified_station(config=config_text(), mqtt_port=port)
        listener, daemon = station.listener, station.daemon
        # READY does not wait for the broker.
        _, ready = listener.wait_for("READY", 20, value="1")
        assert "broker disconnected" in ready.fields["STATUS"]
        daemon.process.send_signal(signal.SIGTERM)
        listener.wait_for("STOPPING", 5, value="1")
        stop_s = time.monotonic()
        assert wait_for_exit(daemon, SHUTDOWN_FLUSH_TIMEOUT_S + 5) == ExitCode.OK
        took_s = time.monotonic() - stop_s
    print(f"stopped {took_s:.2f} s after STOPPING=1")
    assert took_s < SHUTDOWN_FLUSH_TIMEOUT_S + 3
    assert first_index(log_lines(daemon), "hullwatch stopped") is not None
    assert "Traceback" not in daemon.log_text()


# --- the unit file ----------------------------------------------------------------------


def _systemd_analyze() -> str:
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return binary


def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """`verify` insists that ExecStart's binary exists: check a copy whose ExecStart is
    this venv's `hullwatch` (with systemd 252, `--root` would need a whole OS tree)."""
    analyze = _systemd_analyze()
    text = UNIT.read_text()
    assert "ExecStart=/opt/hullwatch/venv/bin/hullwatch run " in text
    installed = Path(hullwatch_command()[0])
    assert installed.is_file(), "the venv has no hullwatch console script"
    copy = tmp_path / "hullwatch.service"
    copy.write_text(text.replace("/opt/hullwatch/venv/bin/hullwatch", str(installed)))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    # Unknown keys are only warnings (exit 0): any output at all is a failure.
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_unit_file_exposure_is_at_most_2(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for hullwatch\.service: (\d+\.\d)", result.stdout)
    assert found is not None, result.stdout + result.stderr
    exposure = float(found.group(1))
    print(f"exposure {exposure}")
    assert exposure <= EXPOSURE_TARGET, result.stdout
    # What the daemon needs and must keep, whatever else is tightened.
    unit = UNIT.read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RestartPreventExitStatus=78",
        "SupplementaryGroups=i2c dialout",
        "DeviceAllow=char-i2c rw",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ):
        assert f"\n{line}\n" in unit, line
    assert not re.search(r"^PrivateDevices=", unit, re.MULTILINE)  # it hides /dev/i2c-*
    assert re.search(r"^WatchdogSec=\d+s$", unit, re.MULTILINE)

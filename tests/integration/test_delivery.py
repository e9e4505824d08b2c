"""Delivery faults, all real: a Mosquitto that goes away, a daemon killed with SIGKILL, a
broker restarted again and again, a broker that accepts TCP and never answers.

Every test counts what the daemon raised (its JSON log, event "alert") against what
a subscriber received, prints the tally and fails if an alert is missing, invented,
out of order or altered (event_id, seq and time as raised).

The subscriber keeps a persistent session (clean_session false, QoS 1) on a broker
with persistence, stopped with SIGTERM: what the broker acknowledged while the
subscriber was reconnecting is queued for it, as for a real ground station. A
broker that crashes loses what it had not saved; that is the broker's durability
(docs/delivery.md), not the daemon's.

The broker outage during a leak lasts 60 s, as issue 6 asks; the other outages
are shorter (a few seconds to 15 s) to keep the file fast: the daemon's
behaviour does not depend on their length (the outbox has no time limit), and
alerts come every second (alert_update_interval_s = 1).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import sqlite3
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hullwatch.daemon.delivery.outbox import LOCK_FILE, OUTBOX_FILE
from hullwatch.hil.broker import MosquittoBroker, free_tcp_port
from hullwatch.hil.processes import (
    ManagedProcess,
    hullwatch_command,
    start_daemon,
    start_simulator,
)

from .station import chamber_config, chamber_scenario

pytestmark = pytest.mark.integration

STATION = "delivery"
PREFIX = "hwtest"
ALERT_TOPIC = f"{PREFIX}/{STATION}/zones/chamber/alert"
STATUS_TOPIC = f"{PREFIX}/{STATION}/status"
DELIVERY_TOPIC = f"{PREFIX}/{STATION}/delivery"
OUTAGE_S = 60.0

# A 0.1 mm hole opens at 2 s: about -2 Pa/s, a warning that lasts, so with
# alert_update_interval_s = 1 the daemon raises an update every second.
SCENARIO = chamber_scenario(
    seed=7,
    extra="""
cycle_amplitude_k = 0.0
[[events]]
at_s = 2.0
zone = "chamber"
action = "open_hole"
diameter_mm = 0.1
discharge_coefficient = 0.62
""",
)

CONFIG = chamber_config(
    station=STATION,
    prefix=PREFIX,
    mqtt="""
alert_update_interval_s = 1.0
telemetry_interval_s = 0.5
connect_timeout_s = 2.0
""",
)


# --- a subscriber with a persistent session ------------------------------------------


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class DurableSubscriber:
    """paho with a fixed client id, clean_session false and QoS 1: subscribes once, then
    the broker keeps the session (and queues for it) across disconnects."""

    def __init__(
        self,
        broker: MosquittoBroker,
        topics: list[str],
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self._topics = topics
        self._lock = threading.Lock()
        self._messages: list[Message] = []
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-{uuid.uuid4().hex[:8]}",
            clean_session=False,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if ca_file is not None:
            self._client.tls_set_context(ssl.create_default_context(cafile=str(ca_file)))
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        self._client.connect_async(broker.host, broker.port, keepalive=10)
        self._client.loop_start()
        if not self.subscribed.wait(10):
            raise AssertionError(f"the subscriber could not subscribe on port {broker.port}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)

    def on(self, topic: str) -> list[Message]:
        return [m for m in self.messages if m.topic == topic]

    def _on_connect(self, client: mqtt.Client, _u: object, flags: Any, *_: object) -> None:
        if not flags.session_present:
            client.subscribe([(topic, 1) for topic in self._topics])

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append(Message(msg.topic, bytes(msg.payload), bool(msg.retain)))


# --- counting -------------------------------------------------------------------------


def log_lines(process: ManagedProcess) -> list[dict[str, Any]]:
    lines = []
    for text in process.log_text().splitlines():
        if text.startswith("{"):
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue  # a line cut by SIGKILL
    return lines


def raised_alerts(process: ManagedProcess) -> list[dict[str, Any]]:
    """Every alert the daemon raised, from its log, in the order raised."""
    return [line for line in log_lines(process) if line.get("event") == "alert"]


@dataclass
class Tally:
    raised: list[dict[str, Any]]
    received: list[dict[str, Any]]  # alert documents in arrival order, duplicates included

    @property
    def delivered_ids(self) -> list[str]:
        """Unique event ids in order of first arrival."""
        return list(dict.fromkeys(document["event_id"] for document in self.received))

    @property
    def duplicates(self) -> int:
        return len(self.received) - len(self.delivered_ids)

    @property
    def missing(self) -> list[int]:
        delivered = set(self.delivered_ids)
        return [line["seq"] for line in self.raised if line["event_id"] not in delivered]

    @property
    def invented(self) -> list[str]:
        raised = {line["event_id"] for line in self.raised}
        return [event_id for event_id in self.delivered_ids if event_id not in raised]

    def line(self, name: str) -> str:
        return (
            f"[{name}] alerts raised {len(self.raised)}, delivered {len(self.delivered_ids)}, "
            f"duplicates {self.duplicates}, missing {len(self.missing)}, "
            f"invented {len(self.invented)}"
        )

    def check(self, name: str) -> None:
        print(self.line(name))
        assert not self.missing, f"alerts lost, seq {self.missing}"
        assert not self.invented, f"alerts nobody raised: {self.invented}"
        raised_ids = [line["event_id"] for line in self.raised]
        assert self.delivered_ids == raised_ids, "alerts delivered out of order"
        seqs = [line["seq"] for line in self.raised]
        assert seqs == sorted(set(seqs)), f"seq not increasing: {seqs}"
        by_id = {document["event_id"]: document for document in self.received}
        for line in self.raised:
            document = by_id[line["event_id"]]
            assert (document["seq"], document["time"]) == (line["seq"], line["time"])
            assert document["level"] == line["alert_level"]


def tally(daemons: list[ManagedProcess], subscriber: DurableSubscriber) -> Tally:
    raised = [line for daemon in daemons for line in raised_alerts(daemon)]
    return Tally(raised, [m.json() for m in subscriber.on(ALERT_TOPIC)])


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout_s} s")
        time.sleep(0.05)


def wait_for_alerts(daemon: ManagedProcess, count: int, timeout_s: float) -> None:
    def enough() -> bool:
        assert daemon.alive(), daemon.log_text()[-3000:]
        return len(raised_alerts(daemon)) >= count

    wait_until(enough, timeout_s, f"{count} alerts raised")


def wait_for_delivery(daemons: list[ManagedProcess], subscriber: DurableSubscriber) -> None:
    """Until every alert raised so far arrived (more may be raised meanwhile)."""
    wait_until(lambda: not tally(daemons, subscriber).missing, 20, "all raised alerts delivered")


def _sensor_faults(daemon: ManagedProcess) -> int:
    return sum(
        line.get("event") == "sensor health" and line.get("health") in ("degraded", "failed")
        for line in log_lines(daemon)
    )


def stop_and_flush(daemon: ManagedProcess, simulator: ManagedProcess) -> None:
    """SIGTERM, expecting a clean exit after the flush; no alert is raised after it.

    The simulator stops first and the daemon notices (a sensor fault), so no read is
    in flight at SIGTERM: a cancellation that lands as a read completes is swallowed
    by `asyncio.wait_for` on Python 3.11 (drivers/transports/sim.py), which leaves a
    poller running and the daemon deaf to SIGTERM. Reported with the issue 6 work;
    the daemon's shutdown is not what these tests are about.
    """
    faults = _sensor_faults(daemon)
    simulator.stop()
    wait_until(lambda: _sensor_faults(daemon) > faults, 10, "the daemon noticed the simulator go")
    assert daemon.stop(signal.SIGTERM) == 0, daemon.log_text()[-3000:]


def outbox_opened(daemon: ManagedProcess) -> list[dict[str, Any]]:
    """The daemon's "outbox opened" log lines (one per start, the log holds every run)."""
    return [line for line in log_lines(daemon) if line.get("event") == "outbox opened"]


# --- fixtures -------------------------------------------------------------------------


@dataclass
class Rig:
    tmp_path: Path
    broker: MosquittoBroker
    subscriber: DurableSubscriber
    simulator: ManagedProcess
    socket_path: Path
    config: Path
    daemons: list[ManagedProcess]

    def start_daemon(self, **env: str) -> ManagedProcess:
        daemon = start_daemon(
            self.config,
            self.tmp_path / "daemon.log",  # one log across restarts
            env={
                "HULLWATCH_MQTT__PORT": str(self.broker.port),
                "HULLWATCH_SENSORS__0__BUS": f"sim:{self.socket_path}",
                "HULLWATCH_LOGGING__FORMAT": "json",
                "HULLWATCH_STATE_DIR": str(self.tmp_path / "state"),
                **env,
            },
        )
        self.daemons.append(daemon)
        return daemon

    def online(self, count: int = 1, timeout_s: float = 20) -> None:
        def seen() -> bool:
            return sum(m.payload == b"online" for m in self.subscriber.on(STATUS_TOPIC)) >= count

        wait_until(seen, timeout_s, f"online #{count}")


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO)
    config = tmp_path / "hullwatch.toml"
    config.write_text(CONFIG)
    broker = MosquittoBroker(tmp_path / "broker", persistence=True)
    broker.start()
    subscriber = DurableSubscriber(broker, [ALERT_TOPIC, STATUS_TOPIC, DELIVERY_TOPIC])
    socket_path = tmp_path / "sim.sock"
    simulator = start_simulator(scenario, socket_path, tmp_path / "sim.log")
    rig = Rig(tmp_path, broker, subscriber, simulator, socket_path, config, [])
    yield rig
    for daemon in rig.daemons:
        daemon.stop(signal.SIGKILL)
    simulator.stop()
    subscriber.close()
    broker.stop()
    # Shown by pytest only when the test failed.
    print("--- daemon log ---", (tmp_path / "daemon.log").read_text(errors="replace")[-6000:])


# --- the tests ------------------------------------------------------------------------


def test_broker_outage_while_a_leak_develops_loses_nothing(rig: Rig) -> None:
    daemon = rig.start_daemon()
    rig.online()
    rig.broker.stop()
    outage_start = time.monotonic()
    before = len(raised_alerts(daemon))
    wait_for_alerts(daemon, before + 5, OUTAGE_S + 10)
    time.sleep(max(0.0, outage_start + OUTAGE_S - time.monotonic()))  # the outage itself
    during = len(raised_alerts(daemon)) - before
    rig.broker.start()
    wait_for_delivery([daemon], rig.subscriber)
    stop_and_flush(daemon, rig.simulator)
    wait_for_delivery([daemon], rig.subscriber)

    result = tally([daemon], rig.subscriber)
    print(f"[outage] {OUTAGE_S:.0f} s outage, {during} alerts raised during it")
    result.check("outage")
    assert during >= 10
    reports = [m.json() for m in rig.subscriber.on(DELIVERY_TOPIC)]
    assert max(report["pending_alerts"] for report in reports) >= 10, reports
    assert reports[-1]["alerts_dropped"] == 0


def test_kill_9_with_alerts_in_the_outbox_and_the_broker_down(rig: Rig) -> None:
    first = rig.start_daemon()
    rig.online()
    (opened,) = outbox_opened(first)
    assert opened["path"] == str(rig.tmp_path / "state" / OUTBOX_FILE)
    assert (opened["pending"], opened["seq"]) == (0, 0)
    rig.broker.stop()
    wait_for_alerts(first, 5, 25)
    # Kill right after an alert was logged: the service stores an alert before it
    # logs it, and the next one is a second away.
    count = len(raised_alerts(first))
    wait_for_alerts(first, count + 1, 5)
    first.stop(signal.SIGKILL)
    raised_before = raised_alerts(first)

    db = sqlite3.connect(f"{(rig.tmp_path / 'state' / OUTBOX_FILE).as_uri()}?mode=ro", uri=True)
    stored = [row[0] for row in db.execute("SELECT seq FROM outbox WHERE seq IS NOT NULL")]
    db.close()
    delivered = {m.json()["seq"] for m in rig.subscriber.on(ALERT_TOPIC)}
    undelivered = [line["seq"] for line in raised_before if line["seq"] not in delivered]
    print(f"[kill -9] {len(undelivered)} alerts in the outbox when killed")
    assert len(undelivered) >= 5
    assert set(undelivered) <= set(stored)

    second = rig.start_daemon()
    wait_for_alerts(second, len(raised_before) + 3, 25)  # the log holds both runs
    reopened = outbox_opened(second)[-1]
    assert reopened["pending"] >= len(undelivered)
    assert reopened["seq"] >= max(line["seq"] for line in raised_before)
    rig.broker.start()
    wait_for_delivery([second], rig.subscriber)
    stop_and_flush(second, rig.simulator)

    result = tally([second], rig.subscriber)  # `second` reads the log both runs wrote
    result.check("kill -9")
    seqs = [line["seq"] for line in result.raised]
    restarted_at = len(raised_before)
    assert seqs[restarted_at] > seqs[restarted_at - 1], "seq went backwards after the restart"


def test_the_first_alert_after_kill_9_chains_from_the_last_published_level(rig: Rig) -> None:
    first = rig.start_daemon()
    rig.online()
    wait_for_alerts(first, 2, 25)  # the leak raised `warning`, then an update
    first.stop(signal.SIGKILL)
    raised_before = raised_alerts(first)
    last_level = raised_before[-1]["alert_level"]
    assert last_level == "warning"

    second = rig.start_daemon()
    wait_for_alerts(second, len(raised_before) + 1, 25)  # the log holds both runs
    after = raised_alerts(second)[len(raised_before)]
    print(
        f"[restart] last before: {last_level}; first after: {after['kind']} "
        f"{after['previous_level']} -> {after['alert_level']}: {after['reason']}"
    )
    assert after["previous_level"] == last_level
    # The hole is still open: the fresh detector confirms the level, it did not change.
    assert (after["kind"], after["alert_level"]) == ("update", "warning")
    carried = [line for line in log_lines(second) if line.get("event", "").startswith("zone level")]
    assert [(line["zone"], line["alert_level"]) for line in carried] == [("chamber", "warning")]

    wait_for_delivery([second], rig.subscriber)
    stop_and_flush(second, rig.simulator)
    result = tally([second], rig.subscriber)
    result.check("restart")
    by_id = {document["event_id"]: document for document in result.received}
    documents = [by_id[line["event_id"]] for line in result.raised]
    for previous, document in itertools.pairwise(documents):
        assert document["previous_level"] == previous["level"], document


def test_broker_restarted_repeatedly_during_a_leak(rig: Rig) -> None:
    daemon = rig.start_daemon()
    rig.online()
    wait_for_alerts(daemon, 1, 20)
    restarts = 4
    for n in range(restarts):
        rig.broker.stop()
        time.sleep(1.5)  # down long enough for an alert or two to wait
        rig.broker.start()
        rig.online(count=n + 2)
        time.sleep(1.5)
    stop_and_flush(daemon, rig.simulator)
    wait_for_delivery([daemon], rig.subscriber)

    result = tally([daemon], rig.subscriber)
    events = [line.get("event") for line in log_lines(daemon)]
    connects = events.count("connected to broker")
    lost = events.count("connection to the broker lost")
    print(f"[restarts] broker restarted {restarts} times: {lost} lost, {connects} connects")
    result.check("restarts")
    assert connects >= restarts + 1
    assert lost >= restarts
    assert len(result.raised) >= 8


class BlackHole:
    """A TCP listener that accepts every connection and never says a word."""

    def __init__(self, port: int, *, hang_up: bool = False) -> None:
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._hang_up = hang_up
        self._server = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._server.settimeout(0.1)
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self._running:
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            if self._hang_up:
                connection.close()  # accepts, then drops it at once
            else:
                self._held.append(connection)

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self._server.close()
        for connection in self._held:
            connection.close()


def _open_files(daemon: ManagedProcess) -> int:
    return len(list(Path(f"/proc/{daemon.pid}/fd").iterdir()))


def _count(daemon: ManagedProcess, event: str) -> int:
    return sum(line.get("event") == event for line in log_lines(daemon))


HUNG_UP = "broker closed the connection before accepting it"
NO_ANSWER = "broker accepted the connection but did not answer in time"


def test_black_hole_and_hang_up_brokers_do_not_wedge_the_daemon(rig: Rig) -> None:
    """The test's subscriber knocks on the same port meanwhile: the listeners' counts
    include it; the daemon's attempts are counted from its log."""
    port = rig.broker.port
    rig.broker.stop()  # the subscriber's session is saved with the broker
    hang_up = BlackHole(port, hang_up=True)
    daemon = rig.start_daemon()
    wait_until(lambda: _count(daemon, HUNG_UP) >= 3, 15, "three attempts that were hung up on")
    hang_up.close()

    hole = BlackHole(port)
    wait_until(lambda: _count(daemon, NO_ANSWER) >= 1, 15, "a first connect timeout")
    files_at_first = _open_files(daemon)
    alerts_before = len(raised_alerts(daemon))
    wait_until(lambda: _count(daemon, NO_ANSWER) >= 4, 25, "three more connect timeouts")
    files_later = _open_files(daemon)
    sampled = len(raised_alerts(daemon)) - alerts_before
    hole.close()

    rig.broker.start()
    rig.online()
    wait_for_delivery([daemon], rig.subscriber)
    stop_and_flush(daemon, rig.simulator)
    wait_for_delivery([daemon], rig.subscriber)

    result = tally([daemon], rig.subscriber)
    print(
        f"[black hole] {_count(daemon, HUNG_UP)} attempts hung up on, "
        f"{_count(daemon, NO_ANSWER)} connect timeouts in the black hole; {sampled} alerts "
        f"raised meanwhile; daemon's open files {files_at_first} -> {files_later}"
    )
    result.check("black hole")
    assert sampled >= 3, "sampling stopped while the broker was a black hole"
    assert files_later <= files_at_first + 1, "file descriptors leak per connection attempt"


def test_an_unusable_state_dir_is_refused_with_exit_78(tmp_path: Path) -> None:
    config = tmp_path / "hullwatch.toml"
    config.write_text(CONFIG)
    (tmp_path / "a-file").write_text("not a directory")
    state_dir = tmp_path / "a-file" / "state"
    daemon = start_daemon(
        config,
        tmp_path / "daemon.log",
        env={"HULLWATCH_STATE_DIR": str(state_dir), "HULLWATCH_LOGGING__FORMAT": "json"},
    )
    try:
        wait_until(
            lambda: not daemon.alive() or "hullwatch starting" in daemon.log_text(),
            15,
            "the daemon exited or started",
        )
        assert not daemon.alive(), "the daemon started without a usable state_dir"
        assert daemon.stop() == 78
        assert f"hullwatch: state_dir {state_dir}: cannot create it: Not a directory" in (
            daemon.log_text()
        )
    finally:
        daemon.stop(signal.SIGKILL)


def test_a_reload_that_moves_state_dir_keeps_the_open_outbox(tmp_path: Path) -> None:
    """SIGHUP with another state_dir in the file: a warning that it needs a restart; the
    outbox stays open (and locked) where it is. No broker or sensor is needed for that."""
    first, second = tmp_path / "state-a", tmp_path / "state-b"
    config = tmp_path / "hullwatch.toml"
    config.write_text(f'state_dir = "{first}"\n{CONFIG}')
    environment = {key: value for key, value in os.environ.items() if "HULLWATCH_" not in key}
    daemon = ManagedProcess(
        "daemon",
        [*hullwatch_command(), "run", str(config)],
        tmp_path / "daemon.log",
        env={
            **environment,
            "HULLWATCH_MQTT__PORT": str(free_tcp_port()),  # nothing listens there
            "HULLWATCH_LOGGING__FORMAT": "json",
        },
    )
    try:
        # "hullwatch starting" comes after the signal handlers are in place: a SIGHUP
        # before them would end the process.
        wait_until(lambda: _count(daemon, "hullwatch starting") == 1, 15, "the daemon started")
        assert outbox_opened(daemon)[0]["path"] == str(first / OUTBOX_FILE)
        config.write_text(f'state_dir = "{second}"\n{CONFIG}')
        daemon.process.send_signal(signal.SIGHUP)
        warning = "state_dir takes effect at the next restart"
        wait_until(lambda: _count(daemon, warning) == 1, 15, "the restart warning")
        (line,) = [line for line in log_lines(daemon) if line.get("event") == warning]
        assert (line["state_dir"], line["new_state_dir"]) == (str(first), str(second))
        assert daemon.alive()
        assert not second.exists()
        assert (first / LOCK_FILE).read_text().strip() == str(daemon.pid)
    finally:
        daemon.stop(signal.SIGKILL)
        print("--- daemon log ---", daemon.log_text()[-3000:])  # shown when the test fails

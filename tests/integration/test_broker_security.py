"""The daemon against a Mosquitto with TLS, a password file and an ACL (docs/delivery.md).

The broker's CA and certificates are made for each test with the `openssl` CLI,
its password file with `mosquitto_passwd`. A station may write only under
`<prefix>/<station>/` (the documented `pattern write hwtest/%u/#`, with the
station id as user name); an observer may read everything. Refusals must be
reported clearly in the daemon's log, and a refused alert must stay in the
outbox until the broker takes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from hullwatch.daemon.delivery.mqtt_errors import PublishRefusedError
from hullwatch.daemon.delivery.mqtt_session import MqttSession
from hullwatch.daemon.delivery.publisher import PUBLISH_TIMEOUT_S, Publisher
from hullwatch.daemon.settings.config import MqttSettings
from hullwatch.hil.broker import BrokerPki, MosquittoBroker, make_test_pki, write_password_file
from hullwatch.hil.processes import ManagedProcess, start_daemon, start_simulator

from .test_delivery import (
    ALERT_TOPIC,
    CONFIG,
    PREFIX,
    SCENARIO,
    STATION,
    STATUS_TOPIC,
    DurableSubscriber,
    Tally,
    log_lines,
    raised_alerts,
    stop_and_flush,
    wait_until,
)

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
OBSERVER = ("observer", "observer-password")
HEALTH_TOPIC = f"{PREFIX}/{STATION}/sensors/bmp-a/health"
STATION_ACL = f"pattern write {PREFIX}/%u/#\n\nuser {OBSERVER[0]}\ntopic read {PREFIX}/#\n"
# Status and the delivery report only: health and alerts are outside.
NARROW_ACL = (
    f"user {STATION}\ntopic write {PREFIX}/{STATION}/status\n"
    f"topic write {PREFIX}/{STATION}/delivery\n\n"
    f"user {OBSERVER[0]}\ntopic read {PREFIX}/#\n"
)


@dataclass
class SecureRig:
    tmp_path: Path
    pki: BrokerPki
    broker: MosquittoBroker
    acl: Path
    socket_path: Path
    daemons: list[ManagedProcess]

    def start_daemon(self, **env: str) -> ManagedProcess:
        config = self.tmp_path / "hullwatch.toml"
        config.write_text(CONFIG)
        password_file = self.tmp_path / "mqtt-password"
        password_file.write_text(PASSWORD + "\n")
        password_file.chmod(0o600)
        daemon = start_daemon(
            config,
            self.tmp_path / f"daemon-{len(self.daemons)}.log",
            env={
                "HULLWATCH_MQTT__HOST": "127.0.0.1",
                "HULLWATCH_MQTT__PORT": str(self.broker.port),
                "HULLWATCH_MQTT__USERNAME": STATION,
                "HULLWATCH_MQTT__PASSWORD_FILE": str(password_file),
                "HULLWATCH_MQTT__TLS_CA_FILE": str(self.pki.ca_cert),
                "HULLWATCH_SENSORS__0__BUS": f"sim:{self.socket_path}",
                "HULLWATCH_LOGGING__FORMAT": "json",
                "HULLWATCH_STATE_DIR": str(self.tmp_path / f"state-{len(self.daemons)}"),
                **env,
            },
        )
        self.daemons.append(daemon)
        return daemon

    def observer(self) -> DurableSubscriber:
        return DurableSubscriber(
            self.broker,
            [f"{PREFIX}/#"],
            username=OBSERVER[0],
            password=OBSERVER[1],
            ca_file=self.pki.ca_cert,
        )


def _station_settings(rig: SecureRig) -> MqttSettings:
    return MqttSettings(
        host="127.0.0.1",
        port=rig.broker.port,
        username=STATION,
        password=PASSWORD,  # type: ignore[arg-type]
        tls_ca_file=rig.pki.ca_cert,
        topic_prefix=PREFIX,
    )


def _rig(tmp_path: Path, *, acl: str, require_certificate: bool = False) -> SecureRig:
    pki = make_test_pki(tmp_path / "pki")
    passwords = write_password_file(
        tmp_path / "broker-passwords", {STATION: PASSWORD, OBSERVER[0]: OBSERVER[1]}
    )
    acl_file = tmp_path / "broker.acl"
    acl_file.write_text(acl)
    broker = MosquittoBroker(
        tmp_path / "broker",
        tls=pki,
        require_certificate=require_certificate,
        password_file=passwords,
        acl_file=acl_file,
    )
    return SecureRig(tmp_path, pki, broker, acl_file, tmp_path / "sim.sock", [])


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[ManagedProcess]:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO)
    process = start_simulator(scenario, tmp_path / "sim.sock", tmp_path / "sim.log")
    yield process
    process.stop()


@pytest.fixture
def secure(tmp_path: Path, simulator: ManagedProcess) -> Iterator[SecureRig]:
    rig = _rig(tmp_path, acl=STATION_ACL)
    rig.broker.start()
    yield rig
    _tear_down(rig)


def _tear_down(rig: SecureRig) -> None:
    for daemon in rig.daemons:
        daemon.stop(signal.SIGKILL)
    rig.broker.stop()
    for daemon in rig.daemons:
        print(f"--- {daemon.log_path.name} ---", daemon.log_text()[-4000:])
    print("--- mosquitto ---", rig.broker.log_text()[-2000:])


def _wait_for_event(daemon: ManagedProcess, event: str, timeout_s: float = 15) -> dict[str, object]:
    found: list[dict[str, object]] = []

    def logged() -> bool:
        assert daemon.alive(), daemon.log_text()[-3000:]
        found[:] = [line for line in log_lines(daemon) if line.get("event") == event]
        return bool(found)

    wait_until(logged, timeout_s, f"a log line {event!r}")
    return found[0]


# --- the station gets in ----------------------------------------------------------------


def test_tls_password_and_acl_let_the_station_publish_under_its_prefix(
    secure: SecureRig, simulator: ManagedProcess
) -> None:
    observer = secure.observer()
    daemon = secure.start_daemon()
    try:
        wait_until(
            lambda: any(m.payload == b"online" for m in observer.on(STATUS_TOPIC)), 15, "online"
        )
        wait_until(lambda: bool(observer.on(HEALTH_TOPIC)), 10, "the sensor's health")
        wait_until(lambda: bool(observer.on(ALERT_TOPIC)), 25, "an alert")
        stop_and_flush(daemon, simulator)
    finally:
        observer.close()
    print(f"[tls] over TLS with a password: {len(observer.messages)} messages received")
    assert not [line for line in log_lines(daemon) if line.get("level") == "error"]


def test_the_documented_acl_keeps_a_station_out_of_other_stations(secure: SecureRig) -> None:
    """Our MQTT 5 client sees the broker's refusal (PUBACK 0x87) as PublishRefusedError."""
    publisher = Publisher(_station_settings(secure), station=STATION, zone_ids=[])

    async def publish(topic: str) -> None:
        options = publisher.connect_options()
        async with MqttSession(options, answer_timeout_s=PUBLISH_TIMEOUT_S) as session:
            await session.publish_acknowledged(topic, "x", retain=False)

    asyncio.run(publish(f"{PREFIX}/{STATION}/status"))
    with pytest.raises(PublishRefusedError, match=r"Not authorized \(0x87\)") as refused:
        asyncio.run(publish(f"{PREFIX}/other-station/status"))
    assert refused.value.topic == f"{PREFIX}/other-station/status"


def test_a_client_certificate_when_the_broker_requires_one(
    tmp_path: Path, simulator: ManagedProcess
) -> None:
    rig = _rig(tmp_path, acl=STATION_ACL, require_certificate=True)
    rig.broker.start()
    try:
        daemon = rig.start_daemon(
            HULLWATCH_MQTT__TLS_CERT_FILE=str(rig.pki.client_cert),
            HULLWATCH_MQTT__TLS_KEY_FILE=str(rig.pki.client_key),
        )
        _wait_for_event(daemon, "connected to broker")
        stop_and_flush(daemon, simulator)
    finally:
        _tear_down(rig)


def test_loose_secrets_are_warned_about_at_start_and_on_reload(secure: SecureRig) -> None:
    loose = secure.tmp_path / "loose-password"
    loose.write_text(PASSWORD + "\n")
    loose.chmod(0o644)
    daemon = secure.start_daemon(
        HULLWATCH_MQTT__PASSWORD_FILE=str(loose), HULLWATCH_MQTT__TLS_VERIFY_HOSTNAME="false"
    )
    _wait_for_event(daemon, "connected to broker")  # warned, and working

    def warnings() -> list[dict[str, object]]:
        return [line for line in log_lines(daemon) if line.get("event") == "secret kept loosely"]

    at_start = warnings()
    assert [(w["level"], w["key"]) for w in at_start] == [
        ("warning", "mqtt.password_file"),
        ("warning", "mqtt.tls_verify_hostname"),
    ]
    assert str(at_start[0]["fix"]) == f"chmod 600 {loose} and make the service user its owner"
    print(f"[loose secrets] {at_start[0]['problem']}; {at_start[0]['fix']}")
    os.kill(daemon.pid, signal.SIGHUP)
    wait_until(lambda: len(warnings()) == 4, 15, "the warnings again after a reload")
    assert PASSWORD not in daemon.log_text()


# --- refused and reported ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_certificate", "reason"),
    [
        pytest.param("other-ca", "TLSV1_ALERT_UNKNOWN_CA", id="other-ca"),
        pytest.param("none", "TLSV13_ALERT_CERTIFICATE_REQUIRED", id="none"),
    ],
)
def test_a_client_certificate_the_broker_refuses_is_reported_with_its_cause(
    tmp_path: Path, simulator: ManagedProcess, client_certificate: str, reason: str
) -> None:
    """With TLS 1.3 the broker refuses a client certificate by an alert after the
    handshake: reported as an error with OpenSSL's reason, retried at the slow pace,
    and the log (JSON) holds JSON lines only."""
    rig = _rig(tmp_path, acl=STATION_ACL, require_certificate=True)
    env = {"HULLWATCH_MQTT__RECONNECT_MIN_S": "0.1", "HULLWATCH_MQTT__RECONNECT_MAX_S": "3"}
    if client_certificate == "other-ca":
        stranger = make_test_pki(tmp_path / "stranger", ca_name="some other CA")
        env["HULLWATCH_MQTT__TLS_CERT_FILE"] = str(stranger.client_cert)
        env["HULLWATCH_MQTT__TLS_KEY_FILE"] = str(stranger.client_key)
    rig.broker.start()
    try:
        daemon = rig.start_daemon(**env)
        event = "broker refused the TLS session"
        wait_until(
            lambda: sum(line.get("event") == event for line in log_lines(daemon)) >= 2,
            20,
            f"two log lines {event!r}",
        )
        refusals = [line for line in log_lines(daemon) if line.get("event") == event]
        first, second = refusals[:2]
        print(f"[client cert {client_certificate}] {first['reason']}: {first['hint']}")
        assert first["level"] == "error"
        assert first["reason"] == reason
        assert "tls_cert_file" in str(first["hint"])
        # The slow pace: reconnect_max_s (3 s) with jitter, not the 0.1 s of the fast one.
        assert all(1.5 <= float(str(line["retry_in_s"])) <= 3.0 for line in refusals)
        waited_s = _seconds_between(str(first["timestamp"]), str(second["timestamp"]))
        assert waited_s >= float(str(first["retry_in_s"]))
        assert not any(line.get("event") == "connected to broker" for line in log_lines(daemon))
        assert not any(
            line.get("event") == "broker closed the connection before accepting it"
            for line in log_lines(daemon)
        )
        text_lines = daemon.log_text().splitlines()
        assert all(_is_json_object(line) for line in text_lines), "a line that is not JSON"
    finally:
        _tear_down(rig)


def _seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@pytest.mark.parametrize(
    ("untrusted", "reason"),
    [
        pytest.param(
            "other-ca",
            "self-signed certificate in certificate chain|unable to get local issuer",
            id="other-ca",
        ),
        pytest.param("wrong-name", "IP address mismatch", id="wrong-name"),
    ],
)
def test_an_untrusted_certificate_is_refused_and_reported(
    tmp_path: Path, simulator: ManagedProcess, untrusted: str, reason: str
) -> None:
    rig = _rig(tmp_path, acl=STATION_ACL)
    env: dict[str, str] = {}
    if untrusted == "other-ca":
        stranger = make_test_pki(tmp_path / "stranger", ca_name="some other CA")
        env["HULLWATCH_MQTT__TLS_CA_FILE"] = str(stranger.ca_cert)
    else:
        rig.pki = make_test_pki(tmp_path / "pki-localhost", server_names=["localhost"])
        rig.broker.tls = rig.pki
    rig.broker.start()
    try:
        daemon = rig.start_daemon(**env)
        refusal = _wait_for_event(daemon, "broker certificate not trusted")
        print(f"[tls {untrusted}] {refusal['event']}: {refusal['reason']}")
        assert re.search(reason, str(refusal["reason"]))
        assert refusal["level"] == "error"
        assert "tls_ca_file" in str(refusal["hint"])
        assert not any(line.get("event") == "connected to broker" for line in log_lines(daemon))
    finally:
        _tear_down(rig)


def test_a_wrong_password_is_refused_and_reported(secure: SecureRig) -> None:
    wrong = secure.tmp_path / "wrong-password"
    wrong.write_text("guess\n")
    daemon = secure.start_daemon(HULLWATCH_MQTT__PASSWORD_FILE=str(wrong))
    refusal = _wait_for_event(daemon, "broker refused the login")
    print(f"[password] {refusal['event']}: {refusal['reason']} (user {refusal['username']})")
    assert refusal["level"] == "error"
    assert refusal["reason"] == "Not authorized"
    assert refusal["username"] == STATION
    assert "password" in str(refusal["hint"])
    assert "guess" not in daemon.log_text()


def test_a_topic_outside_the_acl_is_refused_reported_and_kept(
    tmp_path: Path, simulator: ManagedProcess
) -> None:
    rig = _rig(tmp_path, acl=NARROW_ACL)
    rig.broker.start()
    observer = rig.observer()
    try:
        daemon = rig.start_daemon()
        refusal = _wait_for_event(
            daemon, "broker refused a publish: the message stays in the outbox"
        )
        assert refusal["level"] == "error"
        assert refusal["reason"] == "Not authorized"
        assert refusal["topic"] in (HEALTH_TOPIC, ALERT_TOPIC)
        assert f"{PREFIX}/{STATION}/#" in str(refusal["hint"])
        wait_until(lambda: len(raised_alerts(daemon)) >= 3, 25, "alerts raised while refused")
        assert not observer.on(ALERT_TOPIC)

        rig.acl.write_text(STATION_ACL)  # the operator fixes the ACL
        rig.broker.reload()
        wait_until(lambda: not _tally(daemon, observer).missing, 20, "the kept alerts delivered")
        stop_and_flush(daemon, simulator)
        result = _tally(daemon, observer)
        refusals = sum(line.get("event") == refusal["event"] for line in log_lines(daemon))
        print(f"[acl] {refusals} refusals logged before the ACL was fixed")
        result.check("acl")
    finally:
        observer.close()
        _tear_down(rig)


def test_mqtt_311_cannot_see_an_acl_refusal(tmp_path: Path, simulator: ManagedProcess) -> None:
    """Why protocol = "5" is the default: a 3.1.1 broker acknowledges a refused publish
    like any other, so the message leaves the outbox and nobody gets it."""
    rig = _rig(tmp_path, acl=NARROW_ACL)
    rig.broker.start()
    observer = rig.observer()
    try:
        daemon = rig.start_daemon(HULLWATCH_MQTT__PROTOCOL="3.1.1")
        wait_until(lambda: len(raised_alerts(daemon)) >= 2, 25, "alerts raised")
        stop_and_flush(daemon, simulator)
        lines = log_lines(daemon)
        assert not any(line.get("event", "").startswith("broker refused") for line in lines)
        assert not observer.on(ALERT_TOPIC)
        print(f"[3.1.1] {len(raised_alerts(daemon))} alerts acknowledged and silently dropped")
    finally:
        observer.close()
        _tear_down(rig)


def _tally(daemon: ManagedProcess, observer: DurableSubscriber) -> Tally:
    return Tally(raised_alerts(daemon), [m.json() for m in observer.on(ALERT_TOPIC)])

"""The shipped station bridge and centre ACL, on two real Mosquitto processes over TLS.

The station's broker bridges `hullwatch/<station>/#` to the centre with the station's
certificate; the centre takes the certificate's CN as the user name and applies the
shipped ACL. The centre is stopped while alerts flow and started again: every alert
reaches a subscriber on the centre, in order (duplicates, which QoS 1 allows, are
told apart by event_id).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hullwatch.hil.broker import BrokerPki, MosquittoBroker, make_client_certificate, make_test_pki
from hullwatch.hil.fleet_load import alert_message

pytestmark = pytest.mark.integration

FLEET_CONFIG = Path(__file__).resolve().parents[2] / "config" / "fleet"
TIMEOUT_S = 60.0
STATION = "lab-1"


def _wait_until(condition: Callable[[], bool], what: str, logs: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {TIMEOUT_S} s\n{logs()[-3000:]}")
        time.sleep(0.05)


@dataclass
class Fleet:
    pki: BrokerPki
    centre: MosquittoBroker
    station: MosquittoBroker


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    pki = make_test_pki(tmp_path / "pki")
    station_cert, station_key = make_client_certificate(pki, STATION)
    make_client_certificate(pki, "hullwatch-archive")
    centre = MosquittoBroker(
        tmp_path / "centre",
        tls=pki,
        require_certificate=True,
        acl_file=FLEET_CONFIG / "centre-acl.conf",
        persistence=True,
        extra_config="use_identity_as_username true\nmax_queued_messages 1000000\n",
    )
    centre.start()
    bridge = Template((FLEET_CONFIG / "station-bridge.conf").read_text()).substitute(
        station=STATION,
        centre_address=f"{centre.host}:{centre.port}",
        ca_file=pki.ca_cert,
        cert_file=station_cert,
        key_file=station_key,
    )
    station = MosquittoBroker(tmp_path / "station", persistence=True, extra_config=bridge)
    station.start()
    try:
        yield Fleet(pki, centre, station)
    finally:
        station.stop()
        centre.stop()


def _tls_client(pki: BrokerPki, name: str, **kwargs: object) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=name,
        protocol=mqtt.MQTTv5,
        **kwargs,  # type: ignore[arg-type]
    )
    directory = pki.ca_cert.parent
    client.tls_set(
        ca_certs=str(pki.ca_cert),
        certfile=str(directory / f"{name}.crt"),
        keyfile=str(directory / f"{name}.key"),
    )
    return client


class CentreSubscriber:
    """The archive's identity on the centre: a persistent session, QoS 1, reconnecting."""

    def __init__(self, fleet: Fleet) -> None:
        self.received: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._client = _tls_client(fleet.pki, "hullwatch-archive")
        # Retained messages only for a new subscription: one re-made on a resumed session
        # would otherwise put the newest retained alert ahead of the queued ones.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        self._client.on_connect = lambda client, *_: client.subscribe(
            "hullwatch/#", options=options
        )
        self._client.on_message = self._on_message
        self.subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self._client.connect_async(
            fleet.centre.host, fleet.centre.port, clean_start=False, properties=properties
        )
        self._client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith("/alert") and message.payload:
            with self._lock:
                self.received.append(json.loads(message.payload))

    def event_ids(self) -> list[str]:
        with self._lock:
            return [str(document["event_id"]) for document in self.received]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _publish_alerts(station: MosquittoBroker, seqs: range) -> list[str]:
    """Alerts into the station's broker as the daemon's outbox sends them: QoS 1,
    retained, each acknowledged by the station's broker before the next."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"daemon-{uuid.uuid4().hex[:6]}")
    client.connect(station.host, station.port)
    client.loop_start()
    event_ids = []
    try:
        for seq in seqs:
            topic, payload, document = alert_message(STATION, "chamber", seq)
            client.publish(topic, payload, qos=1, retain=True).wait_for_publish(TIMEOUT_S)
            event_ids.append(document["event_id"])
    finally:
        client.disconnect()
        client.loop_stop()
    return event_ids


def test_alerts_reach_the_centre_across_a_cut_in_order(fleet: Fleet) -> None:
    subscriber = CentreSubscriber(fleet)
    try:
        assert subscriber.subscribed.wait(TIMEOUT_S)
        # The bridge is up once an alert published on the station arrives at the centre.
        sent = _publish_alerts(fleet.station, range(1, 2))
        # (Twice, maybe: as the retained message and from the queue, if it was published
        # before the bridge connected.)
        _wait_until(
            lambda: set(subscriber.event_ids()) == set(sent),
            "the bridge carries an alert",
            fleet.station.log_text,
        )
        sent += _publish_alerts(fleet.station, range(2, 101))
        _wait_until(lambda: len(set(subscriber.event_ids())) >= 50, "alerts flowing")

        fleet.centre.stop()  # the link is cut
        during_cut = _publish_alerts(fleet.station, range(101, 301))
        sent += during_cut
        assert not set(during_cut) & set(subscriber.event_ids())  # queued on the station
        fleet.centre.start()
        sent += _publish_alerts(fleet.station, range(301, 401))

        _wait_until(
            lambda: set(subscriber.event_ids()) >= set(sent),
            "every alert at the centre",
            fleet.station.log_text,
        )
        received = subscriber.event_ids()
        # When the bridge reconnects, Mosquitto first sends it the station's retained
        # alert (the newest), then the queue in order: that early copy, and any message
        # resent after the cut (QoS 1), arrive again later. Keeping each event_id's last
        # copy, the order is exactly the published one.
        last_copies = list(reversed(dict.fromkeys(reversed(received))))
        assert last_copies == sent
        first_copies = list(dict.fromkeys(received))
        ahead = [e for e in first_copies if first_copies.index(e) < sent.index(e)]
        assert len(ahead) <= 1  # one retained topic, one reconnection of the bridge
        assert first_copies[:100] == sent[:100]  # before the cut: in order
    finally:
        subscriber.close()


def test_the_centre_lets_a_station_write_only_under_its_own_prefix(fleet: Fleet) -> None:
    """The station's certificate straight to the centre (no bridge): its own prefix is
    accepted, another station's is refused with MQTT 5 'not authorized'."""
    outcomes: dict[int, int] = {}
    done = threading.Event()
    client = _tls_client(fleet.pki, STATION)

    def on_publish(_c: mqtt.Client, _u: object, mid: int, reason: object, _p: object) -> None:
        outcomes[mid] = int(getattr(reason, "value", 0))
        if len(outcomes) == 2:
            done.set()

    client.on_publish = on_publish
    client.connect(fleet.centre.host, fleet.centre.port)
    client.loop_start()
    try:
        own = client.publish(f"hullwatch/{STATION}/status", "online", qos=1).mid
        other = client.publish("hullwatch/lab-2/status", "offline", qos=1).mid
        assert done.wait(TIMEOUT_S)
    finally:
        client.disconnect()
        client.loop_stop()
    assert outcomes[own] in (0x00, 0x10)  # Success, or No matching subscribers
    assert outcomes[other] == 0x87  # Not authorized

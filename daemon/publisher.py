"""MQTT publishing with reconnection: status, alerts, sensor health and the delivery report
(QoS 1, retained) and telemetry (QoS 0). docs/delivery.md is the full story.

Alerts and health changes go into the outbox (`outbox.Outbox`: SQLite under the
state directory, or in memory when none is given) before anything is sent, and
leave it only once the broker has acknowledged them; with MQTT 5 a PUBACK that
carries a refusal (an ACL) keeps the message and is logged as an error. `seq`
comes from the outbox (`next_seq`), so it never goes backwards across restarts.
Telemetry is best effort: while the broker is away only the newest few
documents per zone are kept. After every (re)connect the station announces
`online`, republishes each zone's alert and each sensor's health (so a broker
that restarted without persistence has the retained picture back), publishes
its delivery report, and drains the outbox.

Connection problems are told apart in the log: a broker that cannot be reached,
one that hangs up before accepting, one that accepts TCP and never answers
(`connect_timeout_s`), a session that breaks, a refused login,
an untrusted certificate, a refused publish. The last three need a person, so
the next attempt waits `reconnect_max_s`; the others back off exponentially
from `reconnect_min_s`, with jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiomqtt
import paho.mqtt.client as mqtt
import structlog
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .config import MqttSettings
from .outbox import Entry, Kind, Outbox, alert_kind
from .topics import Topics

log = structlog.get_logger("hullwatch.mqtt")

PUBLISH_TIMEOUT_S: Final = 10.0
DELIVERY_TOPIC_LEVEL: Final = "delivery"  # <prefix>/<station>/delivery
# CONNACK codes that retrying will not mend: MQTT 3.1.1 (2 identifier rejected, 4 bad
# user name or password, 5 not authorised) and MQTT 5 (0x85 .. 0x8C).
_LOGIN_REFUSED_V311: Final = frozenset({2, 4, 5})
_LOGIN_REFUSED_V5: Final = frozenset(range(0x85, 0x8D))


class PublishRefusedError(aiomqtt.MqttError):
    """The broker answered a QoS 1 publish with a failure reason code (an MQTT 5 PUBACK)."""

    def __init__(self, topic: str, reason: str, code: int) -> None:
        super().__init__(f"the broker refused the publish to {topic}: {reason} (0x{code:02X})")
        self.topic = topic
        self.reason = reason
        self.code = code


class BrokerHungUpError(aiomqtt.MqttError):
    """The broker closed the connection before it accepted it (no CONNACK)."""


class _Client(aiomqtt.Client):
    """aiomqtt's client, keeping the PUBACK reason code of each QoS 1 publish.

    aiomqtt 2.x drops the reason code. `publish_acknowledged` is its `publish`
    with the code kept, written against its internals (`_client`, `_pending_call`,
    `_pending_publishes`, `_wait_for`): pinned by `aiomqtt<3` in pyproject and
    exercised by tests/integration/test_broker_security.py.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refusals: dict[int, ReasonCode] = {}

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None = None,
    ) -> None:
        # aiomqtt ignores a disconnect before CONNACK and waits out its timeout; a broker
        # that hangs up at once is a failed attempt now.
        if self._lock.locked() and not self._connected.done():
            self._connected.set_exception(
                BrokerHungUpError("the broker closed the connection before its CONNACK")
            )
            return
        super()._on_disconnect(client, userdata, flags, reason_code, properties)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        if reason_code.is_failure:  # only failures: QoS 0 publishes call this too
            self._refusals[mid] = reason_code
        super()._on_publish(client, userdata, mid, reason_code, properties)

    async def publish_acknowledged(self, topic: str, payload: str, *, retain: bool) -> None:
        """Publish at QoS 1; return after a PUBACK that accepted it, within PUBLISH_TIMEOUT_S."""
        info = self._client.publish(topic, payload, 1, retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
        if not info.is_published():
            confirmation = asyncio.Event()
            with self._pending_call(info.mid, confirmation, self._pending_publishes):
                await self._wait_for(confirmation.wait(), timeout=PUBLISH_TIMEOUT_S)
        refusal = self._refusals.pop(info.mid, None)
        if refusal is not None:
            raise PublishRefusedError(topic, str(refusal), int(refusal.value))

    def abandon(self) -> None:
        """Close the sockets of a connection attempt that failed: aiomqtt 2.x leaves them
        open (and registered with the event loop) when no CONNACK came."""
        with contextlib.suppress(Exception):
            self._client._reset_sockets()  # unregisters from the loop, then closes


class Publisher:
    def __init__(
        self,
        settings: MqttSettings,
        *,
        station: str,
        zone_ids: list[str],
        outbox: Outbox | None = None,
    ) -> None:
        """`outbox`: the durable one (`Outbox.open(state_dir, ...)`), owned and closed by the
        caller; without it an in-memory outbox that dies with the process."""
        self._settings = settings
        self._station = station
        self.topics = Topics(settings.topic_prefix, station)
        self.delivery_topic = f"{self.topics.base}/{DELIVERY_TOPIC_LEVEL}"
        self._owns_outbox = outbox is None
        if outbox is None:
            outbox = Outbox.in_memory(max_messages=settings.outbox_max_messages)
        outbox.max_messages = settings.outbox_max_messages
        self.outbox = outbox
        # The retained picture (alerts and health by topic), republished after a reconnect.
        self._current: dict[str, str] = {e.topic: e.payload for e in outbox.pending()}
        self._telemetry: deque[tuple[str, str]] = deque(
            maxlen=settings.telemetry_buffer_per_zone * max(1, len(zone_ids))
        )
        self._work = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._report_due = True
        self._reported_pending = 0
        self.connected = False
        self._session_connected = False  # the current session got a CONNACK
        self.telemetry_dropped = 0

    @property
    def state(self) -> str:
        return "connected" if self.connected else "disconnected"

    # --- what the service hands over -----------------------------------------------

    def next_seq(self) -> int:
        """The next alert `seq`: persistent with a durable outbox, never going backwards."""
        return self.outbox.next_seq()

    def publish_alert(self, zone_id: str, document: dict[str, Any]) -> None:
        """Queued in the outbox (on disk once `when_stored` says so); published at QoS 1,
        retained."""
        seq = document.get("seq")
        self._store(
            alert_kind(document.get("kind")),
            self.topics.alert(zone_id),
            document,
            seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        )

    def when_stored(self, callback: Callable[[], object]) -> None:
        """Call `callback` on the event loop once every alert and health document handed
        over so far is on disk (the outbox writes off the loop: `Outbox.when_durable`)."""
        self.outbox.when_durable(callback)

    def publish_health(self, sensor_id: str, document: dict[str, Any]) -> None:
        """Retained at QoS 1, delivered in order with the alerts."""
        self._store(Kind.HEALTH, self.topics.health(sensor_id), document, None)

    def clear_retained(self, topic: str) -> None:
        """Delete a retained alert or health topic nobody publishes any more (a zone or
        a sensor a reload removed): an empty retained message, through the outbox so
        that it follows whatever still waits there for that topic."""
        self._current.pop(topic, None)
        for dropped in self.outbox.add(Kind.HEALTH, topic, ""):
            self._report_drop(dropped)
            self._report_due = True
        self._work.set()

    def publish_telemetry(self, zone_id: str, document: dict[str, Any]) -> None:
        if len(self._telemetry) == self._telemetry.maxlen:
            self.telemetry_dropped += 1
        self._telemetry.append(
            (self.topics.telemetry(zone_id), json.dumps(document, separators=(",", ":")))
        )
        self._work.set()

    def _store(self, kind: Kind, topic: str, document: dict[str, Any], seq: int | None) -> None:
        payload = json.dumps(document, separators=(",", ":"))
        self._current[topic] = payload
        for dropped in self.outbox.add(kind, topic, payload, seq=seq):
            self._report_drop(dropped)
            self._report_due = True
        self._work.set()

    def _report_drop(self, entry: Entry) -> None:
        fields: dict[str, Any] = {"topic": entry.topic, "max_messages": self.outbox.max_messages}
        if entry.kind is Kind.HEALTH:
            log.warning("outbox full: dropped a health document", **fields)
            return
        try:
            document = json.loads(entry.payload)
        except ValueError:
            document = {}
        log.error(
            "outbox full: dropped an alert",
            seq=entry.seq,
            event_id=document.get("event_id"),
            kind=document.get("kind"),
            alert_level=document.get("level"),
            alerts_dropped=self.outbox.alerts_dropped,
            **fields,
        )

    def delivery_report(self) -> dict[str, Any]:
        """The document on `<prefix>/<station>/delivery` (docs/delivery.md)."""
        outbox = self.outbox
        return {
            "station": self._station,
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "durable": outbox.path is not None,
            "pending": len(outbox),
            "pending_alerts": outbox.pending_alerts(),
            "max_messages": outbox.max_messages,
            "seq": outbox.seq,
            "alerts_dropped": outbox.alerts_dropped,
            "health_dropped": outbox.health_dropped,
            "not_durable": outbox.not_durable,
            "telemetry_dropped": self.telemetry_dropped,
            "damaged_outbox": None if outbox.quarantined is None else str(outbox.quarantined),
        }

    # --- the connection ------------------------------------------------------------

    async def run(self) -> None:
        """Connect, publish, reconnect with capped exponential backoff; until `close`."""
        s = self._settings
        backoff_s = s.reconnect_min_s
        try:
            while not self._stopping.is_set():
                self._session_connected = False
                try:
                    await self._session()
                    backoff_s = s.reconnect_min_s
                except aiomqtt.MqttError as exc:
                    was_connected = self._session_connected
                    failure = _diagnose(exc, s, self.topics.base, was_connected=was_connected)
                    if was_connected:  # the session worked for a while: start over
                        backoff_s = s.reconnect_min_s
                    if failure.needs_a_person:
                        backoff_s = s.reconnect_max_s
                    delay_s = backoff_s * random.uniform(0.5, 1.0)  # jitter spreads reconnects
                    failure.log(retry_in_s=round(delay_s, 2), messages_waiting=len(self.outbox))
                    backoff_s = min(backoff_s * 2.0, s.reconnect_max_s)
                    await _wait(self._stopping, delay_s)
        finally:
            self.connected = False
            self._stopped.set()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Flush what can be flushed within `timeout_s`, publish `offline`, disconnect."""
        self._stopping.set()
        self._work.set()
        await _wait(self._stopped, timeout_s)
        if self._owns_outbox and self._stopped.is_set():
            self.outbox.close()

    async def _session(self) -> None:
        client = self._client()
        try:
            await client.__aenter__()
        except BaseException:
            client.abandon()
            raise
        try:
            await self._connected_session(client)
        finally:
            self.connected = False
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _connected_session(self, client: _Client) -> None:
        self.connected = self._session_connected = True
        log.info("connected to broker", host=self._settings.host, port=self._settings.port)
        await client.publish_acknowledged(self.topics.status, "online", retain=True)
        self._report_due = True
        await self._republish_state(client)
        drain = asyncio.create_task(self._drain(client))
        lost = asyncio.create_task(self._wait_for_disconnect(client))
        try:
            done, _ = await asyncio.wait({drain, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (drain, lost):
                task.cancel()
            await asyncio.gather(drain, lost, return_exceptions=True)
        for task in done:
            task.result()  # raises the MqttError that ended the session
        if self._stopping.is_set():
            await client.publish_acknowledged(self.topics.status, "offline", retain=True)
            log.info("published offline, disconnecting")

    async def _republish_state(self, client: _Client) -> None:
        waiting = {entry.topic for entry in self.outbox.pending()}
        for topic, payload in list(self._current.items()):
            if topic not in waiting:  # the outbox will publish a newer state anyway
                await client.publish_acknowledged(topic, payload, retain=True)

    async def _drain(self, client: _Client) -> None:
        while True:
            await self._publish_report_if_due(client)
            while (entry := self.outbox.head()) is not None:
                await client.publish_acknowledged(entry.topic, entry.payload, retain=True)
                self.outbox.remove(entry.id)  # only after PUBACK
                await self._publish_report_if_due(client)
            if self._reported_pending:  # the backlog the last report showed is gone
                self._report_due = True
                await self._publish_report_if_due(client)
            if self._stopping.is_set():
                return
            while self._telemetry and self.outbox.head() is None:
                topic, payload = self._telemetry.popleft()
                await client.publish(topic, payload, qos=0, timeout=PUBLISH_TIMEOUT_S)
            if self.outbox.head() is None and not self._telemetry:
                self._work.clear()
                await self._work.wait()

    async def _publish_report_if_due(self, client: _Client) -> None:
        if not self._report_due:
            return
        report = self.delivery_report()
        await client.publish_acknowledged(
            self.delivery_topic,
            json.dumps(report, separators=(",", ":")),
            retain=True,
        )
        self._report_due = False
        self._reported_pending = report["pending"]

    @staticmethod
    async def _wait_for_disconnect(client: aiomqtt.Client) -> None:
        # Nothing is subscribed; the iterator only ends by raising on disconnect.
        async for _ in client.messages:
            pass

    def _client(self) -> _Client:
        s = self._settings
        password = s.password.get_secret_value() if s.password is not None else None
        protocol = aiomqtt.ProtocolVersion.V5 if s.protocol == "5" else aiomqtt.ProtocolVersion.V311
        return _Client(
            s.host,
            s.port,
            identifier=s.effective_client_id(self._station),
            username=s.username,
            password=password,
            keepalive=s.keepalive_s,
            timeout=s.connect_timeout_s,
            protocol=protocol,
            will=aiomqtt.Will(self.topics.status, "offline", qos=1, retain=True),
            tls_context=self._tls_context(),
        )

    def _tls_context(self) -> ssl.SSLContext | None:
        s = self._settings
        if s.tls_ca_file is None and s.tls_cert_file is None:
            return None
        context = ssl.create_default_context(
            cafile=str(s.tls_ca_file) if s.tls_ca_file is not None else None
        )
        context.check_hostname = s.tls_verify_hostname
        if s.tls_cert_file is not None and s.tls_key_file is not None:
            context.load_cert_chain(str(s.tls_cert_file), str(s.tls_key_file))
        return context


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    """Until `event` is set or `timeout_s` passed. Not `asyncio.wait_for`: on Python 3.11
    it swallows a cancellation that arrives as the awaited thing completes."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()


@dataclass(frozen=True)
class _Failure:
    """Why a session failed, as one log line; `needs_a_person`: retrying soon will not help."""

    event: str
    fields: dict[str, Any]
    needs_a_person: bool = True

    def log(self, **more: Any) -> None:
        method = log.error if self.needs_a_person else log.warning
        method(self.event, **self.fields, **more)


def _diagnose(
    exc: aiomqtt.MqttError, settings: MqttSettings, base: str, *, was_connected: bool
) -> _Failure:
    where = {"host": settings.host, "port": settings.port, "error": str(exc)}
    cause = exc.__context__  # aiomqtt raises `from None`, which keeps the context
    if isinstance(exc, PublishRefusedError):
        hint = f"the broker's ACL must let this station's user write {base}/#"
        return _Failure(
            "broker refused a publish: the message stays in the outbox",
            {"topic": exc.topic, "reason": exc.reason, "hint": hint, **where},
        )
    if isinstance(exc, MqttConnectError) and _login_refused(exc.rc):
        hint = (
            "check mqtt.username and the password (password_file or HULLWATCH_MQTT__PASSWORD) "
            "against the broker's password file and ACL"
        )
        reason = {"reason": str(exc.rc), "username": settings.username, "hint": hint}
        return _Failure("broker refused the login", {**reason, **where})
    if isinstance(cause, ssl.SSLCertVerificationError):
        hint = "mqtt.tls_ca_file must hold the CA that signed the broker's certificate"
        if settings.tls_verify_hostname:
            hint += ", and the certificate must name mqtt.host"
        reason = {"reason": cause.verify_message, "hint": hint}
        return _Failure("broker certificate not trusted", {**reason, **where})
    if isinstance(cause, ssl.SSLError):
        return _Failure("TLS handshake with the broker failed", {"reason": cause.reason, **where})
    if isinstance(exc, BrokerHungUpError):
        return _Failure(
            "broker closed the connection before accepting it", where, needs_a_person=False
        )
    if isinstance(cause, TimeoutError) or str(exc) == "Operation timed out":
        if was_connected:
            return _Failure("broker stopped answering, reconnecting", where, needs_a_person=False)
        return _Failure(
            "broker accepted the connection but did not answer in time",
            {"timeout_s": settings.connect_timeout_s, **where},
            needs_a_person=False,
        )
    event = "connection to the broker lost" if was_connected else "broker unreachable, retrying"
    return _Failure(event, where, needs_a_person=False)


def _login_refused(rc: int | ReasonCode | None) -> bool:
    if isinstance(rc, ReasonCode):
        return int(rc.value) in _LOGIN_REFUSED_V5
    return rc in _LOGIN_REFUSED_V311

"""MQTT publishing with reconnection: status, alerts, sensor health and the delivery report
(QoS 1, retained) and telemetry (QoS 0). docs/delivery.md is the full story.

`Publisher` is the delivery queue (`delivery_queue.DeliveryQueue`: what the service
hands over) plus the connection that drains it: one `mqtt_session.MqttSession` after
another. Alerts and health changes leave the outbox only once the broker has
acknowledged them; with MQTT 5 a PUBACK that carries a refusal (an ACL) keeps the
message and is logged as an error. After every (re)connect the station announces
`online`, republishes each zone's alert and each sensor's health (so a broker that
restarted without persistence has the retained picture back), publishes its
delivery report, and drains the outbox.

A failed session is logged once, by its class (`mqtt_diagnosis`): a broker that
cannot be reached, one that hangs up before accepting, one that accepts TCP and
never answers (`connect_timeout_s`), a session that breaks, a refused login, a
certificate either side does not trust, a refused publish. The last three need a
person, so the next attempt waits `reconnect_max_s`; the others back off
exponentially from `reconnect_min_s`, with jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import ssl
from typing import Final

import structlog

from .delivery_queue import DeliveryQueue
from .mqtt_diagnosis import diagnose
from .mqtt_errors import MqttError, TlsFilesError
from .mqtt_session import ConnectOptions, MqttSession, Will
from .wire import OFFLINE, ONLINE

log = structlog.get_logger("hullwatch.mqtt")

PUBLISH_TIMEOUT_S: Final = 10.0


class Publisher(DeliveryQueue):
    connected = False
    _session_connected = False  # the current session got a CONNACK

    @functools.cached_property
    def _stopping(self) -> asyncio.Event:
        return asyncio.Event()

    @functools.cached_property
    def _stopped(self) -> asyncio.Event:
        return asyncio.Event()

    @property
    def state(self) -> str:
        return "connected" if self.connected else "disconnected"

    # --- the connection ------------------------------------------------------------

    async def run(self) -> None:
        """Connect, publish, reconnect with capped exponential backoff; until `close`."""
        s = self.settings
        backoff_s = s.reconnect_min_s
        try:
            while not self._stopping.is_set():
                self._session_connected = False
                try:
                    await self._session()
                    backoff_s = s.reconnect_min_s
                except MqttError as exc:
                    was_connected = self._session_connected
                    failure = diagnose(exc, s, self.topics.base, was_connected=was_connected)
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
        self.work.set()
        await _wait(self._stopped, timeout_s)
        if self._stopped.is_set():
            self.close_owned_outbox()

    async def _session(self) -> None:
        session = MqttSession(self.connect_options(), answer_timeout_s=PUBLISH_TIMEOUT_S)
        try:
            await session.connect()
            await self._connected_session(session)
        finally:
            self.connected = False
            await session.disconnect()

    async def _connected_session(self, session: MqttSession) -> None:
        self.connected = self._session_connected = True
        log.info("connected to broker", host=self.settings.host, port=self.settings.port)
        await session.publish_acknowledged(self.topics.status, ONLINE.payload, retain=True)
        self.report_due = True
        for topic, payload in self.retained_picture():
            await session.publish_acknowledged(topic, payload, retain=True)
        drain = asyncio.create_task(self._drain(session))
        lost = asyncio.create_task(self._raise_when_lost(session))
        try:
            done, _ = await asyncio.wait({drain, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (drain, lost):
                task.cancel()
            await asyncio.gather(drain, lost, return_exceptions=True)
        for task in done:
            task.result()  # raises the MqttError that ended the session
        if self._stopping.is_set():
            await session.publish_acknowledged(self.topics.status, OFFLINE.payload, retain=True)
            log.info("published offline, disconnecting")

    async def _drain(self, session: MqttSession) -> None:
        while True:
            await self._publish_report_if_due(session)
            while (entry := self.outbox.head()) is not None:
                await session.publish_acknowledged(entry.topic, entry.payload, retain=True)
                self.outbox.remove(entry.id)  # only after PUBACK
                await self._publish_report_if_due(session)
            if self._stopping.is_set():
                return
            while (telemetry := self.next_telemetry()) is not None:
                await session.publish(*telemetry)
            if self.idle():
                self.work.clear()
                await self.work.wait()

    async def _publish_report_if_due(self, session: MqttSession) -> None:
        report = self.report_if_due()
        if report is not None:
            payload = report.wire_json()
            await session.publish_acknowledged(self.delivery_topic, payload, retain=True)
            self.report_published(report)

    @staticmethod
    async def _raise_when_lost(session: MqttSession) -> None:
        raise await session.lost()

    def connect_options(self) -> ConnectOptions:
        """How this station connects: `mqtt` settings, its client id, its last will."""
        s = self.settings
        return ConnectOptions(
            host=s.host,
            port=s.port,
            client_id=s.effective_client_id(self._station),
            keepalive_s=s.keepalive_s,
            connect_timeout_s=s.connect_timeout_s,
            mqtt5=s.protocol == "5",
            username=s.username,
            password=s.password.get_secret_value() if s.password is not None else None,
            will=Will(self.topics.status, OFFLINE.payload, qos=1, retain=True),
            tls_context=self._tls_context(),
        )

    def _tls_context(self) -> ssl.SSLContext | None:
        s = self.settings
        if s.tls_ca_file is None and s.tls_cert_file is None:
            return None
        try:
            context = ssl.create_default_context(
                cafile=str(s.tls_ca_file) if s.tls_ca_file is not None else None
            )
            if s.tls_cert_file is not None and s.tls_key_file is not None:
                context.load_cert_chain(str(s.tls_cert_file), str(s.tls_key_file))
        except OSError as error:  # ssl.SSLError is one too: not PEM, key and cert apart
            raise TlsFilesError(f"cannot load the TLS files: {error}") from error
        context.check_hostname = s.tls_verify_hostname
        return context


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    """Until `event` is set or `timeout_s` passed. Not `asyncio.wait_for`: on Python 3.11
    it swallows a cancellation that arrives as the awaited thing completes."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()

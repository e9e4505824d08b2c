"""MQTT publishing with reconnection: status, alerts and sensor health (QoS 1,
retained) and telemetry (QoS 0).

Alerts and health changes wait in an in-memory outbox and leave it only once
the broker has acknowledged them (aiomqtt's QoS 1 publish returns after
PUBACK), so an outage delays them but does not lose them while the process
lives. Telemetry is best effort: while the broker is away only the newest few
samples are kept. After every (re)connect the station announces `online` and
republishes each zone's alert state and each sensor's health, so a broker that
restarted without persistence has the retained picture back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
from collections import deque
from typing import Any

import aiomqtt
import structlog

from .config import MqttSettings
from .topics import Topics

log = structlog.get_logger("hullwatch.mqtt")

PUBLISH_TIMEOUT_S = 10.0
TELEMETRY_BUFFER_PER_ZONE = 4
OUTBOX_LIMIT = 10_000


class Publisher:
    def __init__(self, settings: MqttSettings, *, station: str, zone_ids: list[str]) -> None:
        self._settings = settings
        self._station = station
        self.topics = Topics(settings.topic_prefix, station)
        self._outbox: deque[tuple[str, str]] = deque()
        self._current_alert: dict[str, str] = {}
        self._current_health: dict[str, str] = {}
        self._telemetry: deque[tuple[str, str]] = deque(
            maxlen=TELEMETRY_BUFFER_PER_ZONE * max(1, len(zone_ids))
        )
        self._work = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self.connected = False
        self.telemetry_dropped = 0

    @property
    def state(self) -> str:
        return "connected" if self.connected else "disconnected"

    def publish_alert(self, zone_id: str, document: dict[str, Any]) -> None:
        payload = json.dumps(document, separators=(",", ":"))
        self._current_alert[zone_id] = payload
        self._enqueue(self.topics.alert(zone_id), payload)

    def publish_health(self, sensor_id: str, document: dict[str, Any]) -> None:
        """Retained at QoS 1, delivered in order with the alerts."""
        payload = json.dumps(document, separators=(",", ":"))
        self._current_health[sensor_id] = payload
        self._enqueue(self.topics.health(sensor_id), payload)

    def _enqueue(self, topic: str, payload: str) -> None:
        if len(self._outbox) >= OUTBOX_LIMIT:
            # Only an outage of days with a flapping zone gets here; keep the newest.
            dropped_topic, _ = self._outbox.popleft()
            log.error("outbox full, dropping the oldest message", topic=dropped_topic)
        self._outbox.append((topic, payload))
        self._work.set()

    def publish_telemetry(self, zone_id: str, document: dict[str, Any]) -> None:
        if len(self._telemetry) == self._telemetry.maxlen:
            self.telemetry_dropped += 1
        self._telemetry.append(
            (self.topics.telemetry(zone_id), json.dumps(document, separators=(",", ":")))
        )
        self._work.set()

    async def run(self) -> None:
        """Connect, publish, reconnect with capped exponential backoff; until `close`."""
        backoff_s = self._settings.reconnect_min_s
        while not self._stopping.is_set():
            try:
                await self._session()
                backoff_s = self._settings.reconnect_min_s
            except aiomqtt.MqttError as exc:
                self.connected = False
                delay_s = backoff_s * random.uniform(0.5, 1.0)  # jitter spreads reconnects
                log.warning(
                    "broker unreachable, retrying",
                    host=self._settings.host,
                    port=self._settings.port,
                    error=str(exc),
                    retry_in_s=round(delay_s, 2),
                    alerts_waiting=len(self._outbox),
                )
                backoff_s = min(backoff_s * 2.0, self._settings.reconnect_max_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay_s)
        self._stopped.set()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Flush what can be flushed within `timeout_s`, publish `offline`, disconnect."""
        self._stopping.set()
        self._work.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), timeout_s)

    async def _session(self) -> None:
        async with self._client() as client:
            self.connected = True
            log.info("connected to broker", host=self._settings.host, port=self._settings.port)
            await client.publish(
                self.topics.status, "online", qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S
            )
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
                await client.publish(
                    self.topics.status, "offline", qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S
                )
                log.info("published offline, disconnecting")
        self.connected = False

    async def _republish_state(self, client: aiomqtt.Client) -> None:
        waiting = {topic for topic, _ in self._outbox}
        retained = [
            *((self.topics.alert(zone), payload) for zone, payload in self._current_alert.items()),
            *(
                (self.topics.health(sensor), payload)
                for sensor, payload in self._current_health.items()
            ),
        ]
        for topic, payload in retained:
            if topic not in waiting:  # the outbox will publish a newer state anyway
                await client.publish(topic, payload, qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S)

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            while self._outbox:
                topic, payload = self._outbox[0]
                await client.publish(topic, payload, qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S)
                self._outbox.popleft()  # only after PUBACK
            if self._stopping.is_set():
                return
            while self._telemetry and not self._outbox:
                topic, payload = self._telemetry.popleft()
                await client.publish(topic, payload, qos=0, timeout=PUBLISH_TIMEOUT_S)
            if not self._outbox and not self._telemetry:
                self._work.clear()
                await self._work.wait()

    @staticmethod
    async def _wait_for_disconnect(client: aiomqtt.Client) -> None:
        # Nothing is subscribed; the iterator only ends by raising on disconnect.
        async for _ in client.messages:
            pass

    def _client(self) -> aiomqtt.Client:
        s = self._settings
        password = s.password.get_secret_value() if s.password is not None else None
        return aiomqtt.Client(
            s.host,
            s.port,
            identifier=s.effective_client_id(self._station),
            username=s.username,
            password=password,
            keepalive=s.keepalive_s,
            timeout=PUBLISH_TIMEOUT_S,
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

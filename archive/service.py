"""`hullwatch archive`: the central broker's documents into PostgreSQL, at least once.

Two tasks share a list of received messages:

- the receiver holds one MQTT 5 session on the central broker (`MqttSession`, the
  daemon's own, docs/delivery.md "The MQTT boundary": a fixed client id, `clean_start`
  off, a session expiry), subscribed at QoS 1 to `$share/<group>/<prefix>/#`, with
  manual acknowledgement: a QoS 1 message
  (alerts, health, status, delivery reports) is acknowledged only by the writer,
  after the transaction holding it committed. Killed before that, the broker still
  holds the message in the session and sends it again when the archiver is back;
  the natural keys make the second copy a no-op (exactly once in the tables).
- the writer takes up to `batch.max_messages` at a time, when that many wait or the
  oldest has waited `batch.max_delay_s`, writes them in one transaction, then
  acknowledges them in the order they arrived (MQTT 5 §4.6). PostgreSQL away: the
  same batch is retried on a new connection with capped backoff; nothing is
  acknowledged meanwhile, so the broker stops sending QoS 1 messages at
  `mqtt.receive_maximum` and queues the rest.

A message received on a connection that has since dropped is still written, but not
acknowledged: its packet id means nothing on the new connection, and the broker
sends it again anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from hullwatch.daemon.delivery.mqtt_errors import MqttError
from hullwatch.daemon.delivery.mqtt_session import ConnectOptions, Message, MqttSession

from .config import ArchiveConfig
from .documents import Cleared, Rejection, parse_message
from .store import CONNECTION_ERRORS, ArchiveStore, Incoming, WriteResult

log = structlog.get_logger("hullwatch.archive")

STATS_INTERVAL_S = 10.0
STOP_FLUSH_TIMEOUT_S = 10.0
# The broker's answers: the CONNACK (after name lookup, TCP and TLS, each bounded by
# it too) and the SUBACK.
MQTT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class _Received:
    incoming: Incoming | None  # None: nothing to store (a cleared retained topic)
    session: MqttSession  # the connection it came on, which alone can acknowledge it
    message: Message
    at_s: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class ArchiveStats:
    received: int = 0
    written: int = 0
    inserted: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    cleared: int = 0
    telemetry_dropped: int = 0
    acknowledged: int = 0
    batches: int = 0
    database_retries: int = 0
    max_lag_s: float = 0.0  # longest wait from receipt to commit in the last interval


class Archiver:
    def __init__(self, config: ArchiveConfig) -> None:
        self._config = config
        self._store = ArchiveStore(
            config.postgres.conninfo, connect_timeout_s=config.postgres.connect_timeout_s
        )
        self._pending: list[_Received] = []
        self._first_pending_at: float | None = None  # monotonic
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.stats = ArchiveStats()

    async def run(self) -> None:
        """Until `stop`: receive, write and acknowledge; reconnect to either side."""
        async with asyncio.TaskGroup() as group:
            receiver = group.create_task(self._receive_forever())
            stats = group.create_task(self._log_stats_forever())
            await self._write_forever()
            receiver.cancel()
            stats.cancel()
        await self._store.close()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    # --- receiving ------------------------------------------------------------------

    async def _receive_forever(self) -> None:
        mqtt = self._config.mqtt
        backoff_s = mqtt.reconnect_min_s
        while True:
            try:
                lost = await self._receive_session()
            except MqttError as exc:
                _log_broker_unavailable(exc, mqtt.host, mqtt.port)
            else:  # it was subscribed: start the backoff again from its minimum
                _log_broker_unavailable(lost, mqtt.host, mqtt.port)
                backoff_s = mqtt.reconnect_min_s
            await asyncio.sleep(backoff_s * random.uniform(0.8, 1.2))
            backoff_s = min(backoff_s * 2, mqtt.reconnect_max_s)

    async def _receive_session(self) -> MqttError:
        """One session: raises why it failed before it subscribed, returns why it ended
        after."""
        mqtt = self._config.mqtt
        options = ConnectOptions(
            host=mqtt.host,
            port=mqtt.port,
            client_id=mqtt.client_id,
            keepalive_s=mqtt.keepalive_s,
            connect_timeout_s=MQTT_TIMEOUT_S,
            username=mqtt.username,
            password=mqtt.secret(),
            tls_context=_tls_context(self._config),
            clean_start=False,
            session_expiry_s=mqtt.session_expiry_s,
            receive_maximum=mqtt.receive_maximum,
            manual_ack=True,
        )

        def take(message: Message) -> None:  # none arrive before `session` is bound
            self._take(message, session)

        session = MqttSession(options, answer_timeout_s=MQTT_TIMEOUT_S, on_message=take)
        async with session:
            await session.subscribe(mqtt.subscription, qos=1)
            log.info("subscribed", broker=f"{mqtt.host}:{mqtt.port}", topic=mqtt.subscription)
            return await session.lost()

    def _take(self, message: Message, session: MqttSession) -> None:
        self.stats.received += 1
        payload = message.payload
        topic = message.topic
        received_at = datetime.now(UTC)
        parsed = parse_message(self._config.mqtt.topic_prefix, topic, payload, received_at)
        if isinstance(parsed, Cleared):
            # Nothing to store, but acknowledged in its turn (MQTT 5 §4.6: in order).
            self.stats.cleared += 1
            self._append(_Received(None, session, message))
            return
        if message.qos == 0 and len(self._pending) >= self._config.batch.max_pending_messages:
            self.stats.telemetry_dropped += 1
            if self.stats.telemetry_dropped % 1000 == 1:
                log.warning(
                    "too much is waiting for PostgreSQL: dropping QoS 0 telemetry",
                    pending=len(self._pending),
                    dropped=self.stats.telemetry_dropped,
                )
            return
        if isinstance(parsed, Rejection):
            log.warning("rejected a message", topic=topic, reason=parsed.reason)
        incoming = Incoming(topic, payload, received_at, parsed)
        self._append(_Received(incoming, session, message))

    def _append(self, received: _Received) -> None:
        self._pending.append(received)
        if self._first_pending_at is None:  # the writer now has a deadline to keep
            self._first_pending_at = time.monotonic()
            self._wake.set()
        if len(self._pending) >= self._config.batch.max_messages:
            self._wake.set()

    # --- writing --------------------------------------------------------------------

    async def _write_forever(self) -> None:
        batch_settings = self._config.batch
        await self._connect_store()
        while not self._stopping.is_set():
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            assert self._first_pending_at is not None
            due_in_s = self._first_pending_at + batch_settings.max_delay_s - time.monotonic()
            if len(self._pending) < batch_settings.max_messages and due_in_s > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due_in_s)
                continue
            if not await self._write_batch(self._take_batch()):
                return
        # Stopping: what had arrived by now is written and acknowledged; what arrives
        # later is not acknowledged, so the broker sends it again to the next archiver.
        end = len(self._pending)
        while end > 0:
            batch = self._take_batch()
            end -= len(batch)
            if not await self._write_batch(batch):
                return

    def _take_batch(self) -> list[_Received]:
        batch = self._pending[: self._config.batch.max_messages]
        del self._pending[: len(batch)]
        self._first_pending_at = time.monotonic() if self._pending else None
        return batch

    async def _connect_store(self) -> None:
        """Connect (and apply the schema) at start, retrying; messages queue meanwhile."""
        postgres = self._config.postgres
        backoff_s = postgres.reconnect_min_s
        while not self._stopping.is_set():
            try:
                await self._store.connect()
            except CONNECTION_ERRORS as exc:
                log.warning("PostgreSQL unavailable: will retry", error=str(exc).strip())
            else:
                log.info("connected to PostgreSQL")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff_s * random.uniform(0.8, 1.2))
            backoff_s = min(backoff_s * 2, postgres.reconnect_max_s)

    async def _write_batch(self, batch: list[_Received]) -> bool:
        """Write until committed (then acknowledge) or stopping; False when given up."""
        postgres = self._config.postgres
        backoff_s = postgres.reconnect_min_s
        stop_deadline: float | None = None
        while True:
            try:
                if not self._store.connected:
                    await self._store.connect()
                    log.info("connected to PostgreSQL")
                result = await self._store.write(
                    [item.incoming for item in batch if item.incoming is not None]
                )
                break
            except CONNECTION_ERRORS as exc:
                self.stats.database_retries += 1
                log.warning(
                    "PostgreSQL unavailable: will retry the batch",
                    error=str(exc).strip(),
                    waiting=len(batch) + len(self._pending),
                )
            if self._stopping.is_set():
                stop_deadline = stop_deadline or time.monotonic() + STOP_FLUSH_TIMEOUT_S
                if time.monotonic() > stop_deadline:
                    log.warning(
                        "stopping with a batch unwritten: the broker sends it again",
                        messages=len(batch),
                    )
                    return False
            await asyncio.sleep(backoff_s * random.uniform(0.8, 1.2))
            backoff_s = min(backoff_s * 2, postgres.reconnect_max_s)
        self._count(batch, result)
        self._acknowledge(batch)
        return True

    def _count(self, batch: list[_Received], result: WriteResult) -> None:
        stats = self.stats
        stats.batches += 1
        stats.written += len(batch)
        stats.inserted.update(result.inserted)
        stats.duplicates.update(result.duplicates)
        stats.rejected += len(result.rejected)
        stats.max_lag_s = max(stats.max_lag_s, time.monotonic() - batch[0].at_s)
        for item, reason in result.rejected:
            if not isinstance(item.parsed, Rejection):  # refused by PostgreSQL itself
                log.warning("rejected a message", topic=item.topic, reason=reason)

    def _acknowledge(self, batch: list[_Received]) -> None:
        """In the order they arrived; a message from a connection since lost is not
        acknowledged (`MqttSession.ack` knows its session ended)."""
        for item in batch:
            if item.session.ack(item.message):
                self.stats.acknowledged += 1

    async def _log_stats_forever(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL_S)
            s = self.stats
            log.info(
                "archive progress",
                received=s.received,
                written=s.written,
                inserted=dict(s.inserted),
                duplicates=dict(s.duplicates),
                rejected=s.rejected,
                telemetry_dropped=s.telemetry_dropped,
                pending=len(self._pending),
                max_lag_s=round(s.max_lag_s, 3),
            )
            s.max_lag_s = 0.0


def _log_broker_unavailable(error: MqttError, host: str, port: int) -> None:
    # A refused login or an untrusted certificate will not mend by itself.
    report = log.error if error.needs_a_person else log.warning
    report(
        "broker unavailable: will retry",
        broker=f"{host}:{port}",
        error=str(error),
        error_class=type(error).__name__,
    )


def _tls_context(config: ArchiveConfig) -> ssl.SSLContext | None:
    mqtt = config.mqtt
    if mqtt.tls_ca_file is None and mqtt.tls_cert_file is None:
        return None
    context = ssl.create_default_context(
        cafile=None if mqtt.tls_ca_file is None else str(mqtt.tls_ca_file)
    )
    context.check_hostname = mqtt.tls_verify_hostname
    if mqtt.tls_cert_file is not None and mqtt.tls_key_file is not None:
        context.load_cert_chain(str(mqtt.tls_cert_file), str(mqtt.tls_key_file))
    return context


async def serve(config: ArchiveConfig) -> None:
    """Run until SIGTERM or SIGINT, then write what was received and stop."""
    archiver = Archiver(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, archiver.stop)
    await archiver.run()
    log.info("hullwatch archive stopped", **_final(archiver.stats))


def _final(stats: ArchiveStats) -> dict[str, Any]:
    return {
        "received": stats.received,
        "written": stats.written,
        "rejected": stats.rejected,
        "telemetry_dropped": stats.telemetry_dropped,
    }

"""What waits to be published, without the network: the outbox's front, the retained
picture, the telemetry ring and the delivery report (docs/delivery.md).

Alerts and health changes go into the outbox (`outbox.Outbox`: SQLite under the
state directory, or in memory when none is given) before anything is sent; `seq`
comes from the outbox (`next_seq`), so it never goes backwards across restarts.
Telemetry is best effort: while the broker is away only the newest few documents
per zone are kept. `work` is set whenever something new waits; the publisher
(`publisher.Publisher`) drains all of it over an MQTT session.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import structlog

from ..settings.config import MqttSettings
from .outbox import Entry, Kind, Outbox, alert_kind
from .topics import Topics
from .wire import (
    Alert,
    DeliveryReport,
    SensorHealth,
    Telemetry,
    WireDocument,
    utc_time,
)

log = structlog.get_logger("hullwatch.mqtt")

DELIVERY_TOPIC_LEVEL: Final = "delivery"  # <prefix>/<station>/delivery


class DeliveryQueue:
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
        self.settings = settings
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
        self.work = asyncio.Event()
        self.report_due = True
        self._reported_pending = 0
        self.telemetry_dropped = 0

    # --- what the service hands over -----------------------------------------------

    def next_seq(self) -> int:
        """The next alert `seq`: persistent with a durable outbox, never going backwards."""
        return self.outbox.next_seq()

    def publish_alert(self, zone_id: str, document: Alert) -> None:
        """Queued in the outbox (on disk once `when_stored` says so); published at QoS 1,
        retained."""
        self._store(alert_kind(document.kind), self.topics.alert(zone_id), document, document.seq)

    def when_stored(self, callback: Callable[[], object]) -> None:
        """Call `callback` on the event loop once every alert and health document handed
        over so far is on disk (the outbox writes off the loop: `Outbox.when_durable`)."""
        self.outbox.when_durable(callback)

    def publish_health(self, sensor_id: str, document: SensorHealth) -> None:
        """Retained at QoS 1, delivered in order with the alerts."""
        self._store(Kind.HEALTH, self.topics.health(sensor_id), document, None)

    def clear_retained(self, topic: str) -> None:
        """Delete a retained alert or health topic nobody publishes any more (a zone or
        a sensor a reload removed): an empty retained message, through the outbox so
        that it follows whatever still waits there for that topic."""
        self._current.pop(topic, None)
        self._add(Kind.HEALTH, topic, "", None)

    def publish_telemetry(self, zone_id: str, document: Telemetry) -> None:
        if len(self._telemetry) == self._telemetry.maxlen:
            self.telemetry_dropped += 1
        self._telemetry.append((self.topics.telemetry(zone_id), document.wire_json()))
        self.work.set()

    def _store(self, kind: Kind, topic: str, document: WireDocument, seq: int | None) -> None:
        payload = document.wire_json()
        self._current[topic] = payload
        self._add(kind, topic, payload, seq)

    def _add(self, kind: Kind, topic: str, payload: str, seq: int | None) -> None:
        for dropped in self.outbox.add(kind, topic, payload, seq=seq):
            self._report_drop(dropped)
            self.report_due = True
        self.work.set()

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

    # --- what the drain takes ------------------------------------------------------

    def retained_picture(self) -> list[tuple[str, str]]:
        """Each topic's latest alert or health document, except those the outbox will
        publish anyway (a newer state waits there)."""
        waiting = {entry.topic for entry in self.outbox.pending()}
        return [(topic, text) for topic, text in self._current.items() if topic not in waiting]

    def next_telemetry(self) -> tuple[str, str] | None:
        """The oldest buffered telemetry (topic, payload), while the outbox is empty."""
        if not self._telemetry or self.outbox.head() is not None:
            return None
        return self._telemetry.popleft()

    def idle(self) -> bool:
        return self.outbox.head() is None and not self._telemetry

    def report_if_due(self) -> DeliveryReport | None:
        """The delivery report when one is due (after a connect, a drop, or once the backlog
        the last report showed has drained); `report_published` after its PUBACK."""
        if self._reported_pending and self.outbox.head() is None:
            self.report_due = True
        return self.delivery_report() if self.report_due else None

    def report_published(self, report: DeliveryReport) -> None:
        self.report_due = False
        self._reported_pending = report.pending

    def delivery_report(self) -> DeliveryReport:
        """The document on `<prefix>/<station>/delivery` (docs/delivery.md)."""
        outbox = self.outbox
        return DeliveryReport(
            station=self._station,
            time=utc_time(),
            durable=outbox.path is not None,
            pending=len(outbox),
            pending_alerts=outbox.pending_alerts(),
            max_messages=outbox.max_messages,
            seq=outbox.seq,
            alerts_dropped=outbox.alerts_dropped,
            health_dropped=outbox.health_dropped,
            not_durable=outbox.not_durable,
            telemetry_dropped=self.telemetry_dropped,
            damaged_outbox=None if outbox.quarantined is None else str(outbox.quarantined),
        )

    def close_owned_outbox(self) -> None:
        if self._owns_outbox:
            self.outbox.close()

"""The delivery report: `<prefix>/<station>/delivery`, QoS 1, retained (docs/delivery.md)."""

from __future__ import annotations

from pydantic import Field

from .fields import Count, Identifier, UtcTime, WireDocument


class DeliveryReport(WireDocument):
    """What waits in the station's outbox and what was dropped: at every connect, after
    every drop, and when a backlog has drained. No version field: a field is only ever
    added."""

    station: Identifier = Field(description="The station (`station`).")
    time: UtcTime = Field(description="When the report was made (UTC).")
    durable: bool = Field(
        description="Whether the outbox is on disk (`state_dir`), false: in memory only."
    )
    pending: Count = Field(description="Alerts and health documents waiting in the outbox.")
    pending_alerts: Count = Field(description="Of those, alerts.")
    max_messages: Count = Field(description="The outbox's bound (`mqtt.outbox_max_messages`).")
    seq: Count = Field(description="The last alert `seq` handed out (0: none yet).")
    alerts_dropped: Count = Field(description="Alerts dropped by the bound, ever (persistent).")
    health_dropped: Count = Field(
        description="Health documents dropped by the bound, ever (persistent)."
    )
    not_durable: Count = Field(
        description="Outbox writes that failed since the start (disk full, I/O error): those "
        "messages are still delivered, but would not have survived a crash."
    )
    telemetry_dropped: Count = Field(
        description="Telemetry documents dropped while the broker was away, since the start."
    )
    damaged_outbox: str | None = Field(
        description="Where a damaged outbox database was set aside at the start; null: none."
    )

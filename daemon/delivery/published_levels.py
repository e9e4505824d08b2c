"""The level each zone last published, read back from the outbox at start.

A restarted daemon (a clean stop, `kill -9` or a power cut) chains its next
alert's `previous_level` from what subscribers were last told, not from `ok`
(`alert_policy.AlertPolicy`, docs/delivery.md "Levels across a restart").
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from ..detection.levels import Level
from .outbox import Outbox
from .topics import Topics
from .wire import Alert, DocumentError, parse_document

log = structlog.get_logger("hullwatch.daemon")


def published_levels(outbox: Outbox, topics: Topics, zone_ids: Iterable[str]) -> dict[str, Level]:
    """Per zone of the configuration, the level of the last alert queued on its topic.

    Zones that never published are absent. A stored document that is not an alert of the
    wire contract (written by hand, by another program, or of another schema version) is
    logged and the zone is absent: its next alert chains from `ok`, as before this was
    stored.
    """
    levels: dict[str, Level] = {}
    for zone_id in zone_ids:
        topic = topics.alert(zone_id)
        payload = outbox.last_alert(topic)
        if payload is None:
            continue
        try:
            alert = parse_document(Alert, payload)
        except DocumentError as exc:
            log.error(
                "the last alert stored for a zone is unreadable: its level is not carried over",
                zone=zone_id,
                topic=topic,
                path=str(outbox.path),
                error=str(exc),
            )
            continue
        levels[zone_id] = Level(alert.level)
    return levels

"""The level each zone last published, read back from the outbox at start.

A restarted daemon (a clean stop, `kill -9` or a power cut) chains its next
alert's `previous_level` from what subscribers were last told, not from `ok`
(`alert_policy.AlertPolicy`, docs/delivery.md "Levels across a restart").
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import structlog

from ..detection.levels import Level
from .outbox import Outbox
from .topics import Topics

log = structlog.get_logger("hullwatch.daemon")


def published_levels(outbox: Outbox, topics: Topics, zone_ids: Iterable[str]) -> dict[str, Level]:
    """Per zone of the configuration, the level of the last alert queued on its topic.

    Zones that never published are absent. A stored document that does not parse
    (written by hand, or by another program) is logged and the zone is absent: its
    next alert chains from `ok`, as before this was stored.
    """
    levels: dict[str, Level] = {}
    for zone_id in zone_ids:
        topic = topics.alert(zone_id)
        payload = outbox.last_alert(topic)
        if payload is None:
            continue
        try:
            document = json.loads(payload)
            level = Level(document["level"])
        except (ValueError, TypeError, KeyError) as exc:
            log.error(
                "the last alert stored for a zone is unreadable: its level is not carried over",
                zone=zone_id,
                topic=topic,
                path=str(outbox.path),
                error=repr(exc),
            )
            continue
        levels[zone_id] = level
    return levels

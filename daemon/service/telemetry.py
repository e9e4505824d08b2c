"""Telemetry: each zone's newest assessment published every `telemetry_interval_s`, with
its sensors' configured and measured thermal lags, and a log line when the two disagree."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import structlog

from ..delivery.alert_document import telemetry_document
from ..delivery.delivery_queue import DeliveryQueue
from ..detection.detector import Assessment, ZoneDetector
from ..detection.lag_estimate import LagEstimate, lag_agrees, lag_disagrees

log = structlog.get_logger("hullwatch.daemon")

# The configuration takes 0 to 3600 s for a sensor's temperature_lag_s.
MAX_SUGGESTED_LAG_S = 3600.0


class LagWarnings:
    """Warn once when a sensor's measured thermal lag says its configured one is wrong,
    and say so once when they have come to agree (the hysteresis is `lag_disagrees`
    and `lag_agrees`)."""

    def __init__(self) -> None:
        self._disagreeing: set[str] = set()  # sensors already warned about

    def check(self, zone_id: str, lags: Mapping[str, tuple[float, LagEstimate | None]]) -> None:
        for sensor_id, (configured_s, estimate) in lags.items():
            if estimate is None:
                continue
            flagged = sensor_id in self._disagreeing
            fields = {
                "zone": zone_id,
                "sensor": sensor_id,
                "configured_s": configured_s,
                "estimated_s": round(estimate.lag_s, 2),
                "estimated_stderr_s": round(estimate.stderr_s, 2),
            }
            if not flagged and lag_disagrees(configured_s, estimate):
                self._disagreeing.add(sensor_id)
                suggested_s = round(min(max(estimate.lag_s, 0.0), MAX_SUGGESTED_LAG_S))
                log.warning(
                    "temperature lag differs from the configured one",
                    suggested_temperature_lag_s=suggested_s,
                    **fields,
                )
            elif flagged and lag_agrees(configured_s, estimate):
                self._disagreeing.discard(sensor_id)
                log.info("temperature lag agrees with the configured one", **fields)


async def publish_telemetry(
    queue: DeliveryQueue,
    *,
    station: str,
    interval_s: float,
    latest: Mapping[str, Assessment],
    detectors: Mapping[str, ZoneDetector],
    clock: Callable[[], float],
) -> None:
    """Every `interval_s` on `clock` (ticks do not drift), each zone's newest assessment
    in `latest`; a zone without one (no estimate yet, or its sensors failed) is skipped."""
    warnings = LagWarnings()
    start_s = clock()
    tick = 0
    while True:
        tick += 1
        await asyncio.sleep(max(0.0, start_s + tick * interval_s - clock()))
        for zone_id, assessment in latest.items():
            lags = detectors[zone_id].lag_estimates()
            warnings.check(zone_id, lags)
            queue.publish_telemetry(
                zone_id, telemetry_document(assessment, station=station, lags=lags)
            )

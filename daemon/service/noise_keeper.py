"""The detectors' learned noise across restarts: restored before the first sample, saved
every `NOISE_SAVE_INTERVAL_S` and when the daemon halts (the file is `noise_store`'s)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import structlog

from ..detection.detector import ZoneDetector
from .noise_store import NOISE_SAVE_INTERVAL_S, NoiseStore, learned_octaves, noise_text

log = structlog.get_logger("hullwatch.daemon")


class NoiseKeeper:
    def __init__(
        self, store: NoiseStore, detectors: Mapping[str, ZoneDetector], zone_of: Mapping[str, str]
    ) -> None:
        self.store = store
        self._detectors = detectors
        self._zone_of = zone_of

    def restore(self) -> None:
        """Give each detector what its sensors taught it in an earlier run (before the
        first sample). Zones and sensors the configuration no longer has are dropped."""
        problems = []
        for zone_id, sensors in self.store.load().items():
            detector = self._detectors.get(zone_id)
            if detector is None:
                continue
            for sensor_id, state in sensors.items():
                if self._zone_of.get(sensor_id) != zone_id:
                    continue
                try:
                    detector.restore_noise(sensor_id, state)
                except ValueError as exc:
                    problems.append(f"zone {zone_id!r}, sensor {sensor_id!r}: {exc}")
                    continue
                learned = learned_octaves(state)
                log.debug(
                    f"noise model restored for sensor {sensor_id} ({learned} octaves)",
                    zone=zone_id,
                    sensor=sensor_id,
                    octaves=learned,
                    path=str(self.store.path),
                )
        if problems:
            log.warning(
                "noise file: some sensors' states ignored, they learn afresh",
                path=str(self.store.path),
                reason="; ".join(problems),
            )

    async def save(self) -> None:
        # Collected on the event loop (the detectors are not thread-safe), written off it.
        text = noise_text(
            {zone_id: detector.noise_states() for zone_id, detector in self._detectors.items()}
        )
        await asyncio.to_thread(self.store.save, text)

    async def save_periodically(self) -> None:
        while True:
            await asyncio.sleep(NOISE_SAVE_INTERVAL_S)
            await self.save()

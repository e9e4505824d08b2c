"""MQTT topic names (the reference is in the README)."""

from __future__ import annotations


class Topics:
    def __init__(self, prefix: str, station: str) -> None:
        self.base = f"{prefix}/{station}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    def alert(self, zone_id: str) -> str:
        return f"{self.base}/zones/{zone_id}/alert"

    def telemetry(self, zone_id: str) -> str:
        return f"{self.base}/zones/{zone_id}/telemetry"

    def health(self, sensor_id: str) -> str:
        return f"{self.base}/sensors/{sensor_id}/health"

"""A TLS file that no longer loads (changed after the configuration was checked) is a
failure the publisher reports and retries at the slow pace, not a crash of the daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from hullwatch.daemon.delivery.publisher import Publisher
from hullwatch.daemon.settings.config import MqttSettings

EVENT = "cannot load this station's TLS files"


@pytest.fixture
def reports() -> Iterator[tuple[list[dict[str, Any]], asyncio.Event]]:
    """The publisher's reports of EVENT, and an event set once there are two."""
    found: list[dict[str, Any]] = []
    twice = asyncio.Event()

    def keep(_logger: object, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        if event_dict["event"] == EVENT:
            found.append({**event_dict, "log_level": method})
            if len(found) >= 2:
                twice.set()
        raise structlog.DropEvent

    structlog.configure(processors=[keep])
    yield found, twice
    structlog.reset_defaults()


async def test_a_ca_file_that_does_not_load_is_reported_and_retried(
    tmp_path: Path, reports: tuple[list[dict[str, Any]], asyncio.Event]
) -> None:
    found, twice = reports
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = MqttSettings(
        host="127.0.0.1", tls_ca_file=ca_file, reconnect_min_s=0.01, reconnect_max_s=0.02
    )
    publisher = Publisher(settings, station="s", zone_ids=["z"])
    running = asyncio.create_task(publisher.run())
    async with asyncio.timeout(30):
        await twice.wait()
    await publisher.close()
    await running  # ended by close, not by an exception
    first = found[0]
    assert first["log_level"] == "error"
    assert "tls_ca_file" in str(first["hint"])
    assert 0.01 <= first["retry_in_s"] <= 0.02  # reconnect_max_s, with jitter

"""Real processes for integration tests: a private Mosquitto, the simulator, the daemon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.mqtt_recorder import MqttRecorder


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def recorder_factory(broker: MosquittoBroker) -> Iterator[object]:
    recorders: list[MqttRecorder] = []

    def make(topics: list[str]) -> MqttRecorder:
        recorder = MqttRecorder(broker.host, broker.port, topics)
        recorders.append(recorder)
        return recorder

    yield make
    for recorder in recorders:
        recorder.close()

"""`MqttSession`'s manual acknowledgement and kept session (what `hullwatch archive`
builds on, docs/delivery.md "The MQTT boundary"), against a real Mosquitto: a QoS 1
message we did not acknowledge comes again on the next connection with the same client
id; one we acknowledged does not."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from hullwatch.daemon.delivery.mqtt_session import ConnectOptions, Message, MqttSession
from hullwatch.hil.broker import MosquittoBroker

pytestmark = pytest.mark.integration

TIMEOUT_S = 30.0  # generous: a loaded Raspberry Pi
SUBSCRIPTION = "$share/archivers/station/#"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path / "broker") as running:
        yield running


def _options(broker: MosquittoBroker, client_id: str) -> ConnectOptions:
    return ConnectOptions(
        host=broker.host,
        port=broker.port,
        client_id=client_id,
        keepalive_s=30,
        connect_timeout_s=TIMEOUT_S,
    )


class _Inbox:
    """What a session handed to `on_message`, with a wait for the n-th."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()

    def take(self, message: Message) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def wait_for(self, count: int) -> list[bytes]:
        async with asyncio.timeout(TIMEOUT_S):
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return [message.payload for message in self.messages]


async def test_unacknowledged_messages_come_again_on_the_kept_session(
    broker: MosquittoBroker,
) -> None:
    kept = dataclasses.replace(
        _options(broker, "archiver-1"),
        clean_start=False,
        session_expiry_s=300,
        receive_maximum=10,
        manual_ack=True,
    )
    async with MqttSession(_options(broker, "station"), answer_timeout_s=TIMEOUT_S) as station:
        first = _Inbox()
        async with MqttSession(kept, answer_timeout_s=TIMEOUT_S, on_message=first.take) as archiver:
            await archiver.subscribe(SUBSCRIPTION, qos=1)
            for n in (1, 2, 3):
                await station.publish_acknowledged(f"station/a/{n}", f"m{n}", retain=False)
            assert await first.wait_for(3) == [b"m1", b"m2", b"m3"]
            assert [message.qos for message in first.messages] == [1, 1, 1]
            assert archiver.ack(first.messages[0])
        # Gone: acknowledging on a session that ended does nothing.
        assert not archiver.ack(first.messages[1])

        second = _Inbox()
        async with MqttSession(kept, answer_timeout_s=TIMEOUT_S, on_message=second.take) as again:
            assert await second.wait_for(2) == [b"m2", b"m3"]  # no SUBSCRIBE: the kept one
            for message in second.messages:
                assert again.ack(message)
            # A message published now comes after the two sent again, and m1 never does.
            await station.publish_acknowledged("station/a/4", "m4", retain=False)
            assert await second.wait_for(3) == [b"m2", b"m3", b"m4"]
            assert again.ack(second.messages[2])

        third = _Inbox()
        async with MqttSession(kept, answer_timeout_s=TIMEOUT_S, on_message=third.take):
            await station.publish_acknowledged("station/a/5", "m5", retain=False)
            assert await third.wait_for(1) == [b"m5"]  # everything before was acknowledged

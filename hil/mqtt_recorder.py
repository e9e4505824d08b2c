"""A real MQTT subscriber for tests and HIL runs: records every message, waits for one."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hullwatch.daemon.delivery.wire import WireDocument, parse_document

D = TypeVar("D", bound=WireDocument)


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at_s: float  # monotonic, when the test saw it

    def json(self) -> Any:
        return json.loads(self.payload)

    def document(self, model: type[D]) -> D:
        """The payload as a document of the wire contract (`wire.Alert`, ...), read as a
        subscriber reads it; `wire.DocumentError` names what is wrong with it."""
        return parse_document(model, self.payload)


class MqttRecorder:
    """paho's network thread subscribes (again after every reconnect) and records."""

    def __init__(self, host: str, port: int, topics: list[str]) -> None:
        self._topics = topics
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._arrived: queue.Queue[Received] = queue.Queue()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        self._client.connect_async(host, port, keepalive=10)
        self._client.loop_start()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_for(
        self, predicate: Callable[[Received], bool], timeout_s: float, what: str
    ) -> Received:
        """The first message (already recorded or still to come) that satisfies `predicate`."""
        with self._lock:
            for message in self.messages:
                if predicate(message):
                    return message
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no message {what} within {timeout_s} s; got: "
                    + ", ".join(f"{m.topic}={m.payload[:80]!r}" for m in self.messages[-10:])
                )
            try:
                message = self._arrived.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(message):
                return message

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        for topic in self._topics:
            client.subscribe(topic, qos=1)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        received = Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic())
        with self._lock:
            self.messages.append(received)
        self._arrived.put(received)

"""A real PostgreSQL (one per module, a fresh database per test), a real Mosquitto, and
`hullwatch archive` as a process."""

from __future__ import annotations

import itertools
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.postgres import PostgresServer, postgres_bin_dir, temporary_workdir
from hullwatch.hil.processes import ManagedProcess, hullwatch_command

# The central broker must queue, for an archiver that is away or behind, more than a
# burst holds (Mosquitto's default is 1000 messages per client): docs/fleet.md.
CENTRAL_BROKER_CONFIG = "max_queued_messages 1000000\n"
_database_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (no initdb): `make setup` installs it")
    workdir = temporary_workdir()
    server = PostgresServer(workdir / "cluster")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    """The conninfo of a new, empty database."""
    name = f"archive_{next(_database_numbers)}"
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server.conninfo.replace("dbname=postgres", f"dbname={name}")


@pytest.fixture
def central_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path / "centre", extra_config=CENTRAL_BROKER_CONFIG) as broker:
        yield broker


def archive_config(broker: MosquittoBroker, conninfo: str, extra: str = "") -> str:
    return f"""
[mqtt]
host = "{broker.host}"
port = {broker.port}
client_id = "archive-test-1"
reconnect_min_s = 0.2
reconnect_max_s = 1.0

[postgres]
conninfo = "{conninfo}"
reconnect_min_s = 0.2
reconnect_max_s = 1.0

[batch]
max_messages = 500
max_delay_s = 0.2

[logging]
format = "json"
{extra}
"""


StartArchiver = Callable[..., ManagedProcess]


@pytest.fixture
def start_archiver(tmp_path: Path) -> Iterator[StartArchiver]:
    started: list[ManagedProcess] = []

    def start(config_text: str) -> ManagedProcess:
        config = tmp_path / "archive.toml"
        config.write_text(config_text)
        process = ManagedProcess(
            "archive",
            [*hullwatch_command(), "archive", "--config", str(config)],
            tmp_path / "archive.log",
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def wait_until(
    condition: Callable[[], bool], timeout_s: float, what: str, *, logs: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s\n{logs()[-3000:]}")
        time.sleep(0.05)


def query(conninfo: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    try:
        with psycopg.connect(conninfo) as conn:
            return conn.execute(statement, params or None).fetchall()
    except psycopg.errors.UndefinedTable:
        return []  # the archiver has not created its schema yet


def scalar(conninfo: str, statement: str, *params: Any) -> Any:
    rows = query(conninfo, statement, *params)
    return rows[0][0] if rows else None


class StationPublisher:
    """A paho client publishing as the stations would (alerts QoS 1 retained, telemetry
    QoS 0), many messages in flight at once."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"stations-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self._client.max_inflight_messages_set(200)
        self._client.max_queued_messages_set(0)
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        self._pending: list[mqtt.MQTTMessageInfo] = []

    def publish(
        self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        self._pending.append(self._client.publish(topic, payload, qos=qos, retain=retain))

    def flush(self, timeout_s: float = 30.0) -> None:
        for info in self._pending:
            info.wait_for_publish(timeout=timeout_s)
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._client.disconnect()
        self._client.loop_stop()

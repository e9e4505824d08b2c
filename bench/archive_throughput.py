"""How much one `hullwatch archive` stores on this machine (docs/fleet.md "Measured").

Starts a private PostgreSQL and Mosquitto (configured as the shipped centre: a deep
queue), `hullwatch archive` as a process, and a load generator publishing the daemon's
own documents (`hullwatch.hil.fleet_load`) for simulated stations:

1. steady: `--stations` stations, one zone each, telemetry at 1 Hz (QoS 0) and an
   alert every `--alert-interval-s` (QoS 1), for `--duration-s`; every second the
   rows stored against the messages published give the backlog (lag, in seconds of
   load); at the end, the time to drain what is left;
2. burst: `--burst` telemetry documents published as fast as one publisher can,
   then the time until the last is stored: the archiver's ceiling in messages/s.

Run: `.venv/bin/python bench/archive_throughput.py` (`--stations 1000 --duration-s 30
--burst 100000` by default); prints a table and, with `--json FILE`, writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from hullwatch.hil.broker import MosquittoBroker
from hullwatch.hil.fleet_load import alert_message, telemetry_message
from hullwatch.hil.postgres import PostgresServer, temporary_workdir
from hullwatch.hil.processes import ManagedProcess, hullwatch_command

DRAIN_TIMEOUT_S = 300.0


def _count(conninfo: str, table: str) -> int:
    try:
        with psycopg.connect(conninfo) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0
    except psycopg.errors.UndefinedTable:
        return 0


def _publisher(broker: MosquittoBroker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="load", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _wait_for_rows(conninfo: str, table: str, expected: int, timeout_s: float) -> float:
    """Seconds (monotonic) at which `table` held `expected` rows."""
    deadline = time.monotonic() + timeout_s
    while _count(conninfo, table) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"{table}: {_count(conninfo, table)} of {expected} rows after {timeout_s} s"
            )
        time.sleep(0.05)
    return time.monotonic()


def steady(
    broker: MosquittoBroker, conninfo: str, stations: int, duration_s: int, alert_every_s: float
) -> dict[str, Any]:
    names = [f"st-{i:06d}" for i in range(stations)]
    start = datetime.now(UTC).replace(microsecond=0)
    client = _publisher(broker)
    published_telemetry = 0
    published_alerts = 0
    backlog_s: list[float] = []
    alert_seq = dict.fromkeys(names, 0)
    began = time.monotonic()
    for second in range(duration_s):
        moment = start + timedelta(seconds=second)
        # One second of load, prepared then published (spread by the network thread).
        messages = [telemetry_message(name, "chamber", now=moment) for name in names]
        tick = began + second
        time.sleep(max(0.0, tick - time.monotonic()))
        for topic, payload in messages:
            client.publish(topic, payload, qos=0)
        published_telemetry += len(messages)
        for index, name in enumerate(names):
            if (second + index) % int(alert_every_s) == 0:
                alert_seq[name] += 1
                topic, payload, _ = alert_message(name, "chamber", alert_seq[name])
                client.publish(topic, payload, qos=1, retain=True)
                published_alerts += 1
        stored = _count(conninfo, "telemetry")
        backlog_s.append((published_telemetry - stored) / stations)
    publish_end = time.monotonic()
    drained_at = _wait_for_rows(conninfo, "telemetry", published_telemetry, DRAIN_TIMEOUT_S)
    _wait_for_rows(conninfo, "alert", published_alerts, DRAIN_TIMEOUT_S)
    client.disconnect()
    client.loop_stop()
    offered = (published_telemetry + published_alerts) / (publish_end - began)
    return {
        "stations": stations,
        "duration_s": duration_s,
        "telemetry": published_telemetry,
        "alerts": published_alerts,
        "offered_messages_per_s": round(offered),
        "backlog_s_max": round(max(backlog_s), 2),
        "backlog_s_median": round(sorted(backlog_s)[len(backlog_s) // 2], 2),
        "drain_after_last_publish_s": round(drained_at - publish_end, 2),
    }


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (proc(5): stat fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def burst(
    broker: MosquittoBroker, conninfo: str, count: int, stations: int, archiver_pid: int
) -> dict[str, Any]:
    already = _count(conninfo, "telemetry")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    names = [f"burst-{i:05d}" for i in range(stations)]
    messages = [
        telemetry_message(
            names[i % stations], "chamber", now=start + timedelta(seconds=i // stations)
        )
        for i in range(count)
    ]
    client = _publisher(broker)
    cpu_before_s = _cpu_s(archiver_pid)
    began = time.monotonic()
    for topic, payload in messages:
        client.publish(topic, payload, qos=0)
    published_at = time.monotonic()
    stored_at = _wait_for_rows(conninfo, "telemetry", already + count, DRAIN_TIMEOUT_S)
    archiver_cpu_s = _cpu_s(archiver_pid) - cpu_before_s
    client.disconnect()
    client.loop_stop()
    return {
        "messages": count,
        "bytes_per_message": round(sum(len(p) for _, p in messages) / count),
        "publish_s": round(published_at - began, 2),
        "stored_s": round(stored_at - began, 2),
        "archived_messages_per_s": round(count / (stored_at - began)),
        "archiver_cpu_s": round(archiver_cpu_s, 2),
        "archiver_cpu_us_per_message": round(archiver_cpu_s / count * 1e6),
        "archiver_cpu_share": round(archiver_cpu_s / (stored_at - began), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--duration-s", type=int, default=30)
    parser.add_argument("--alert-interval-s", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    workdir = temporary_workdir()
    postgres = PostgresServer(workdir / "postgres")
    broker = MosquittoBroker(workdir / "broker", extra_config="max_queued_messages 10000000\n")
    archiver: ManagedProcess | None = None
    try:
        postgres.start()
        broker.start()
        config = workdir / "archive.toml"
        config.write_text(
            f'[mqtt]\nport = {broker.port}\nclient_id = "bench"\n'
            f'[postgres]\nconninfo = "{postgres.conninfo}"\n[logging]\nformat = "json"\n'
        )
        archiver = ManagedProcess(
            "archive", [*hullwatch_command(), "archive", "--config", str(config)], workdir / "a.log"
        )
        deadline = time.monotonic() + 30
        while "subscribed" not in archiver.log_text():
            if time.monotonic() > deadline or not archiver.alive():
                raise SystemExit(archiver.log_text())
            time.sleep(0.05)
        results: dict[str, Any] = {
            "steady": steady(
                broker, postgres.conninfo, args.stations, args.duration_s, args.alert_interval_s
            ),
            "burst": burst(broker, postgres.conninfo, args.burst, args.stations, archiver.pid),
        }
        with psycopg.connect(postgres.conninfo) as conn:
            row = conn.execute(
                "SELECT pg_total_relation_size('telemetry'), (SELECT count(*) FROM telemetry), "
                "pg_total_relation_size('alert'), (SELECT count(*) FROM alert)"
            ).fetchone()
        assert row is not None
        results["disk"] = {
            "telemetry_bytes_per_row": round(row[0] / row[1]),
            "alert_bytes_per_row": round(row[2] / row[3]),
        }
    finally:
        if archiver is not None:
            archiver.stop()
            progress = [line for line in archiver.log_text().splitlines() if "progress" in line]
            print("\n".join(progress[-8:]), file=sys.stderr)
        broker.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The durable outbox (daemon/delivery/outbox.py) and the publisher's side of it, without a broker.

Crash safety is tested with a real `kill -9` of a child process; power-cut safety
rests on the fsync policy (`synchronous=FULL` for every `add`), which is checked
by tracing the statements SQLite runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from hullwatch.daemon.delivery.outbox import (
    LOCK_FILE,
    OUTBOX_FILE,
    Kind,
    Outbox,
    OutboxError,
    alert_kind,
)
from hullwatch.daemon.delivery.publisher import Publisher
from hullwatch.daemon.delivery.wire import Alert
from hullwatch.daemon.settings.config import MqttSettings
from hullwatch.hil.fleet_load import station_alert, station_health, station_telemetry

MAX = 100  # the smallest bound the configuration allows
WAIT_S = 10.0  # generous: only a stalled loop or a lost write reaches it


def _open(state_dir: Path, max_messages: int = MAX) -> Outbox:
    return Outbox.open(state_dir, max_messages=max_messages)


def _rows(state_dir: Path) -> list[tuple[Any, ...]]:
    """What another process would find on disk now."""
    db = sqlite3.connect(f"{(state_dir / OUTBOX_FILE).as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("SELECT id, kind, topic, payload, seq FROM outbox ORDER BY id").fetchall()
    finally:
        db.close()


def _alert(seq: int, kind: str = "update", zone: str = "z") -> tuple[Kind, str, str, int]:
    payload = json.dumps({"event_id": f"e{seq}", "seq": seq, "kind": kind, "level": "warning"})
    return alert_kind(kind), f"p/s/zones/{zone}/alert", payload, seq


def _add_alert(outbox: Outbox, seq: int, kind: str = "update", zone: str = "z") -> list[Any]:
    entry_kind, topic, payload, seq = _alert(seq, kind, zone)
    return outbox.add(entry_kind, topic, payload, seq=seq)


# --- the state directory ------------------------------------------------------------


def test_open_creates_the_state_dir_private_and_the_database_in_wal_mode(tmp_path: Path) -> None:
    state_dir = tmp_path / "var" / "lib" / "hullwatch"
    outbox = _open(state_dir)
    try:
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((state_dir / OUTBOX_FILE).stat().st_mode) == 0o600
        db = sqlite3.connect(state_dir / OUTBOX_FILE)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
        assert (state_dir / LOCK_FILE).read_text().strip() == str(os.getpid())
        assert outbox.path == state_dir / OUTBOX_FILE
    finally:
        outbox.close()


@pytest.mark.parametrize(
    ("below_the_file", "message"),
    [
        pytest.param("", "exists and is not a directory", id="a-file"),
        pytest.param("sub", "cannot create it: Not a directory", id="below-a-file"),
    ],
)
def test_an_unusable_state_dir_is_a_clear_error(
    tmp_path: Path, below_the_file: str, message: str
) -> None:
    (tmp_path / "state").write_text("not a directory")
    state_dir = tmp_path / "state" / below_the_file if below_the_file else tmp_path / "state"
    with pytest.raises(OutboxError, match=message) as caught:
        _open(state_dir)
    assert str(caught.value).startswith(f"state_dir {state_dir}: ")
    assert caught.value.retriable is False


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(OutboxError, match="cannot create it: Permission denied"):
            _open(tmp_path / "state")
    finally:
        tmp_path.chmod(0o700)


def test_two_daemons_cannot_share_a_state_dir(tmp_path: Path) -> None:
    first = _open(tmp_path)
    try:
        with pytest.raises(OutboxError, match=rf"another hullwatch process \(pid {os.getpid()}\)"):
            _open(tmp_path)
    finally:
        first.close()
    _open(tmp_path).close()  # closing released the lock


def test_a_damaged_database_is_set_aside_and_an_empty_one_used(tmp_path: Path) -> None:
    (tmp_path / OUTBOX_FILE).write_bytes(b"this is not an SQLite database" * 100)
    with capture_logs() as logs:
        outbox = _open(tmp_path)
    try:
        assert outbox.quarantined is not None
        assert outbox.quarantined.read_bytes().startswith(b"this is not")
        assert len(outbox) == 0
        assert outbox.next_seq() == 1
        assert any(e["event"].startswith("outbox database damaged") for e in logs)
    finally:
        outbox.close()


def test_a_newer_schema_is_refused_not_destroyed(tmp_path: Path) -> None:
    _open(tmp_path).close()
    db = sqlite3.connect(tmp_path / OUTBOX_FILE)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(OutboxError, match="schema version 99"):
        _open(tmp_path)
    assert (tmp_path / OUTBOX_FILE).exists()


# --- the queue and seq --------------------------------------------------------------


def test_messages_and_seq_survive_a_reopen_in_order(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    assert [outbox.next_seq() for _ in range(3)] == [1, 2, 3]
    for seq in (1, 2, 3):
        _add_alert(outbox, seq, "level_change" if seq == 1 else "update")
    outbox.add(Kind.HEALTH, "p/s/sensors/a/health", '{"health":"ok"}')
    head = outbox.head()
    assert head is not None
    outbox.remove(head.id)
    outbox.close()

    again = _open(tmp_path)
    try:
        assert [(e.kind, e.seq) for e in again.pending()] == [
            (Kind.ALERT_UPDATE, 2),
            (Kind.ALERT_UPDATE, 3),
            (Kind.HEALTH, None),
        ]
        assert again.next_seq() == 4
        _add_alert(again, 5)
        assert [e.id for e in again.pending()] == sorted(e.id for e in again.pending())
    finally:
        again.close()


def test_a_seq_stored_in_an_alert_is_never_handed_out_again(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    _add_alert(outbox, 41)  # a seq taken from somewhere else (an older service)
    outbox.close()
    again = _open(tmp_path)
    assert again.seq == 41
    assert again.next_seq() == 42
    again.close()


def test_add_is_on_disk_when_it_returns_and_remove_takes_it_off(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    try:
        _add_alert(outbox, 1)
        assert [row[4] for row in _rows(tmp_path)] == [1]
        head = outbox.head()
        assert head is not None
        outbox.remove(head.id)
        outbox.remove(head.id)  # twice (an eviction raced the PUBACK): no error
        assert _rows(tmp_path) == []
    finally:
        outbox.close()


def test_fsync_policy_full_for_add_normal_for_seq_and_remove(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    statements: list[str] = []
    assert outbox._db is not None
    outbox._db.set_trace_callback(statements.append)
    try:
        outbox.next_seq()
        _add_alert(outbox, 1)
        head = outbox.head()
        assert head is not None
        outbox.remove(head.id)
    finally:
        outbox.close()
    pragmas = [s for s in statements if s.startswith("PRAGMA synchronous")]
    assert pragmas == [
        "PRAGMA synchronous = NORMAL",  # next_seq
        "PRAGMA synchronous = FULL",  # add
        "PRAGMA synchronous = NORMAL",  # remove
    ]
    insert = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO outbox"))
    assert statements[insert - 2 : insert] == ["PRAGMA synchronous = FULL", "BEGIN IMMEDIATE"]


@pytest.mark.integration  # starts a process
def test_what_was_added_survives_kill_9(tmp_path: Path) -> None:
    child = textwrap.dedent(
        f"""
        import json, os, signal
        from pathlib import Path
        from hullwatch.daemon.delivery.outbox import Kind, Outbox
        outbox = Outbox.open(Path({str(tmp_path)!r}), max_messages=100)
        for _ in range(5):
            seq = outbox.next_seq()
            outbox.add(Kind.ALERT, "p/s/zones/z/alert", json.dumps({{"seq": seq}}), seq=seq)
        head = outbox.head()
        outbox.remove(head.id)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", child], check=False, timeout=30)
    assert result.returncode == -signal.SIGKILL
    outbox = _open(tmp_path)  # the lock died with the process
    try:
        assert [e.seq for e in outbox.pending()] == [2, 3, 4, 5]
        assert outbox.next_seq() == 6
    finally:
        outbox.close()


def test_a_failing_disk_keeps_messages_in_memory_and_says_so(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    try:
        assert outbox._db is not None
        pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
        outbox._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
        with capture_logs() as logs:
            for seq in range(1, 40):
                _add_alert(outbox, seq, zone=f"z{seq}")
        assert len(outbox) == 39
        assert outbox.not_durable > 0
        assert any(e["event"].startswith("outbox write failed") for e in logs)
        assert [e.seq for e in outbox.pending()] == list(range(1, 40))
    finally:
        outbox.close()


async def test_a_slow_write_does_not_stop_the_event_loop(tmp_path: Path) -> None:
    """On the event loop, `add` returns before its commit; other tasks run while the
    write waits, and `when_durable` reports it once it is on disk."""
    outbox = _open(tmp_path)
    # Another connection holds SQLite's write lock, so the outbox's commit waits for it
    # as it would for a slow fsync on a worn SD card (SQLite's busy timeout: 5 s).
    blocker = sqlite3.connect(tmp_path / OUTBOX_FILE, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    stored = asyncio.Event()
    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        for _ in range(20):
            ticks += 1
            await asyncio.sleep(0)

    try:
        _add_alert(outbox, 1)
        outbox.when_durable(stored.set)
        head = outbox.head()
        assert head is not None
        assert head.seq == 1  # the queue has it: the publisher can send it now
        async with asyncio.timeout(WAIT_S):
            await other_task()
        assert ticks == 20
        assert not stored.is_set()  # the write is still waiting for the disk...
        assert _rows(tmp_path) == []
        blocker.execute("COMMIT")  # ...which now catches up
        async with asyncio.timeout(WAIT_S):
            await stored.wait()
        assert [row[4] for row in _rows(tmp_path)] == [1]
        assert outbox.not_durable == 0
    finally:
        blocker.close()
        outbox.close()


async def test_inline_writes_commit_on_the_event_loop_before_add_returns(tmp_path: Path) -> None:
    """`inline_writes` (for bench/outbox_stall.py): the commit runs on the loop's thread."""
    outbox = Outbox.open(tmp_path, max_messages=MAX, inline_writes=True)
    try:
        _add_alert(outbox, 1)
        assert [row[4] for row in _rows(tmp_path)] == [1]  # on disk, no writer to wait for
        stored = asyncio.Event()
        outbox.when_durable(stored.set)
        async with asyncio.timeout(WAIT_S):
            await stored.wait()
    finally:
        outbox.close()


async def test_writes_on_the_event_loop_are_on_disk_in_order_after_close(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    for seq in range(1, 6):
        assert outbox.next_seq() == seq
        _add_alert(outbox, seq, zone=f"z{seq}")
    head = outbox.head()
    assert head is not None
    outbox.remove(head.id)
    outbox.close()  # waits for the writer
    assert [row[4] for row in _rows(tmp_path)] == [2, 3, 4, 5]
    reopened = _open(tmp_path)
    try:
        assert reopened.next_seq() == 6
    finally:
        reopened.close()


def test_in_memory_outbox_behaves_the_same_and_forgets() -> None:
    outbox = Outbox.in_memory(max_messages=MAX)
    assert outbox.path is None
    assert outbox.next_seq() == 1
    _add_alert(outbox, 1)
    assert len(outbox) == 1
    outbox.close()
    assert Outbox.in_memory(max_messages=MAX).next_seq() == 1


# --- the size bound -----------------------------------------------------------------


def test_eviction_order_superseded_first_level_changes_last(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    try:
        _add_alert(outbox, 1, "level_change", zone="a")  # ALERT, kept longest
        _add_alert(outbox, 2, "update", zone="a")  # superseded by seq 3
        _add_alert(outbox, 3, "update", zone="a")  # newest of zone a
        outbox.add(Kind.HEALTH, "p/s/sensors/x/health", "h1")  # superseded by h2
        outbox.add(Kind.HEALTH, "p/s/sensors/x/health", "h2")
        for seq in range(4, MAX - 1):  # fill with level changes of other zones
            _add_alert(outbox, seq, "level_change", zone=f"b{seq}")
        assert len(outbox) == MAX

        victims = [_add_alert(outbox, 1000 + i, "level_change", zone="c") for i in range(5)]
        dropped = [(v.kind, v.payload if v.kind is Kind.HEALTH else v.seq) for [v] in victims]
        assert dropped == [
            (Kind.HEALTH, "h1"),  # 1. superseded health
            (Kind.ALERT_UPDATE, 2),  # 2. superseded update
            (Kind.HEALTH, "h2"),  # 3. any health
            (Kind.ALERT_UPDATE, 3),  # 4. any update
            (Kind.ALERT, 1),  # 5. the oldest level change
        ]
        assert (outbox.alerts_dropped, outbox.health_dropped) == (3, 2)
        assert len(outbox) == MAX
        assert len(_rows(tmp_path)) == MAX
    finally:
        outbox.close()
    again = _open(tmp_path)
    assert (again.alerts_dropped, again.health_dropped) == (3, 2)  # persistent
    again.close()


def test_filling_up_is_warned_once(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    try:
        with capture_logs() as logs:
            for seq in range(1, MAX):
                _add_alert(outbox, seq, "level_change", zone=f"z{seq}")
        warnings = [e for e in logs if e["event"].startswith("outbox filling up")]
        assert len(warnings) == 1
        assert warnings[0]["pending"] == 80
    finally:
        outbox.close()


# --- the publisher on top of it -----------------------------------------------------


def _alert_document(zone: str, seq: int, event_id: str) -> Alert:
    """A level change; `event_id` as the test names it (the drop log shows what is stored)."""
    alert = station_alert("s", zone, seq)
    return alert.model_copy(update={"event_id": event_id, "kind": "level_change"})


def _publisher(outbox: Outbox | None, **settings: Any) -> Publisher:
    return Publisher(
        MqttSettings(topic_prefix="p", **settings), station="s", zone_ids=["z"], outbox=outbox
    )


def test_publisher_seq_and_alerts_persist_across_publishers(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    publisher = _publisher(outbox)
    seq = publisher.next_seq()
    publisher.publish_alert("z", _alert_document("z", seq, "e1"))
    publisher.publish_health("a", station_health("s", "z", "a"))
    assert [row[2] for row in _rows(tmp_path)] == ["p/s/zones/z/alert", "p/s/sensors/a/health"]
    outbox.close()

    outbox = _open(tmp_path)
    try:
        publisher = _publisher(outbox)
        assert publisher.next_seq() == seq + 1
        report = publisher.delivery_report()
        assert report.durable is True
        assert (report.pending, report.pending_alerts) == (2, 1)
        assert publisher.delivery_topic == "p/s/delivery"
    finally:
        outbox.close()


def test_publisher_without_an_outbox_keeps_the_old_constructor_working() -> None:
    publisher = Publisher(MqttSettings(), station="s", zone_ids=["z"])
    assert publisher.next_seq() == 1
    assert publisher.delivery_report().durable is False
    assert publisher.outbox.max_messages == MqttSettings().outbox_max_messages


def test_publisher_logs_every_dropped_alert_loudly(tmp_path: Path) -> None:
    outbox = _open(tmp_path)
    publisher = _publisher(outbox, outbox_max_messages=MAX)
    try:
        with capture_logs() as logs:
            for seq in range(1, MAX + 3):
                publisher.publish_alert(f"z{seq}", _alert_document(f"z{seq}", seq, f"e{seq}"))
        dropped = [e for e in logs if e["event"] == "outbox full: dropped an alert"]
        assert [(e["seq"], e["event_id"], e["log_level"]) for e in dropped] == [
            (1, "e1", "error"),
            (2, "e2", "error"),
        ]
        assert publisher.delivery_report().alerts_dropped == 2
    finally:
        outbox.close()


def test_telemetry_is_bounded_per_zone_and_drops_are_counted() -> None:
    publisher = _publisher(None, telemetry_buffer_per_zone=3)
    for _ in range(10):
        publisher.publish_telemetry("z", station_telemetry("s", "z"))
    assert publisher.telemetry_dropped == 7
    assert len(publisher.outbox) == 0  # telemetry never enters the outbox

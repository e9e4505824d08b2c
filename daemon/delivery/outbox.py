"""The durable outbox: alerts and health changes stay on disk until the broker has them.

One SQLite database in WAL mode, `<state_dir>/outbox.sqlite3`, guarded by an
exclusive `flock` on `<state_dir>/outbox.lock` so that two daemons never drain
one outbox. A message is committed before it is published and deleted only after
the broker's PUBACK; `seq`, the alert counter subscribers use to see gaps, lives
in the same database and never goes backwards (docs/delivery.md).

Durability (the fsync policy):
- `add` commits with `synchronous=FULL`: SQLite fsyncs the WAL before `add`
  returns, so an alert survives `kill -9` and a power cut from then on.
- `next_seq` and `remove` commit with `synchronous=NORMAL`: the WAL write reaches
  the kernel (safe against `kill -9`) and is fsynced by the next `add` or
  checkpoint. A power cut may undo them: a removed message comes back and is
  published again (a duplicate, dropped by its `event_id`), and a seq handed
  out but never stored in an alert may be handed out again. A seq stored in an
  alert is never reused: `add` raises the stored counter to it.

Writes run off the event loop, on the outbox's own writer thread, in the order
they were made (`outbox_writer.ThreadWriter`): a slow fsync on a worn SD card
stalls no poller. The queue itself is mirrored in memory, so `add`, `remove` and
`next_seq` return at once on the event loop and reading the head costs no I/O.
"Durable when acknowledged": code on the event loop that must know a write is on
disk (the service logs an alert only then) asks `when_durable`; a caller outside
an event loop (a tool, a test) has nothing else to run and waits for each write
before the call returns, as before. `close` waits for every write made. If a
write fails (disk full, I/O error) the message stays queued in memory only,
the failure is logged, and `not_durable` counts it: delivery goes on, only the
protection against a crash is lost for that message.

The size bound (`max_messages`) evicts, oldest first within each class:
1. health documents a newer one for the same sensor supersedes,
2. alert updates (`kind = "update"`) a newer alert of the same zone supersedes,
3. other health documents, 4. other alert updates, 5. level changes.
Every eviction is logged (an alert at error level) and counted; the counts are
persistent. Telemetry never enters the outbox: it is shed long before this.

The last alert queued on each topic is also kept, after its PUBACK too
(`last_alert`), in the same transaction as the message itself: a restarted
daemon, even after `kill -9` right after queuing, knows the level each zone last
published and chains its next alert's `previous_level` from it
(`published_levels`, docs/delivery.md). An empty payload on a topic (a retained
alert cleared) forgets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final, TextIO

import structlog

from .outbox_writer import InlineWriter, ThreadWriter, Writer

log = structlog.get_logger("hullwatch.outbox")

OUTBOX_FILE: Final = "outbox.sqlite3"
LOCK_FILE: Final = "outbox.lock"
SCHEMA_VERSION: Final = 1
FILLING_FRACTION: Final = 0.8  # warn once when the outbox gets this full

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    seq INTEGER,
    stored_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS last_alert (topic TEXT PRIMARY KEY, payload TEXT NOT NULL);
"""
# `last_alert` was added without a new SCHEMA_VERSION: an older hullwatch ignores the
# table, and this one creates it in a database an older one wrote.
_COUNTERS: Final = ("seq", "alerts_dropped", "health_dropped")


class OutboxError(Exception):
    """The state directory or its database cannot be used; fatal at startup (exit 78)."""

    retriable = False

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(f"state_dir {path}: {message}")
        self.path = path


class Kind(StrEnum):
    ALERT = "alert"  # a level change (or any alert that is not an update)
    ALERT_UPDATE = "alert_update"  # fresh estimates at an unchanged level
    HEALTH = "health"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: Kind
    topic: str
    payload: str
    seq: int | None


# Eviction classes in order: (kind, only when a newer entry on its topic exists).
_EVICTION_ORDER: Final = (
    (Kind.HEALTH, True),
    (Kind.ALERT_UPDATE, True),
    (Kind.HEALTH, False),
    (Kind.ALERT_UPDATE, False),
    (Kind.ALERT, False),
)


class Outbox:
    """A FIFO of messages waiting for PUBACK, and the persistent alert `seq`."""

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        max_messages: int,
        path: Path | None = None,
        lock: TextIO | None = None,
        quarantined: Path | None = None,
        seq_floor: int = 0,
        inline_writes: bool = False,
    ) -> None:
        self.path = path  # None: in memory, nothing survives the process
        self.max_messages = max_messages
        self.quarantined = quarantined  # a damaged database set aside at open
        self.not_durable = 0
        # Read here, at open; written only through `_writer` from then on (tests may
        # inspect it).
        self._db: sqlite3.Connection | None = db
        self._lock = lock
        self._filling_warned = False
        db.executescript(_SCHEMA)
        for key in _COUNTERS:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, 0)", (key,))
        counters = dict(db.execute("SELECT key, value FROM meta").fetchall())
        self.alerts_dropped = int(counters["alerts_dropped"])
        self.health_dropped = int(counters["health_dropped"])
        rows = db.execute("SELECT id, kind, topic, payload, seq FROM outbox ORDER BY id").fetchall()
        self._entries: OrderedDict[int, Entry] = OrderedDict(
            (row[0], Entry(row[0], Kind(row[1]), row[2], row[3], row[4])) for row in rows
        )
        self._last_alerts: dict[str, str] = dict(
            db.execute("SELECT topic, payload FROM last_alert").fetchall()
        )
        stored_seqs = [e.seq for e in self._entries.values() if e.seq is not None]
        self._seq = max([seq_floor, int(counters["seq"]), *stored_seqs])
        self._next_id = (rows[-1][0] if rows else 0) + 1
        # An in-memory database has no fsync to wait for: its writes run inline.
        # `inline_writes` puts an on-disk one's there too (bench/outbox_stall.py
        # compares the two); the daemon never asks for it.
        self._writer: Writer = (
            InlineWriter(db)
            if path is None or inline_writes
            else ThreadWriter(db, name="outbox-writer")
        )

    # --- opening ---------------------------------------------------------------

    @classmethod
    def in_memory(cls, *, max_messages: int) -> Outbox:
        """The same queue and bound in an SQLite `:memory:` database: lost with the process."""
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        return cls(db, max_messages=max_messages)

    @classmethod
    def open(cls, state_dir: Path, *, max_messages: int, inline_writes: bool = False) -> Outbox:
        """Create `state_dir` if needed (mode 0700), lock it, open or create the database.

        `inline_writes`: commit on the caller's thread (`InlineWriter`), stalling an
        event loop for each fsync, instead of on the writer thread; for comparisons only.

        Raises `OutboxError` when the directory cannot be created or written, or
        another process holds it. A database SQLite reports damaged is renamed to
        `outbox.sqlite3.damaged-<unix time>`, logged, and replaced by an empty one
        (a leak detector must run even when its history is lost); `seq` continues
        from what can still be read from the damaged file.
        """
        if state_dir.exists() and not state_dir.is_dir():
            raise OutboxError("exists and is not a directory", path=state_dir)
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise OutboxError(f"cannot create it: {exc.strerror or exc}", path=state_dir) from exc
        lock = _lock(state_dir)
        db_path = state_dir / OUTBOX_FILE
        quarantined: Path | None = None
        seq_floor = 0
        try:
            try:
                db = _connect(db_path)
            except sqlite3.DatabaseError as exc:
                if not _is_damage(exc):
                    raise
                seq_floor = _salvage_seq(db_path)
                quarantined = _quarantine(db_path, exc, seq_floor)
                db = _connect(db_path)
            outbox = cls(
                db,
                max_messages=max_messages,
                path=db_path,
                lock=lock,
                quarantined=quarantined,
                seq_floor=seq_floor,
                inline_writes=inline_writes,
            )
        except sqlite3.Error as exc:
            lock.close()
            raise OutboxError(f"cannot use {db_path}: {exc}", path=state_dir) from exc
        log.info(
            "outbox opened",
            path=str(db_path),
            pending=len(outbox),
            seq=outbox.seq,
            max_messages=max_messages,
        )
        return outbox

    # --- the queue -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def seq(self) -> int:
        """The last seq handed out or stored."""
        return self._seq

    def pending(self) -> list[Entry]:
        return list(self._entries.values())

    def head(self) -> Entry | None:
        return next(iter(self._entries.values()), None)

    def pending_alerts(self) -> int:
        return sum(1 for e in self._entries.values() if e.kind is not Kind.HEALTH)

    def last_alert(self, topic: str) -> str | None:
        """The payload of the last alert queued on `topic`, delivered or not (None: none,
        or its retained alert was cleared since)."""
        return self._last_alerts.get(topic)

    def next_seq(self) -> int:
        """The next alert seq, its write queued before it is returned (see the fsync policy)."""
        self._seq += 1
        self._write("next_seq", "UPDATE meta SET value = ? WHERE key = 'seq'", (self._seq,))
        return self._seq

    def when_durable(self, callback: Callable[[], object]) -> None:
        """Call `callback` on this event loop once every write made so far is on disk (or
        has failed, which is logged and counted in `not_durable`). Outside an event loop
        every write is done when its call returns, and so `callback` is called at once."""
        self._writer.when_done(callback)

    def wait_durable(self) -> None:
        """Block until every write made so far has been done (not on the event loop)."""
        self._writer.submit(lambda _db: None).result()

    def add(self, kind: Kind, topic: str, payload: str, *, seq: int | None = None) -> list[Entry]:
        """Queue a message, durably; returns what the size bound evicted to make room."""
        evicted = self._make_room()
        entry = Entry(self._next_id, kind, topic, payload, seq)
        self._next_id += 1
        self._entries[entry.id] = entry
        statements: list[tuple[str, tuple[object, ...]]] = [
            (
                "INSERT INTO outbox (id, kind, topic, payload, seq, stored_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (entry.id, kind.value, topic, payload, seq, time.time()),
            )
        ]
        if seq is not None and seq > self._seq:
            self._seq = seq  # a seq taken elsewhere still never goes backwards
            statements.append(("UPDATE meta SET value = ? WHERE key = 'seq'", (seq,)))
        if kind is not Kind.HEALTH:
            self._last_alerts[topic] = payload
            statements.append(
                (
                    "INSERT OR REPLACE INTO last_alert (topic, payload) VALUES (?, ?)",
                    (topic, payload),
                )
            )
        elif payload == "" and self._last_alerts.pop(topic, None) is not None:
            statements.append(("DELETE FROM last_alert WHERE topic = ?", (topic,)))
        self._transaction("add", statements, durable=True, counted=True)
        self._warn_if_filling()
        return evicted

    def remove(self, entry_id: int) -> None:
        """Forget a message the broker acknowledged (a no-op if it was evicted meanwhile)."""
        if self._entries.pop(entry_id, None) is None:
            return
        self._write("remove", "DELETE FROM outbox WHERE id = ?", (entry_id,))
        if len(self._entries) < FILLING_FRACTION * self.max_messages / 2:
            self._filling_warned = False

    def close(self) -> None:
        """Checkpoint and close the database, release the lock; the queue stays readable."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                # Every write made so far, then the last connection checkpoints the WAL.
                self._writer.close()
            self._db = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # --- the size bound --------------------------------------------------------

    def _make_room(self) -> list[Entry]:
        evicted: list[Entry] = []
        while len(self._entries) >= self.max_messages:
            victim = self._victim()
            del self._entries[victim.id]
            evicted.append(victim)
        if not evicted:
            return evicted
        alerts = sum(1 for e in evicted if e.kind is not Kind.HEALTH)
        self.alerts_dropped += alerts
        self.health_dropped += len(evicted) - alerts
        statements: list[tuple[str, tuple[object, ...]]] = [
            ("DELETE FROM outbox WHERE id = ?", (e.id,)) for e in evicted
        ]
        statements += [
            ("UPDATE meta SET value = ? WHERE key = 'alerts_dropped'", (self.alerts_dropped,)),
            ("UPDATE meta SET value = ? WHERE key = 'health_dropped'", (self.health_dropped,)),
        ]
        self._transaction("evict", statements, durable=False)
        return evicted

    def _victim(self) -> Entry:
        latest: dict[str, int] = {}
        for entry in self._entries.values():
            latest[entry.topic] = entry.id
        for kind, superseded_only in _EVICTION_ORDER:
            for entry in self._entries.values():
                newest = latest[entry.topic] == entry.id
                if entry.kind is kind and not (superseded_only and newest):
                    return entry
        raise AssertionError("an outbox at its bound holds at least one entry")

    def _warn_if_filling(self) -> None:
        if not self._filling_warned and len(self._entries) >= FILLING_FRACTION * self.max_messages:
            self._filling_warned = True
            log.warning(
                "outbox filling up: the broker has been unreachable for long",
                pending=len(self._entries),
                max_messages=self.max_messages,
            )

    # --- SQLite ----------------------------------------------------------------

    def _write(self, what: str, sql: str, params: tuple[object, ...]) -> None:
        self._transaction(what, [(sql, params)], durable=False)

    def _transaction(
        self,
        what: str,
        statements: list[tuple[str, tuple[object, ...]]],
        *,
        durable: bool,
        counted: bool = False,
    ) -> None:
        """Queue `statements` as one transaction on the writer; outside an event loop, wait
        for it. A failure is logged, and with `counted` adds one to `not_durable`."""
        if self._db is None:  # closed
            if counted:
                self.not_durable += 1
            return

        def job(db: sqlite3.Connection) -> None:
            if not self._commit(db, what, statements, durable=durable) and counted:
                self.not_durable += 1  # only the writer thread writes it

        future = self._writer.submit(job)
        if not _on_event_loop():
            future.result()

    def _commit(
        self,
        db: sqlite3.Connection,
        what: str,
        statements: list[tuple[str, tuple[object, ...]]],
        *,
        durable: bool,
    ) -> bool:
        """Run `statements` in one transaction (writer thread); False (logged) on failure."""
        try:
            db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    db.execute(sql, params)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            log.error(
                "outbox write failed: the message is kept in memory only",
                operation=what,
                path=str(self.path),
                error=str(exc),
            )
            return False
        return True


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _lock(state_dir: Path) -> TextIO:
    path = state_dir / LOCK_FILE
    try:
        lock = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise OutboxError(f"cannot write in it: {exc.strerror or exc}", path=state_dir) from exc
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise OutboxError(
            f"another hullwatch process (pid {holder}) uses it; give each daemon its own state_dir",
            path=state_dir,
        ) from exc
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


class _DamagedError(sqlite3.DatabaseError):
    """The database opened but does not check out."""


def _connect(db_path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are the explicit BEGIN/COMMIT in _transaction.
    # check_same_thread=False: opened here, then used only on the writer thread.
    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    try:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise sqlite3.OperationalError(f"cannot switch to WAL mode (got {mode!r})")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _DamagedError(f"quick_check: {check}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            # A newer hullwatch wrote it: refuse rather than destroy its messages.
            raise sqlite3.OperationalError(
                f"schema version {version}, this hullwatch knows {SCHEMA_VERSION}"
            )
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.close()
        raise
    with contextlib.suppress(OSError):
        db_path.chmod(0o600)  # alerts name the station and its zones
    return db


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    # Errors SQLite raised itself carry its error name; ours (schema version) do not.
    name = getattr(exc, "sqlite_errorname", None)
    return isinstance(exc, _DamagedError) or name in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _salvage_seq(db_path: Path) -> int:
    """The highest seq still readable in a damaged database, 0 when none is."""
    found = 0
    queries = ("SELECT value FROM meta WHERE key = 'seq'", "SELECT max(seq) FROM outbox")
    for query in queries:
        with contextlib.suppress(sqlite3.Error):
            db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
            try:
                row = db.execute(query).fetchone()
            finally:
                db.close()
            if row is not None and isinstance(row[0], int):
                found = max(found, row[0])
    return found


def _quarantine(db_path: Path, exc: sqlite3.DatabaseError, seq_floor: int) -> Path:
    damaged = db_path.with_name(f"{db_path.name}.damaged-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{db_path}{suffix}")
        if source.exists():
            source.rename(Path(f"{damaged}{suffix}"))
    log.error(
        "outbox database damaged: set aside, starting an empty one; messages still in it "
        "are not delivered",
        path=str(db_path),
        moved_to=str(damaged),
        error=str(exc),
        seq_continues_from=seq_floor,
    )
    return damaged


def alert_kind(document_kind: object) -> Kind:
    """The outbox class of an alert document by its `kind` field."""
    return Kind.ALERT_UPDATE if document_kind == "update" else Kind.ALERT

"""Writing batches into PostgreSQL (psycopg 3): one transaction per batch.

Alerts, telemetry and health go through COPY into per-connection temporary tables,
then one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` each: COPY is the fastest
way into PostgreSQL, and the natural keys (`event_id`; station, zone and time; ...)
make a redelivered message a no-op. Should PostgreSQL refuse a value the document
checks let through (a NUL character in a text, say), the batch is written again row
by row, each in its own savepoint, and the refused rows go to `rejected` with
PostgreSQL's reason: one bad message never holds up the others.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from .documents import COLUMNS, Rejection, Row, Table

# Lost connection, server shut down or restarting: retry the batch on a new connection.
CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)
_COPIED = (Table.ALERT, Table.TELEMETRY, Table.HEALTH)
_NUL_FREE = str.maketrans({"\x00": "\\x00"})


def schema_sql() -> str:
    """The schema file shipped in the package (`hullwatch/archive/schema.sql`)."""
    return resources.files("hullwatch.archive").joinpath("schema.sql").read_text("utf-8")


@dataclass(frozen=True)
class Incoming:
    """A message as received, and what it became."""

    topic: str
    payload: bytes
    received_at: datetime
    parsed: Row | Rejection


@dataclass
class WriteResult:
    inserted: Counter[str] = field(default_factory=Counter)  # by table
    duplicates: Counter[str] = field(default_factory=Counter)  # by table
    rejected: list[tuple[Incoming, str]] = field(default_factory=list)


class ArchiveStore:
    """One connection; `connect` again after a `CONNECTION_ERRORS`."""

    def __init__(self, conninfo: str, *, connect_timeout_s: int) -> None:
        self._conninfo = conninfo
        self._connect_timeout_s = connect_timeout_s
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def connect(self) -> None:
        await self.close()
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo,
            connect_timeout=self._connect_timeout_s,
            application_name="hullwatch-archive",
        )
        async with conn.transaction():
            # Several archivers starting together: one applies the schema at a time.
            await conn.execute("SELECT pg_advisory_xact_lock(727137)")
            await conn.execute(schema_sql().encode())
            for table in _COPIED:
                await conn.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS"
                    ).format(_staging(table), sql.Identifier(table.value))
                )
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    async def write(self, batch: list[Incoming]) -> WriteResult:
        """Store `batch` in one transaction; raises one of `CONNECTION_ERRORS` when the
        connection failed (nothing committed: write the same batch again)."""
        conn = self._conn
        if conn is None:
            raise psycopg.OperationalError("not connected")
        try:
            async with conn.transaction():
                return await self._write_fast(conn, batch)
        except CONNECTION_ERRORS:
            await self.close()
            raise
        except psycopg.Error:
            pass  # a value PostgreSQL refused: find it row by row
        try:
            async with conn.transaction():
                return await self._write_row_by_row(conn, batch)
        except CONNECTION_ERRORS:
            await self.close()
            raise

    async def _write_fast(
        self, conn: psycopg.AsyncConnection[Any], batch: list[Incoming]
    ) -> WriteResult:
        result = WriteResult()
        by_table: dict[Table, list[Row]] = {}
        for item in batch:
            if isinstance(item.parsed, Row):
                by_table.setdefault(item.parsed.table, []).append(item.parsed)
            else:
                result.rejected.append((item, item.parsed.reason))
        async with conn.cursor() as cursor:
            for table in _COPIED:
                rows = by_table.get(table, [])
                if not rows:
                    continue
                columns = sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table]))
                copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(_staging(table), columns)
                async with cursor.copy(copy_sql) as copy:
                    for row in rows:
                        await copy.write_row(row.values)
                await cursor.execute(
                    sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                        sql.Identifier(table.value), columns, columns, _staging(table)
                    )
                )
                result.inserted[table.value] += cursor.rowcount
                result.duplicates[table.value] += len(rows) - cursor.rowcount
            status_rows = [row.values for row in by_table.get(Table.STATUS, [])]
            if status_rows:
                await cursor.executemany(_INSERT_STATUS, status_rows)
                result.inserted[Table.STATUS.value] += len(status_rows)
            await _update_stations(cursor, batch)
            await _insert_rejected(cursor, result.rejected)
        return result

    async def _write_row_by_row(
        self, conn: psycopg.AsyncConnection[Any], batch: list[Incoming]
    ) -> WriteResult:
        result = WriteResult()
        stored: list[Incoming] = []
        async with conn.cursor() as cursor:
            for item in batch:
                row = item.parsed
                if isinstance(row, Rejection):
                    result.rejected.append((item, row.reason))
                    continue
                if row.table is Table.DELIVERY:
                    stored.append(item)
                    continue
                try:
                    async with conn.transaction():  # a savepoint
                        await cursor.execute(_single_insert(row.table), row.values)
                except CONNECTION_ERRORS:
                    raise
                except psycopg.Error as exc:
                    reason = f"PostgreSQL refused it: {_error_text(exc)}"
                    result.rejected.append((item, reason))
                    continue
                stored.append(item)
                result.inserted[row.table.value] += cursor.rowcount
                result.duplicates[row.table.value] += 1 - cursor.rowcount
            await _update_stations(cursor, stored)
            await _insert_rejected(cursor, result.rejected)
        return result


_INSERT_STATUS = "INSERT INTO station_status (station, status, received_at) VALUES (%s, %s, %s)"

# Per station in the batch: when it was last heard from, its latest status and
# delivery report. A row per station, whichever archiver (and batch) gets there first.
_UPSERT_STATIONS = """
INSERT INTO station (station, status, status_at, last_seen_at, delivery)
SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::jsonb[])
ON CONFLICT (station) DO UPDATE SET
    status = CASE WHEN excluded.status_at IS NOT NULL
                   AND (station.status_at IS NULL OR excluded.status_at >= station.status_at)
             THEN excluded.status ELSE station.status END,
    status_at = greatest(station.status_at, excluded.status_at),
    last_seen_at = greatest(station.last_seen_at, excluded.last_seen_at),
    delivery = coalesce(excluded.delivery, station.delivery)
"""


async def _update_stations(cursor: psycopg.AsyncCursor[Any], stored: list[Incoming]) -> None:
    latest: dict[str, list[Any]] = {}  # station -> [status, status_at, last_seen_at, delivery]
    for item in stored:
        row = item.parsed
        if not isinstance(row, Row):
            continue
        entry = latest.setdefault(row.station, [None, None, item.received_at, None])
        entry[2] = max(entry[2], item.received_at)
        if row.table is Table.STATUS:
            entry[0], entry[1] = row.values[1], item.received_at
        elif row.table is Table.DELIVERY:
            entry[3] = row.values[1]
    if not latest:
        return
    columns = list(zip(*([station, *values] for station, values in latest.items()), strict=True))
    await cursor.execute(_UPSERT_STATIONS, [list(column) for column in columns])


async def _insert_rejected(
    cursor: psycopg.AsyncCursor[Any], rejected: list[tuple[Incoming, str]]
) -> None:
    if not rejected:
        return
    await cursor.executemany(
        "INSERT INTO rejected (received_at, topic, station, payload, reason) "
        "VALUES (%s, %s, %s, %s, %s)",
        [
            (
                item.received_at,
                item.topic.translate(_NUL_FREE),
                None if item.parsed.station is None else item.parsed.station.translate(_NUL_FREE),
                item.payload,
                reason.translate(_NUL_FREE),
            )
            for item, reason in rejected
        ],
    )


def _single_insert(table: Table) -> sql.Composed:
    columns = COLUMNS[table]
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(table.value),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )


def _staging(table: Table) -> sql.Identifier:
    return sql.Identifier(f"incoming_{table.value}")


def _error_text(exc: psycopg.Error) -> str:
    diag = exc.diag.message_primary if exc.diag is not None else None
    return (diag or str(exc)).strip()

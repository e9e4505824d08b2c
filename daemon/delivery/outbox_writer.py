"""Where the outbox's SQLite writes run: off the event loop, one at a time, in order.

A commit with `synchronous=FULL` waits for an fsync, which on a worn SD card can
take hundreds of milliseconds; on the event loop that would stall every poller.
`ThreadWriter` owns the database connection and runs each write on a thread of its
own, in the order submitted; `InlineWriter` runs them at once on the caller's
thread (the in-memory outbox, which has no fsync to wait for; an on-disk one
only to measure what the thread saves, `bench/outbox_stall.py`).

Either way a write is a job `(connection) -> result` and `submit` returns a
`concurrent.futures.Future` of its result; `when_done` calls back on an event
loop once everything submitted before it has run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

_T = TypeVar("_T")
Job = Callable[[sqlite3.Connection], _T]


class Writer(Protocol):
    def submit(self, job: Job[_T]) -> concurrent.futures.Future[_T]: ...

    def when_done(self, callback: Callable[[], object]) -> None: ...

    def close(self) -> None: ...


class InlineWriter:
    """Runs each job at once on the caller's thread."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db: sqlite3.Connection | None = db

    def submit(self, job: Job[_T]) -> concurrent.futures.Future[_T]:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        if self._db is None:
            future.set_exception(sqlite3.ProgrammingError("the outbox is closed"))
            return future
        _run(job, self._db, future)
        return future

    def when_done(self, callback: Callable[[], object]) -> None:
        _call_on_loop(_running_loop(), callback)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class ThreadWriter:
    """Runs jobs on one thread of its own, in the order submitted; owns `db`.

    `db` must have been opened with `check_same_thread=False`: it is created on the
    caller's thread and used only on the writer's from then on.
    """

    def __init__(self, db: sqlite3.Connection, *, name: str) -> None:
        self._db = db
        # None stops the thread once every job before it has run.
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job[_T]) -> concurrent.futures.Future[_T]:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        if self._closed:
            future.set_exception(sqlite3.ProgrammingError("the outbox is closed"))
            return future
        self._jobs.put(lambda: _run(job, self._db, future))
        return future

    def when_done(self, callback: Callable[[], object]) -> None:
        loop = _running_loop()
        self._jobs.put(lambda: _call_on_loop(loop, callback))

    def close(self) -> None:
        """Run every job submitted so far, stop the thread and close the database."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._thread.join()
        self._db.close()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


def _run(job: Job[_T], db: sqlite3.Connection, future: concurrent.futures.Future[_T]) -> None:
    try:
        future.set_result(job(db))
    except BaseException as exc:  # handed to whoever waits on the future
        future.set_exception(exc)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _call_on_loop(loop: asyncio.AbstractEventLoop | None, callback: Callable[[], object]) -> None:
    """`callback` on `loop`'s thread; here and now without a loop, or when it has closed
    (the daemon shutting down after its last alert: the callback still runs)."""
    if loop is not None:
        try:
            loop.call_soon_threadsafe(callback)
            return
        except RuntimeError:  # the loop is closed
            pass
    callback()

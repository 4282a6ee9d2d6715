"""The store on SQLite through sqlite-utils 4: one file, one host (R27, R28).

- **WAL** and an explicit ``busy_timeout`` (10 s by default, never under 5 s), so readers never
  block the writer and a writer waits for the lock instead of failing.
- **One connection per thread** (``threading.local``): bolt listener threads and APScheduler
  executor threads each get their own, so no connection is shared across threads. A thread's
  connection is closed when the thread ends (its thread-local slot goes, and with it the
  connection's :class:`_Connection`), or by :meth:`SqliteStore.close`; none is left to the garbage
  collector, which would close it with a ResourceWarning (Python 3.13 and later).
- **Driver autocommit** (``isolation_level=None``): every statement is its own transaction, and
  each state change is one conditional statement. The only multi-statement write, a request with
  its items and the claims on its orders, runs in ``BEGIN IMMEDIATE`` so it takes the write lock
  up front and the busy timeout applies; so do migrations, which two processes may start at once.
- **Migrations** are :mod:`bot.store.migrations`, applied in ``BEGIN IMMEDIATE`` and recorded in
  ``schema_migrations``; a file whose migrations sqlite-utils recorded has that record carried over.

sqlite3 and sqlite-utils exceptions never leave this module: they become :class:`StoreError`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import TransactionError

from bot.store.migrations import SCHEMA_MIGRATIONS, apply
from bot.store.primitives import Row
from bot.store.records import StoreError
from bot.store.relational import Claimed, SqlStore
from bot.store.sql import CLAIM_ORDER, INSERT_ITEM, INSERT_REQUEST, OPEN_CLAIM

__all__ = ["SqliteStore"]

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order
MIN_BUSY_TIMEOUT = 5.0

_LEGACY = "_sqlite_migrations"  # where sqlite-utils recorded migrations (names like 0002_…)
_LEGACY_NAMES = "SELECT name FROM _sqlite_migrations WHERE migration_set = 'cartrover-bot'"
_RECORD = "INSERT INTO schema_migrations (version, name) VALUES (?, ?)"


def _applied(db: Database) -> set[int]:
    """The versions recorded in ``schema_migrations``, carrying over sqlite-utils' record of a
    file from before it (once: the carried-over rows are then the record)."""
    applied = {int(row[0]) for row in db.execute("SELECT version FROM schema_migrations")}
    if applied or _LEGACY not in db.table_names():
        return applied
    for (name,) in db.execute(_LEGACY_NAMES).fetchall():
        version, _, rest = str(name).partition("_")
        db.execute(_RECORD, [int(version), rest])
        applied.add(int(version))
    return applied


class _Connection:
    """One thread's connection, closed when the last reference to it goes: its thread ended, or
    the store was dropped (a store's connections are referenced only here)."""

    def __init__(self, db: Database, thread: threading.Thread) -> None:
        self.db = db
        self.thread = weakref.ref(thread)

    def close(self) -> None:
        self.db.close()  # closing twice is harmless

    def idle(self) -> bool:
        """True when no live thread but the caller can be using it."""
        thread = self.thread()
        return thread is None or thread is threading.current_thread() or not thread.is_alive()

    def __del__(self) -> None:
        db = self.db
        try:
            db.close()
        except Exception:  # at interpreter exit, what closing needs may be gone already
            return


class _Taken(Exception):
    """Rolls back a new request whose orders are claimed already."""

    def __init__(self, claimed: Claimed) -> None:
        super().__init__("orders already claimed")
        self.claimed = claimed


class SqliteStore(SqlStore):
    """The store in one SQLite file; safe to share between threads, and between processes on
    one host."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0) -> None:
        self._path = os.fspath(path)
        self._busy_timeout = max(busy_timeout, MIN_BUSY_TIMEOUT)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._closed = False
        self._db()  # fail at start-up, not at the first click, if the file cannot be opened

    def __repr__(self) -> str:
        return f"SqliteStore({self._path!r})"

    # -- lifecycle
    def migrate(self) -> list[int]:
        with self._translated():
            db = self._db()
            with self._immediate(db):
                db.execute(SCHEMA_MIGRATIONS)
                applied = _applied(db)
                return apply(
                    "sqlite", lambda statement, params: db.execute(statement, list(params)), applied
                )

    def ping(self) -> None:
        with self._translated():
            self._db().execute("SELECT 1").fetchall()

    def close(self) -> None:
        """Close connections no live thread is using. A connection still owned by another live
        thread is never closed from here (closing one that is mid-statement can crash the
        interpreter): its thread closes it at its next use, which then raises StoreError."""
        with self._lock:
            self._closed = True
            idle = [connection for connection in self._connections if connection.idle()]
        for connection in idle:
            connection.close()

    # -- primitives
    def _change(self, statement: str, params: Sequence[object]) -> int:
        with self._translated():
            return int(self._db().execute(statement, list(params)).rowcount)

    def _rows(self, statement: str, params: Sequence[object]) -> list[Row]:
        with self._translated():
            return list(self._db().query(statement, list(params)))

    def _insert_request(
        self, request: Sequence[object], items: Sequence[tuple[str, object, object]]
    ) -> Claimed:
        with self._translated():
            db = self._db()
            try:
                with self._immediate(db):
                    request_id = int(next(db.query(INSERT_REQUEST, list(request)))["id"])
                    for position, (cust_ref, created, facts) in enumerate(items):
                        db.execute(INSERT_ITEM, [request_id, cust_ref, position, created, facts])
                    taken = tuple(
                        ref
                        for ref in sorted(cust_ref for cust_ref, *_ in items)
                        if db.execute(CLAIM_ORDER, [ref, request_id]).rowcount != 1
                    )
                    if taken:
                        holders = tuple(row for ref in taken for row in db.query(OPEN_CLAIM, [ref]))
                        raise _Taken(Claimed(None, taken, holders))
            except _Taken as refused:
                return refused.claimed
            return Claimed(request_id)

    def _time_in(self, when: datetime) -> object:
        return when.astimezone(UTC).strftime(TIME_FORMAT)

    def _time_out(self, value: Any) -> datetime:
        return datetime.strptime(str(value), TIME_FORMAT).replace(tzinfo=UTC)

    def _date_in(self, day: date) -> object:
        return day.isoformat()

    def _date_out(self, value: Any) -> date:
        return date.fromisoformat(str(value))

    # -- connections and transactions
    def _db(self) -> Database:
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._closed:
            self._local.connection = None
            connection.close()  # our own connection, closed by its own thread
            raise StoreError(f"{self!r} is closed")
        if connection is not None:
            return connection.db
        with self._translated():
            db = self._connect()
        with self._lock:
            if self._closed:
                db.close()
                raise StoreError(f"{self!r} is closed")
            connection = _Connection(db, threading.current_thread())
            self._connections.add(connection)
        self._local.connection = connection
        return db

    def _connect(self) -> Database:
        # check_same_thread=False only so close() may close every thread's connection; each
        # connection is otherwise used by the thread that opened it.
        conn = sqlite3.connect(
            self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            self._use_wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            return Database(conn)
        except BaseException:
            conn.close()
            raise

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL (it stays so). The switch needs an exclusive lock and does not
        wait on the busy timeout, so connections opening a new file at once retry until then."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() != "wal":
                    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        if str(mode).lower() != "wal":
            raise StoreError(f"SQLite database {self._path}: cannot use WAL (mode {mode})")

    @staticmethod
    @contextmanager
    def _immediate(db: Database) -> Iterator[None]:
        """A write transaction that takes the lock before its first read (busy timeout applies)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, TransactionError) as exc:
            busy = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()
            raise StoreError(f"SQLite database {self._path}: {exc}", transient=busy) from exc

"""The store on PostgreSQL through psycopg 3 and a ``psycopg_pool.ConnectionPool``.

**Pool sizing.** A connection is held only for one statement (or the two of a new request), never
across a CartRover or Slack call. Concurrent users are the bolt worker pool (about 8–16 threads)
plus the scheduler's executor, but each holds a connection for milliseconds, so ``max_size=10``
covers a busy process; a thread that finds none free waits up to ``pool_timeout`` seconds (5:
when the server is gone, a person hears "nothing was done" within seconds, and a stopping
process still exits in time).
``min_size=1`` keeps one warm connection without holding on to an entry-level plan's small
connection allowance (often 20): two processes (web and clock) stay at or under 20 at full
load. Raise ``max_size`` for larger worker pools; keep ``processes × max_size`` under the
server's limit.

**Statements.** Connections run in autocommit, so each state change is one conditional statement
(``UPDATE … WHERE state = …``, ``INSERT … ON CONFLICT DO NOTHING``) whose row count names the
single winner, exactly as on SQLite. A new request, its items and the claims on its orders share
one transaction; a claim insert that meets another transaction's uncommitted claim waits for it,
then inserts nothing if that one committed. No lock
outlives a transaction, so a transaction-pooling proxy (PgBouncer) in front is fine.

**Migrations** (:mod:`bot.store.migrations`) are recorded in ``schema_migrations``.
:meth:`PostgresStore.migrate` runs them in
one transaction that first takes ``pg_advisory_xact_lock``: a second process starting at the same
moment waits, then sees the versions already recorded and applies nothing. The lock is released
by the commit, so it also works through transaction pooling.

**Schema.** ``schema=`` (or ``options=-csearch_path=…`` in the URL) keeps the tables in their own
schema; with ``schema=`` it is created on migration. ``postgres://`` URLs (Heroku's spelling) are
accepted. Start-up failures and every psycopg error become :class:`StoreError`, never showing the
password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from bot.store.migrations import SCHEMA_MIGRATIONS, apply
from bot.store.primitives import Row
from bot.store.records import StoreError
from bot.store.relational import Claimed, SqlStore, pg
from bot.store.sql import (
    CLAIM_ORDER,
    INSERT_ITEM,
    INSERT_REQUEST,
    OPEN_CLAIM,
)

__all__ = ["PostgresStore"]

# Serialization failure, deadlock, lock not available: the same statement may well pass next time.
_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03"})
MIGRATION_LOCK = 0x6361_7274_726F_7672  # "cartrovr": one advisory lock key for migrations
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database; safe to share between threads and processes."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        schema: str | None = None,
        connect_timeout: float = 10.0,
        pool_timeout: float = 5.0,
    ) -> None:
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"not a plain schema name: {schema!r}")
        self._schema = schema
        params = _parameters(url)
        self._password = str(params.get("password") or "")
        self._where = "PostgreSQL {}@{}:{}/{}".format(
            params.get("user") or "(default user)",
            params.get("host") or "localhost",
            params.get("port") or 5432,
            params.get("dbname") or "(default database)",
        )
        if schema is not None:
            params["options"] = f"{params.get('options') or ''} -c search_path={schema}".strip()
        params.setdefault("connect_timeout", max(int(connect_timeout), 2))
        params.setdefault("application_name", "cartrover-bot")
        conninfo = make_conninfo("", **params)
        with self._translated("cannot connect to"):
            psycopg.connect(conninfo, autocommit=True).close()  # a clear error, before the pool
        self._pool = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max(max_size, min_size),
            kwargs={"autocommit": True},
            open=False,
            check=ConnectionPool.check_connection,
            timeout=pool_timeout,
            name="cartrover-store",
        )
        try:
            with self._translated("cannot connect to"):
                self._pool.open(wait=True, timeout=connect_timeout)
        except StoreError:
            self._pool.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    # -- lifecycle
    def migrate(self) -> list[int]:
        with self._translated(), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if self._schema is not None:
                create = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                conn.execute(create.format(sql.Identifier(self._schema)))
            conn.execute(SCHEMA_MIGRATIONS)
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            return apply("postgres", conn.execute, applied)

    def ping(self) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT 1")

    def close(self) -> None:
        self._pool.close()

    # -- primitives
    def _change(self, statement: str, params: Sequence[object]) -> int:
        with self._cursor() as cur:
            cur.execute(pg(statement), params)
            return cur.rowcount

    def _rows(self, statement: str, params: Sequence[object]) -> list[Row]:
        with self._cursor() as cur:
            cur.execute(pg(statement), params)
            return cur.fetchall()

    def _insert_request(
        self, request: Sequence[object], items: Sequence[tuple[str, object, object]]
    ) -> Claimed:
        with self._cursor() as cur, cur.connection.transaction() as transaction:
            cur.execute(pg(INSERT_REQUEST), request)
            row = cur.fetchone()
            if row is None:  # pragma: no cover - INSERT … RETURNING always returns the row
                raise StoreError(f"{self._where}: the new request has no id")
            request_id = int(row["id"])
            rows = [
                (request_id, ref, n, created, facts)
                for n, (ref, created, facts) in enumerate(items)
            ]
            cur.executemany(pg(INSERT_ITEM), rows)
            taken = []
            for ref in sorted(ref for ref, *_ in items):
                cur.execute(pg(CLAIM_ORDER), (ref, request_id))
                if cur.rowcount != 1:
                    taken.append(ref)
            if not taken:
                return Claimed(request_id)
            holders = []
            for ref in taken:
                cur.execute(pg(OPEN_CLAIM), (ref,))
                holders += cur.fetchall()
            raise psycopg.Rollback(transaction)
        return Claimed(None, tuple(taken), tuple(holders))  # after the rollback

    def _time_in(self, when: datetime) -> object:
        return when.astimezone(UTC)

    def _time_out(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise StoreError(f"{self._where}: expected a timestamp, got {type(value).__name__}")
        return value.astimezone(UTC)

    def _date_in(self, day: date) -> object:
        return day

    def _date_out(self, value: Any) -> date:
        if not isinstance(value, date):
            raise StoreError(f"{self._where}: expected a date, got {type(value).__name__}")
        return value

    # -- connections and errors
    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[DictRow]]:
        with (
            self._translated(),
            self._pool.connection() as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            yield cur

    @contextmanager
    def _translated(self, doing: str = "error from") -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if self._password:
                reason = reason.replace(self._password, "***")
            transient = isinstance(exc, psycopg.OperationalError) or (  # PoolTimeout is one
                getattr(exc, "sqlstate", None) in _TRANSIENT_STATES
            )
            raise StoreError(f"{doing} {self._where}: {reason}", transient=transient) from None


def _parameters(url: str) -> dict[str, Any]:
    """The URL's connection parameters; ``postgres://`` is read as ``postgresql://``."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        return conninfo_to_dict(url)
    except psycopg.Error:
        raise StoreError("DATABASE_URL is not a valid PostgreSQL URL") from None

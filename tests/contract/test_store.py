"""The store contract on SQLite and PostgreSQL, and what only one backend has."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store import (
    AuditEntry,
    ItemState,
    RequestState,
    StoreError,
    open_existing,
    open_store,
    sqlite_path,
)
from bot.store.migrations import MIGRATIONS
from bot.store.sqlite import SqliteStore
from tests.sqlite_files import sqlite_file
from tests.store_contract import (
    DAY,
    T0,
    NewDatabase,
    StoreContract,
    check_upgraded_legacy_database,
    make_request,
    seed_legacy_database,
)
from tests.store_followup_contract import FollowUpStoreContract
from tests.store_surfaces_contract import SurfaceStoreContract


class TestSqliteStore(StoreContract, SurfaceStoreContract, FollowUpStoreContract):
    """The contract on a real SQLite file per test."""

    @pytest.fixture
    def new_database(self, tmp_path: Path) -> NewDatabase:
        numbers = itertools.count()
        return lambda: f"sqlite:///{tmp_path / f'store-{next(numbers)}.db'}"

    def test_uses_wal_and_a_busy_timeout_of_at_least_five_seconds(self, tmp_path: Path) -> None:
        """Connections run in WAL mode with busy_timeout ≥ 5000 ms even when asked for less."""
        store = SqliteStore(tmp_path / "bot.db", busy_timeout=0.5)
        try:
            db = store._db()
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        finally:
            store.close()

    def test_each_thread_gets_its_own_connection(self, tmp_path: Path) -> None:
        """Threads never share a connection, and a thread's connection is closed as it ends."""
        store = SqliteStore(tmp_path / "bot.db")
        try:
            seen: list[Any] = []
            worker = threading.Thread(target=lambda: seen.append(store._db()))
            worker.start()
            worker.join()
            assert seen[0] is not store._db()
            with pytest.raises(sqlite3.ProgrammingError, match="closed"):
                seen[0].execute("SELECT 1")
        finally:
            store.close()

    def test_close_closes_every_idle_connection_and_a_busy_one_at_its_next_use(
        self, tmp_path: Path
    ) -> None:
        """After close(), the closing thread's connection is closed at once, and a live thread's
        at its next use (which raises StoreError); no connection waits for the garbage collector
        (an unclosed one is a ResourceWarning on Python 3.13)."""
        store = SqliteStore(tmp_path / "bot.db")
        mine = store._db()
        used, go_on, outcome = threading.Event(), threading.Event(), []

        def worker() -> None:
            theirs = store._db()
            used.set()
            go_on.wait(10)
            try:
                store.ping()
            except StoreError as exc:
                outcome.append(str(exc))
            try:
                theirs.execute("SELECT 1")
                outcome.append("still open")
            except sqlite3.ProgrammingError:
                outcome.append("closed")

        thread = threading.Thread(target=worker)
        thread.start()
        assert used.wait(10)
        store.close()
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            mine.execute("SELECT 1")
        go_on.set()
        thread.join(10)
        assert len(outcome) == 2 and "is closed" in outcome[0] and outcome[1] == "closed"

    def test_migrations_are_recorded(self, tmp_path: Path) -> None:
        """Applied migrations are listed in schema_migrations, once each, as on PostgreSQL."""
        open_store(f"sqlite:///{tmp_path / 'bot.db'}").close()
        open_store(f"sqlite:///{tmp_path / 'bot.db'}").close()
        with sqlite_file(tmp_path / "bot.db") as conn:
            rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert rows == [(m.version, m.name) for m in MIGRATIONS]

    def test_a_file_migrated_by_sqlite_utils_carries_its_record_over(self, tmp_path: Path) -> None:
        """A file whose first two migrations sqlite-utils recorded gets exactly the others."""
        from sqlite_utils import Database
        from sqlite_utils.migrations import Migrations

        path = tmp_path / "old.db"
        db = Database(path)
        legacy = Migrations("cartrover-bot")
        for migration in MIGRATIONS[:2]:
            legacy(name=f"{migration.version:04d}_{migration.name}")(
                lambda db, statements=migration.sqlite: [db.execute(s) for s in statements]
            )
        legacy.apply(db)
        db.close()
        open_store(f"sqlite:///{path}").close()
        with sqlite_file(path) as conn:
            rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
            columns = [row[1] for row in conn.execute("PRAGMA table_info(hold_items)")]
        assert rows == [(m.version, m.name) for m in MIGRATIONS]
        assert "order_created_at" in columns  # migration 4 ran; 1 and 2 were not run again

    def test_the_item_states_migration_keeps_every_item(self, tmp_path: Path) -> None:
        """Migration 9 rebuilds hold_items (SQLite cannot alter a CHECK): every item of a
        version-8 file keeps its state, words, Process-IDs and times, and the new states fit."""
        from sqlite_utils import Database

        from bot.store.migrations import SCHEMA_MIGRATIONS, apply

        path = tmp_path / "v8.db"
        db = Database(path)
        db.execute(SCHEMA_MIGRATIONS)
        apply("sqlite", lambda sql, params: db.execute(sql, list(params)), (), MIGRATIONS[:8])
        from bot.store.sqlite import TIME_FORMAT

        def at(when: datetime) -> str:
            return when.strftime(TIME_FORMAT)

        # A version-8 file's rows, written as version 8 wrote them (today's store would write
        # columns of later migrations).
        db.execute(
            """INSERT INTO hold_requests (id, requester, channel_id, reason, state, source,
                   created_at, expires_at, decided_by, decided_at, rendered_state, decision_reason)
               VALUES (1, 'UREQ', 'CHOLDS', 'r', 'executing', 'command', ?, ?, 'UAPP', ?, NULL,
                   '')""",
            [at(T0), at(T0 + timedelta(hours=1)), at(T0)],
        )
        items = (
            ("A1", 0, "failed", "no", '["P1"]', at(T0), at(T0 - timedelta(days=2))),
            ("B1", 1, "queued", "", "[]", None, None),
        )
        for ref, position, state, detail, pids, updated, created in items:
            db.execute(
                """INSERT INTO hold_items (request_id, cust_ref, position, state, detail,
                       process_ids, updated_at, order_created_at)
                   VALUES (1, ?, ?, ?, ?, ?, ?, ?)""",
                [ref, position, state, detail, pids, updated, created],
            )
        db.execute("INSERT INTO open_orders (cust_ref, request_id) VALUES ('A1', 1), ('B1', 1)")
        db.conn.commit()
        db.close()
        store = open_store(f"sqlite:///{path}")
        try:
            kept = store.get_request(1)
            assert kept is not None and kept.state is RequestState.EXECUTING
            first, second = kept.items
            assert (first.state, first.detail, first.process_ids) == (
                ItemState.FAILED,
                "no",
                ("P1",),
            )
            assert (first.updated_at, first.order_created_at) == (T0, T0 - timedelta(days=2))
            assert second.state is ItemState.QUEUED and first.facts is None
            assert store.start_item(1, "B1", T0)
            assert store.look_again(1, "B1", detail="", process_ids=[], at=T0)
        finally:
            store.close()

    def test_a_database_with_duplicate_open_requests_upgrades(self, tmp_path: Path) -> None:
        """A version-1 file holding two open requests for one order migrates: the oldest keeps
        the order, the other stays open, and nothing else is refused."""
        from sqlite_utils import Database

        from bot.store.migrations import SCHEMA_MIGRATIONS, apply
        from bot.store.sqlite import TIME_FORMAT

        path = tmp_path / "old.db"
        db = Database(path)
        db.execute(SCHEMA_MIGRATIONS)
        apply("sqlite", lambda sql, params: db.execute(sql, list(params)), (), MIGRATIONS[:1])
        seed_legacy_database(
            lambda statement, params: db.execute(statement, list(params)),
            lambda when: when.strftime(TIME_FORMAT),
        )
        db.conn.commit()
        db.close()
        store = open_store(f"sqlite:///{path}")
        try:
            check_upgraded_legacy_database(store)
        finally:
            store.close()

    @pytest.mark.parametrize(
        "insert",
        [
            "INSERT INTO digest_claims VALUES ('C1', '2026-03-02', 'claimed', 'x', NULL)",
            "INSERT INTO hold_items (request_id, cust_ref, position, state) "
            "VALUES (1, 'A100', 9, 'queued')",
            "INSERT INTO digest_subscriptions (channel_id, local_time, timezone) "
            "VALUES ('C1', '08:00', 'UTC')",
        ],
    )
    def test_a_direct_duplicate_insert_fails(self, tmp_path: Path, insert: str) -> None:
        """The schema itself refuses a second claim, item or subscription for the same key."""
        store = open_store(f"sqlite:///{tmp_path / 'bot.db'}")
        make_request(store)
        store.close()
        with sqlite_file(tmp_path / "bot.db") as conn:
            if "subscriptions" in insert or "claims" in insert:
                conn.execute(insert)
            with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
                conn.execute(insert)

    @pytest.mark.parametrize(
        "change", ["UPDATE audit_log SET event = 'x'", "DELETE FROM audit_log"]
    )
    def test_the_audit_log_is_append_only(self, store: Any, change: str) -> None:
        """Audit rows cannot be changed or deleted, even with raw SQL."""
        store.audit(AuditEntry(T0, "requested", "UREQ", 1))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store._db().execute(change)

    def test_open_store_takes_a_relative_path(self) -> None:
        """``sqlite:///name.db`` is a file relative to the working directory."""
        store = open_store("sqlite:///relative.db")
        store.close()
        assert Path("relative.db").is_file()

    def test_open_existing_creates_no_file(self, tmp_path: Path) -> None:
        """A SQLite file not there yet is not opened (None) and not created; once it is there,
        it is opened as open_store opens it."""
        url = f"sqlite:///{tmp_path / 'bot.db'}?mode=rw"
        assert sqlite_path(url) == str(tmp_path / "bot.db")
        assert sqlite_path("postgresql://host/db") is None
        assert open_existing(url, migrate=True) is None
        assert not (tmp_path / "bot.db").exists()
        open_store(url).close()
        store = open_existing(url, migrate=False)
        assert store is not None
        store.close()

    @pytest.mark.parametrize(
        "url", ["sqlite:///:memory:", "sqlite:///", "mysql://u:pw@host/db", "bot.db"]
    )
    def test_open_store_refuses_unsupported_urls(self, url: str) -> None:
        """In-memory SQLite and unknown schemes are refused with StoreError."""
        with pytest.raises(StoreError) as caught:
            open_store(url)
        assert "pw" not in str(caught.value)

    def test_an_unusable_file_raises_store_error(self, tmp_path: Path) -> None:
        """A missing directory or a file that is not a database gives StoreError at start-up."""
        with pytest.raises(StoreError, match="unable to open"):
            SqliteStore(tmp_path / "missing" / "bot.db")
        (tmp_path / "junk.db").write_bytes(b"not a database, just junk" * 100)
        with pytest.raises(StoreError, match="not a database"):
            SqliteStore(tmp_path / "junk.db")

    def test_sqlite_urls_never_import_psycopg(self, tmp_path: Path) -> None:
        """Opening a SQLite store leaves psycopg unimported."""
        code = (
            "import sys; from bot.store import open_store; "
            f"open_store('sqlite:///{tmp_path / 'bot.db'}').close(); "
            "print('psycopg' in sys.modules)"
        )
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "False"


@pytest.mark.postgres
class TestPostgresStore(StoreContract, SurfaceStoreContract, FollowUpStoreContract):
    """The contract on PostgreSQL, each test in a schema of its own."""

    machine_examples = 10

    @pytest.fixture
    def new_database(self, postgres_schemas: NewDatabase) -> NewDatabase:
        return postgres_schemas

    @pytest.mark.parametrize(
        "url",
        [
            "postgresql://nobody:Sup3rSecretPw@127.0.0.1:1/test",
            "postgres://nobody:Sup3rSecretPw@127.0.0.1:5432/test",
            "postgresql://nobody:Sup3rSecretPw@127.0.0.1:notaport/test",
        ],
    )
    def test_start_up_errors_never_show_the_password(self, postgres_url: str, url: str) -> None:
        """An unreachable server or unknown user gives a clear StoreError without the password."""
        with pytest.raises(StoreError) as caught:
            open_store(url)
        message = str(caught.value)
        assert "Sup3rSecretPw" not in message
        assert "nobody@127.0.0.1" in message
        assert caught.value.__cause__ is None

    def test_the_heroku_scheme_is_accepted(self, store_url: str) -> None:
        """``postgres://`` URLs open the same database as ``postgresql://``."""
        store = open_store(store_url.replace("postgresql://", "postgres://", 1))
        try:
            store.ping()
            assert make_request(store).id == 1
        finally:
            store.close()

    def test_schema_keyword_creates_and_uses_the_schema(self, postgres_url: str) -> None:
        """``schema=`` keeps the tables in that schema, created on migration."""
        import psycopg

        from bot.store.postgres import PostgresStore

        name = f"store_test_{uuid.uuid4().hex[:12]}"
        store = PostgresStore(postgres_url, schema=name, max_size=2)
        try:
            store.migrate()
            make_request(store)
            with psycopg.connect(postgres_url) as conn:
                row = conn.execute(f"SELECT count(*) FROM {name}.hold_items").fetchone()
            assert row == (3,)
        finally:
            store.close()
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {name} CASCADE")

    def test_a_schema_name_must_be_plain(self, postgres_url: str) -> None:
        """Anything but a plain lower-case identifier is refused as a schema."""
        from bot.store.postgres import PostgresStore

        with pytest.raises(ValueError, match="schema"):
            PostgresStore(postgres_url, schema="x; DROP TABLE y")

    def test_migrations_are_recorded(self, store: Any, store_url: str) -> None:
        """Applied migrations are listed in schema_migrations, once each."""
        import psycopg

        store.migrate()
        with psycopg.connect(store_url) as conn:
            rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert rows == [(m.version, m.name) for m in MIGRATIONS]

    def test_a_database_with_duplicate_open_requests_upgrades(
        self, new_database: NewDatabase
    ) -> None:
        """A version-1 schema holding two open requests for one order migrates: the oldest keeps
        the order, the other stays open, and nothing else is refused."""
        import psycopg

        from bot.store.migrations import MIGRATIONS, SCHEMA_MIGRATIONS, apply
        from bot.store.relational import pg

        url = new_database()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA_MIGRATIONS)
            apply("postgres", conn.execute, (), MIGRATIONS[:1])
            seed_legacy_database(lambda sql, params: conn.execute(pg(sql), params), lambda t: t)
        store = open_store(url)
        try:
            check_upgraded_legacy_database(store)
        finally:
            store.close()

    @pytest.mark.parametrize(
        "insert",
        [
            "INSERT INTO digest_claims VALUES ('C1', '2026-03-02', 'claimed', now(), NULL)",
            "INSERT INTO hold_items (request_id, cust_ref, position, state) "
            "VALUES (1, 'A100', 9, 'queued')",
            "INSERT INTO digest_subscriptions (channel_id, local_time, timezone) "
            "VALUES ('C1', '08:00', 'UTC')",
        ],
    )
    def test_a_direct_duplicate_insert_fails(self, store: Any, store_url: str, insert: str) -> None:
        """The schema itself refuses a second claim, item or subscription for the same key."""
        import psycopg

        make_request(store)
        with psycopg.connect(store_url, autocommit=True) as conn:
            if "subscriptions" in insert or "claims" in insert:
                conn.execute(insert)
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(insert)

    @pytest.mark.parametrize(
        "change",
        ["UPDATE audit_log SET event = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
    )
    def test_the_audit_log_is_append_only(self, store: Any, store_url: str, change: str) -> None:
        """Audit rows cannot be changed, deleted or truncated, even with raw SQL."""
        import psycopg

        store.audit(AuditEntry(T0, "requested", "UREQ", 1))
        with (
            psycopg.connect(store_url, autocommit=True) as conn,
            pytest.raises(psycopg.errors.RaiseException, match="append-only"),
        ):
            conn.execute(change)

    def test_claims_store_the_local_date_as_a_date(self, store: Any, store_url: str) -> None:
        """Digest claims keep a real ``date`` column, so one claim per channel and day holds."""
        import psycopg

        assert store.claim_digest("CDIG", DAY, T0)
        with psycopg.connect(store_url) as conn:
            row = conn.execute("SELECT local_date FROM digest_claims").fetchone()
        assert row == (DAY,)

"""How the schema (:mod:`bot.store.schema`) is applied: numbered migrations, one mechanism for
both databases.

Each :class:`Migration` gives its statements for SQLite and for PostgreSQL. Both backends record
what they applied in ``schema_migrations`` and apply the rest, in order, in one transaction that
holds the database's write lock (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction lock on
PostgreSQL): two processes starting at once apply each migration once. A SQLite file from before
this mechanism (migrations recorded by sqlite-utils in ``_sqlite_migrations``) has its record
carried over first. Append new migrations to :mod:`bot.store.schema_later`; never edit an applied
one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.store import schema, schema_later

__all__ = ["MIGRATIONS", "SCHEMA_MIGRATIONS", "Dialect", "Migration", "apply"]

SQLITE = schema.SQLITE + schema_later.SQLITE
POSTGRES = schema.POSTGRES + schema_later.POSTGRES

Dialect = Literal["sqlite", "postgres"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgres


SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP)"""
_RECORD = "INSERT INTO schema_migrations (version, name) VALUES (?, ?)"


def apply(
    dialect: Dialect,
    execute: Callable[[str, Sequence[object]], Any],
    applied: Iterable[int],
    migrations: Sequence[Migration] | None = None,
) -> list[int]:
    """Run every migration not in ``applied``, in order, with ``execute`` (inside the caller's
    locked transaction), recording each; the versions applied now."""
    done = set(applied)
    ran = []
    for migration in migrations if migrations is not None else MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements(dialect):
            execute(statement, ())
        execute(
            _RECORD if dialect == "sqlite" else _RECORD.replace("?", "%s"),
            (migration.version, migration.name),
        )
        ran.append(migration.version)
    return ran


MIGRATIONS = tuple(
    sorted(
        (
            Migration(version, name, sqlite, postgres)
            for (version, name, sqlite), (_, _, postgres) in zip(SQLITE, POSTGRES, strict=True)
        ),
        key=lambda migration: migration.version,
    )
)

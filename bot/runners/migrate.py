"""``migrate``: bring the database schema up to date, then exit (a Procfile ``release:`` step).

The store applies what is missing in one transaction under the database's write lock (see
:mod:`bot.store.migrations`), so several ``migrate`` runs, or a ``migrate`` next to processes
starting up, apply each migration exactly once; the others wait, find it applied, and apply
nothing. Running it again is harmless: it says the schema is up to date.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.settings import Settings
from bot.store import open_store
from bot.store.migrations import MIGRATIONS

__all__ = ["run_migrate"]


def run_migrate(settings: Settings, echo: Callable[[str], object]) -> int:
    """Migrate ``DATABASE_URL``'s database, telling ``echo`` what was applied; 0 when up to date.
    A database that cannot be opened or migrated raises StoreError (the caller's exit 1)."""
    store = open_store(settings.database_url, migrate=False)
    try:
        applied = store.migrate()
    finally:
        store.close()
    names = {migration.version: migration.name for migration in MIGRATIONS}
    for version in applied:
        echo(f"applied migration {version} ({names[version]})")
    latest = MIGRATIONS[-1].version
    state = "now at" if applied else "already at"
    echo(f"{store!r}: the schema is {state} version {latest}")
    return 0

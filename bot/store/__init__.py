"""Where the bot keeps hold requests, the audit trail and digest state.

:func:`open_store` picks the backend from ``DATABASE_URL``: ``sqlite:///relative.db`` or
``sqlite:////absolute/path.db`` for :class:`~bot.store.sqlite.SqliteStore`, ``postgresql://…`` or
``postgres://…`` for :class:`~bot.store.postgres.PostgresStore` (psycopg is imported only then).
The store it returns is already migrated. :func:`open_existing` opens it only if it is already
there (a SQLite file is created by opening it); :func:`sqlite_path` is the file a SQLite URL
names.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.store.contracts import DigestStore, HoldStore, Store, SurfaceStore, audit
from bot.store.records import (
    AuditEntry,
    DigestClaim,
    DigestPost,
    DigestSubscription,
    HoldItem,
    HoldRequest,
    HomeView,
    ItemState,
    OpenOrder,
    OrderFacts,
    OrdersAlreadyOpen,
    RequestState,
    ScanMark,
    Snapshot,
    StoreError,
)

__all__ = [
    "AuditEntry",
    "DigestClaim",
    "DigestPost",
    "DigestStore",
    "DigestSubscription",
    "HoldItem",
    "HoldRequest",
    "HoldStore",
    "HomeView",
    "ItemState",
    "OpenOrder",
    "OrderFacts",
    "OrdersAlreadyOpen",
    "RequestState",
    "ScanMark",
    "Snapshot",
    "Store",
    "StoreError",
    "SurfaceStore",
    "audit",
    "open_existing",
    "open_store",
    "sqlite_path",
]

log = logging.getLogger(__name__)

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///`` URL names (as written, without its ``?…``); None for any other
    URL."""
    if not url.startswith(_SQLITE):
        return None
    return url.removeprefix(_SQLITE).split("?", 1)[0]


def open_existing(url: str, *, migrate: bool) -> Store | None:
    """:func:`open_store`, unless ``url`` names a SQLite file that does not exist (yet): then
    None, and no file is created. Raises as :func:`open_store` does."""
    path = sqlite_path(url)
    if path is not None and not Path(path).exists():
        return None
    return open_store(url, migrate=migrate)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """The store behind ``url``, migrated unless ``migrate=False``; StoreError if unusable."""
    store: Store
    path = sqlite_path(url)
    if path is not None:
        from bot.store.sqlite import SqliteStore

        if not path or path == ":memory:":
            raise StoreError("DATABASE_URL must name a SQLite file: sqlite:///path/to/bot.db")
        store = SqliteStore(path)
    elif url.startswith(_POSTGRES):
        try:
            from bot.store.postgres import PostgresStore
        except ImportError:
            raise StoreError(
                "DATABASE_URL is a PostgreSQL URL but psycopg is not installed: "
                "pip install 'cartrover-bot[postgres]' (requirements.txt already does)"
            ) from None
        store = PostgresStore(url)
    else:
        scheme = url.split(":", 1)[0] if ":" in url else "(none)"
        raise StoreError(f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite or postgresql")
    if migrate:
        try:
            applied = store.migrate()
        except BaseException:
            store.close()
            raise
        if applied:  # none once a release phase (`cartrover-bot migrate`) has run
            log.info("%r: applied schema migrations %s", store, ", ".join(map(str, applied)))
    return store

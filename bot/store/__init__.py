"""Where the bot keeps hold requests, the audit trail and digest state.

:func:`open_store` picks the backend from ``DATABASE_URL``: ``sqlite:///relative.db`` or
``sqlite:////absolute/path.db`` for :class:`~bot.store.sqlite.SqliteStore`, ``postgresql://…`` or
``postgres://…`` for :class:`~bot.store.postgres.PostgresStore` (psycopg is imported only then).
The store it returns is already migrated.
"""

from __future__ import annotations

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
    "open_store",
]

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def open_store(url: str, *, migrate: bool = True) -> Store:
    """The store behind ``url``, migrated unless ``migrate=False``; StoreError if unusable."""
    store: Store
    if url.startswith(_SQLITE):
        from bot.store.sqlite import SqliteStore

        path = url.removeprefix(_SQLITE).split("?", 1)[0]
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
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store

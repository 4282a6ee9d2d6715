"""The store contract on a relational database, written once for SQLite and PostgreSQL.

:class:`SqlStore` implements every :class:`~bot.store.contracts.Store` method except the lifecycle
ones with the statements in :mod:`bot.store.sql`, one group of methods per role (the hold rows and
leases, the digest rows, the Slack surfaces' rows), over a few primitives a backend supplies
(:mod:`bot.store.primitives`): run one statement, fetch rows, insert a request with its items and
claims atomically, encode and decode times and dates.
"""

from __future__ import annotations

from abc import ABC
from datetime import datetime
from typing import Any

from bot.store.digest_rows import DigestRows
from bot.store.followup_rows import FollowUpRows
from bot.store.hold_rows import HoldRows
from bot.store.leases import Leases
from bot.store.primitives import Claimed
from bot.store.records import utc_aware
from bot.store.surface_rows import SurfaceRows

__all__ = ["Claimed", "SqlStore", "pg", "utc_aware"]


def pg(statement: str) -> str:
    """``statement`` with psycopg placeholders."""
    return statement.replace("?", "%s")


class SqlStore(HoldRows, FollowUpRows, Leases, DigestRows, SurfaceRows, ABC):
    """Every ``Store`` method except the lifecycle ones, over the backend's primitives."""

    def _instant(self, when: datetime) -> object:
        return self._time_in(utc_aware(when))

    def _maybe_time(self, value: Any) -> datetime | None:
        return None if value is None else self._time_out(value)

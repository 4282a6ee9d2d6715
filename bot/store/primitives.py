"""What a relational backend supplies, declared once: :class:`Primitives` is the base of
:class:`~bot.store.relational.SqlStore` and of each group of its methods by role (the hold rows,
leases, the digest rows, the Slack surfaces' rows), which are written against these and nothing
else. SQLite and PostgreSQL each implement them, translating their driver's errors to
``StoreError``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.store.records import HoldRequest

__all__ = ["Claimed", "Primitives", "Row"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    """What :meth:`Primitives._insert_request` did: created ``request_id``, or nothing because
    ``taken`` orders were claimed already (``holders``: their OPEN_CLAIM rows, which may miss one
    released meanwhile)."""

    request_id: int | None
    taken: tuple[str, ...] = ()
    holders: tuple[Row, ...] = ()


class Primitives(ABC):
    @abstractmethod
    def _change(self, statement: str, params: Sequence[object]) -> int:
        """Run one statement in its own transaction; return how many rows it changed."""

    @abstractmethod
    def _rows(self, statement: str, params: Sequence[object]) -> list[Row]:
        """Run one statement (a SELECT or a write with RETURNING); return its rows."""

    @abstractmethod
    def _insert_request(
        self, request: Sequence[object], items: Sequence[tuple[str, object, object]]
    ) -> Claimed:
        """In one transaction: INSERT_REQUEST, one INSERT_ITEM per ``(order, its creation time
        or None, its facts or None)`` in that order, then CLAIM_ORDER per order in sorted
        order. If every claim inserted a row, commit and return the new id; otherwise read
        OPEN_CLAIM for each order not claimed, roll everything back and return those rows."""

    @abstractmethod
    def _time_in(self, when: datetime) -> object:
        """An aware ``when`` as the database keeps it."""

    @abstractmethod
    def _time_out(self, value: Any) -> datetime:
        """A time as the database returned it, aware and in UTC."""

    @abstractmethod
    def _instant(self, when: datetime) -> object:
        """``when`` as the database keeps it; naive datetimes are refused."""

    @abstractmethod
    def _date_in(self, day: date) -> object: ...

    @abstractmethod
    def _date_out(self, value: Any) -> date: ...

    @abstractmethod
    def _maybe_time(self, value: Any) -> datetime | None:
        """:meth:`_time_out`, or None for NULL."""

    @abstractmethod
    def _requests(self, statement: str, params: Sequence[object]) -> list[HoldRequest]:
        """The hold requests of a statement over ``hold_request_rows``, in its order."""

    @abstractmethod
    def get_request(self, request_id: int) -> HoldRequest | None: ...

"""The sandbox's in-memory CartRover order book, with simulated sending to the WMS.

Records are plain dicts holding every field of every reply
(:func:`bot.dev.sandbox.shapes.complete`); the handler shows each call only its own view of them.
Every read first applies the time simulation: a ``new`` order with ``sending_canceled == "N"``
becomes ``at_wms`` once its send time (when it was added, or the book created, plus
``send_delay``) has passed by ``clock.now()``.

Choices where CartRover's behaviour is unknown (see ``docs/cartrover.md``):

* An order with ``on_hold == "Y"`` is **not** sent while it is on hold; whether IM sends it is
  unknown, and not sending it is the safer model.
* ``wms_cancel`` on a ``new`` order sets ``sending_canceled = "Y"``; on an order already
  sending-canceled or ``canceled`` it succeeds again (idempotent, with a message).
* ``wms_cancel`` on an order that moved on (``at_wms``, ``shipped``, ``confirmed``, ``error``) is
  unknown #16, so it is a switch (``moved_on``): ``"accept"`` (the default: success, nothing
  changes — the public reading, "ask the WMS to cancel", asynchronous and without guarantee, and
  this book's WMS never acts), ``"refuse"`` (``response.success`` false with a message) or
  ``"cancel_order"`` (the order becomes ``canceled``).
"""

from __future__ import annotations

import heapq
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from bot.dev.sandbox.seed import iso, seed
from bot.dev.sandbox.shapes import RECORD_KEYS, complete
from bot.times import Clock

_RECORD_KEY_SET = frozenset(RECORD_KEYS)

__all__ = [
    "DEFAULT_SEND_DELAY",
    "MOVED_ON",
    "STATUS_FILTERS",
    "CancelResult",
    "OrderBook",
    "UnknownOrder",
]

Record = dict[str, Any]
Records = list[Record]
Refs = list[str]

DEFAULT_SEND_DELAY = timedelta(hours=4)

# Status filter → the order statuses it selects (docs/cartrover.md).
STATUS_FILTERS: dict[str, frozenset[str]] = {
    "new": frozenset({"new"}),
    "at_wms": frozenset({"at_wms"}),
    "shipped": frozenset({"shipped"}),
    "confirmed": frozenset({"confirmed"}),
    "error": frozenset({"error"}),
    "canceled": frozenset({"canceled"}),
    "new_or_at_wms": frozenset({"new", "at_wms"}),
    "shipped_or_confirmed": frozenset({"shipped", "confirmed"}),
    "any": frozenset({"new", "at_wms", "shipped", "confirmed", "error", "canceled"}),
}

# Status filter → the date from_date/to_date apply to (docs/cartrover.md). "shipment" is the
# first shipment's date; confirmed and error use updated_date_time (when the status last changed).
_DATE_FIELD = {
    "new": "created_date_time",
    "new_or_at_wms": "created_date_time",
    "any": "created_date_time",
    "at_wms": "delivered_to_wms_date",
    "shipped": "shipment",
    "shipped_or_confirmed": "shipment",
    "confirmed": "updated_date_time",
    "error": "updated_date_time",
    "canceled": "cancel_date",
}

# With ``by_order_date``, these status filters compare the cart's ``order_date`` (a plain date)
# with the bounds' dates instead: unknown #8 leaves open which date the listing filters on.
_ORDER_DATE_FILTERS = frozenset({"new", "new_or_at_wms"})

# What wms_cancel does to an order that moved on (unknown #16): see the module docstring.
MOVED_ON = frozenset({"accept", "refuse", "cancel_order"})

_REFUSALS = {
    "at_wms": "Order is already at the WMS",
    "shipped": "Order has already shipped",
    "confirmed": "Order has already shipped",
    "error": "Order is in error status and cannot be canceled",
}


class UnknownOrder(KeyError):
    """No order with that ``cust_ref`` is in the book."""


class CancelResult(NamedTuple):
    ok: bool
    message: str


_NESTED = (dict, list)


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data, much faster than :func:`copy.deepcopy`."""
    if isinstance(value, dict):
        return {k: _copy(v) if isinstance(v, _NESTED) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) if isinstance(v, _NESTED) else v for v in value]
    return value


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _within_days(value: object, start: datetime | None, end: datetime | None) -> bool:
    """Whether a plain ``YYYY-MM-DD`` date lies within the bounds' UTC dates (inclusive)."""
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return False
    return (start is None or day >= start.astimezone(UTC).date()) and (
        end is None or day <= end.astimezone(UTC).date()
    )


def _filter_date(record: Record, field: str) -> datetime | None:
    if field == "shipment":
        shipments = record.get("shipments") or []
        return _parse(shipments[0].get("date")) if shipments else None
    return _parse(record.get(field))


class OrderBook:
    """A thread-safe in-memory order book. ``send_delay=None`` means orders are never sent."""

    def __init__(self, clock: Clock, send_delay: timedelta | None = DEFAULT_SEND_DELAY) -> None:
        self.clock = clock
        self.send_delay = send_delay
        self.created_at = clock.now()
        self._lock = threading.Lock()
        self._orders: dict[str, Record] = {}
        self._created: dict[str, datetime] = {}
        self._send_at: dict[str, datetime] = {}
        self._due: list[tuple[datetime, str]] = []
        self._cancels: Counter[str] = Counter()
        self._sorted: list[str] | None = None
        self._queries: dict[tuple[Any, ...], list[str]] = {}

    @classmethod
    def seeded(cls, clock: Clock, send_delay: timedelta | None = DEFAULT_SEND_DELAY) -> OrderBook:
        """A book holding :func:`seed_records`, aged relative to the clock's current time."""
        book = cls(clock, send_delay)
        seed(book)
        return book

    # -- writing ---------------------------------------------------------------------------

    def add(self, record: Mapping[str, Any], *, send_from: datetime | None = None) -> None:
        """Add (or replace) one order; its send delay runs from ``send_from`` (default now)."""
        self.add_many([record], send_from=send_from)

    def add_many(
        self, records: Iterable[Mapping[str, Any]], *, send_from: datetime | None = None
    ) -> None:
        base = send_from if send_from is not None else self.clock.now()
        with self._lock:
            for record in records:
                ref = str(record["cust_ref"])
                full = record if record.keys() == _RECORD_KEY_SET else complete(record)
                self._orders[ref] = _copy(full if isinstance(full, dict) else dict(full))
                self._created[ref] = _parse(record.get("created_date_time")) or base
                self._send_at.pop(ref, None)
                if self.send_delay is not None:
                    self._schedule(ref, base + self.send_delay)
            self._sorted = None
            self._changed()

    def update(self, cust_ref: str, changes: Mapping[str, Any]) -> None:
        """Overwrite fields of one order (for tests: e.g. move it on behind the bot's back)."""
        unknown = set(changes) - set(RECORD_KEYS)
        if unknown:
            raise ValueError(f"not a CartRover order field: {', '.join(sorted(unknown))}")
        with self._lock:
            self._advance()
            record = self._require(cust_ref)
            record.update(_copy(dict(changes)))
            if "created_date_time" in changes:
                self._created[cust_ref] = (
                    _parse(changes["created_date_time"]) or self._created[cust_ref]
                )
                self._sorted = None
            if cust_ref in self._send_at:
                heapq.heappush(self._due, (self._send_at[cust_ref], cust_ref))
            self._changed()

    def wms_cancel(
        self, cust_ref: str, *, apply: bool = True, moved_on: str = "accept"
    ) -> CancelResult:
        """CartRover's "Cancel Sending to WMS". Counts the call; raises :class:`UnknownOrder`.
        ``apply=False`` answers success without changing anything (a silent no-op);
        ``moved_on`` says what it does to an order no longer New (:data:`MOVED_ON`)."""
        if moved_on not in MOVED_ON:
            raise ValueError(f"moved_on must be one of {sorted(MOVED_ON)}, not {moved_on!r}")
        with self._lock:
            self._advance()
            self._cancels[cust_ref] += 1
            record = self._require(cust_ref)
            if not apply:
                return CancelResult(True, "")
            status = record.get("order_status")
            if status == "canceled":
                return CancelResult(True, "Order is already canceled")
            if status == "new" and record.get("sending_canceled") == "Y":
                return CancelResult(True, "Sending to the WMS is already canceled")
            now = iso(self.clock.now())
            if status == "new":
                record["sending_canceled"] = "Y"
                record["updated_date_time"] = now
                self._changed()
                return CancelResult(True, "")
            if moved_on == "accept":
                return CancelResult(True, "")
            if moved_on == "cancel_order":
                record.update(order_status="canceled", cancel_date=now, updated_date_time=now)
                self._changed()
                return CancelResult(True, "")
            return CancelResult(False, _REFUSALS.get(str(status), f"Order status is {status}"))

    def send_to_wms(self, cust_ref: str) -> None:
        """Send a New order to the WMS now (for tests: the WMS picking it up between the bot's
        re-read and its cancel)."""
        with self._lock:
            self._advance()
            record = self._require(cust_ref)
            if record.get("order_status") == "new" and record.get("sending_canceled") == "N":
                now = iso(self.clock.now())
                record.update(
                    order_status="at_wms", delivered_to_wms_date=now, updated_date_time=now
                )
                self._changed()

    # -- reading ---------------------------------------------------------------------------

    def get(self, cust_ref: str) -> Record | None:
        """A deep copy of one order, or None."""
        with self._lock:
            self._advance()
            record = self._orders.get(cust_ref)
            return None if record is None else _copy(record)

    def list(
        self,
        status: str,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        order_source: str | None = None,
    ) -> Records:
        """Copies of the orders matching an M1 query, by created time then ``cust_ref``."""
        records, _ = self.page(status, from_date, to_date, order_source, limit=None)
        return records

    def page(
        self,
        status: str,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        order_source: str | None = None,
        *,
        limit: int | None = 100,
        page: int = 1,
        by_order_date: bool = False,
    ) -> tuple[Records, int]:
        """One page (from 1) of an M1 query and the total number of matches. Raises
        ValueError for an unknown status filter. Date bounds are inclusive. ``by_order_date``:
        New orders are filtered on the cart's ``order_date`` in whole days (the bounds' UTC
        dates), not on their creation time."""
        if status not in STATUS_FILTERS:
            raise ValueError(f"Unknown status filter: {status}")
        with self._lock:
            self._advance()
            refs = self._query(status, from_date, to_date, order_source, by_order_date)
            start = (page - 1) * limit if limit is not None else 0
            chosen = refs[start : start + limit] if limit is not None else refs
            return [_copy(self._orders[ref]) for ref in chosen], len(refs)

    def cancel_count(self, cust_ref: str) -> int:
        """How many ``wms_cancel`` calls reached the book for this order."""
        with self._lock:
            return self._cancels[cust_ref]

    def total_cancels(self) -> int:
        with self._lock:
            return sum(self._cancels.values())

    def refs(self) -> Refs:
        with self._lock:
            return sorted(self._orders)

    def __len__(self) -> int:
        with self._lock:
            return len(self._orders)

    # -- internals (lock held) ---------------------------------------------------------------

    def _require(self, cust_ref: str) -> Record:
        record = self._orders.get(cust_ref)
        if record is None:
            raise UnknownOrder(cust_ref)
        return record

    def _changed(self) -> None:
        self._queries.clear()

    def _schedule(self, ref: str, when: datetime) -> None:
        record = self._orders[ref]
        if record.get("order_status") == "new" and record.get("sending_canceled") == "N":
            self._send_at[ref] = when
            heapq.heappush(self._due, (when, ref))

    def _advance(self) -> None:
        """Send every due order to the WMS (the time simulation)."""
        now = self.clock.now()
        moved = False
        while self._due and self._due[0][0] <= now:
            when, ref = heapq.heappop(self._due)
            record = self._orders.get(ref)
            if (
                record is None
                or self._send_at.get(ref) != when
                or record.get("order_status") != "new"
                or record.get("sending_canceled") != "N"
                or record.get("on_hold") == "Y"
            ):
                continue
            record["order_status"] = "at_wms"
            record["delivered_to_wms_date"] = iso(when)
            record["updated_date_time"] = iso(when)
            moved = True
        if moved:
            self._changed()

    def _query(
        self,
        status: str,
        from_date: datetime | None,
        to_date: datetime | None,
        order_source: str | None,
        by_order_date: bool = False,
    ) -> Refs:
        by_order_date = by_order_date and status in _ORDER_DATE_FILTERS
        key = (status, from_date, to_date, order_source, by_order_date)
        cached = self._queries.get(key)
        if cached is not None:
            return cached
        if self._sorted is None:
            self._sorted = sorted(self._orders, key=lambda ref: (self._created[ref], ref))
        wanted = STATUS_FILTERS[status]
        field = _DATE_FIELD[status]
        by_created, created = field == "created_date_time", self._created
        result: list[str] = []
        for ref in self._sorted:
            record = self._orders[ref]
            if record.get("order_status") not in wanted:
                continue
            if order_source is not None and record.get("order_source") != order_source:
                continue
            if by_order_date:
                if not _within_days(record.get("order_date"), from_date, to_date):
                    continue
            elif from_date is not None or to_date is not None:
                when = created[ref] if by_created else _filter_date(record, field)
                if when is None or (from_date is not None and when < from_date):
                    continue
                if to_date is not None and when > to_date:
                    continue
            result.append(ref)
        if len(self._queries) > 32:
            self._queries.clear()
        self._queries[key] = result
        return result

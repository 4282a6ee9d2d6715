"""Stale test orders: the rules, and one streaming pass over CartRover's listing.

- A **test order** has its ``order_source`` in ``TEST_ORDER_SOURCES``, or a ``cust_ref`` or
  ``cust_po_no`` matching ``TEST_ORDER_PATTERN`` (:mod:`bot.testorders`); the match carries its
  reason, shown to the user.
- It is **stale** when it is ``new``, sending is not canceled (``sending_canceled == "N"``; any
  other value is never read as "not canceled") and it was created *more than* the stale age ago.
  ``on_hold == "Y"`` still counts (a hold can be lifted) and is marked wherever it is listed.

The listing asks CartRover only for ``new`` orders created before the cutoff (``to_date``), so
fresh orders never cross the wire, from the start of a window that follows recent orders rather
than history (``from_date``, :mod:`bot.digest.window`), and for one ``order_source`` where that
alone decides (see :func:`listing_source`). Every record is still re-checked here
(docs/cartrover.md, Known unknowns). :class:`StaleScan` keeps only what a message shows plus
counters: memory stays bounded whatever the number of orders, because the listing is consumed
page by page and never stored.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from bot.cartrover.models import Flag, Order
from bot.cartrover.service import OrderService
from bot.digest.window import ScanMarks, Window, next_mark, window
from bot.orderref import OrderRefError, validate_ref
from bot.settings import Settings
from bot.store.records import ScanMark, StoreError
from bot.testorders import TestRule

__all__ = [
    "HOLD_ALL_LIMIT",
    "SHOWN_LIMIT",
    "Listing",
    "StaleOrder",
    "StaleReport",
    "StaleScan",
    "TestRule",
    "build_report",
    "is_stale",
    "listing_source",
    "scan",
]

SHOWN_LIMIT = 100  # orders kept with their details: more than any message can show
NON_TEST_SHOWN = 10  # stale orders that are not test orders, named in the digest's warning
# "Request hold for all" covers at most this many (the oldest): each order costs about four
# CartRover calls between request and outcome, ~20 minutes at CartRover's rate for 500.
HOLD_ALL_LIMIT = 500
_T = TypeVar("_T")

log = logging.getLogger(__name__)


Listing = OrderService  # what :func:`scan` needs: ``iter_orders``


def is_stale(order: Order, cutoff: datetime) -> bool:
    """New, sending surely not canceled, and created strictly before ``cutoff``."""
    return (
        order.order_status == "new"
        and order.sending_canceled is Flag.NO
        and order.created_at is not None
        and order.created_at < cutoff
    )


def listing_source(rule: TestRule, *, count_non_test: bool) -> str | None:
    """The ``order_source`` to list with, or None to list every source.

    Only when one source and no pattern define test orders can the server's filter do the
    classification; with several sources, one listing each could cost more calls than one
    listing of all. The digest counts stale non-test orders too, so it always lists everything.
    """
    if count_non_test or rule.pattern is not None or len(rule.sources) != 1:
        return None
    return next(iter(rule.sources))


@dataclass(frozen=True)
class StaleOrder:
    """One stale test order, as listed."""

    cust_ref: str
    cust_po_no: str
    order_source: str
    created_at: datetime
    on_hold: bool
    reason: str
    holdable: bool = True  # False: the reference is outside the bot's order grammar


@dataclass(frozen=True)
class StaleReport:
    """The result of one scan: the oldest stale test orders and counters."""

    now: datetime
    hours: float
    shown: tuple[StaleOrder, ...]  # oldest first, at most SHOWN_LIMIT
    hold_refs: tuple[str, ...]  # oldest first, at most HOLD_ALL_LIMIT, all holdable
    test_count: int
    non_test_count: int | None  # None: not counted (the listing was filtered by source)
    on_hold_count: int
    listed: int  # records CartRover returned
    pages: int
    truncated: bool
    rule_configured: bool
    order_source: str | None = None
    # When CartRover created each of hold_refs: a hold for them can then be checked by listing.
    hold_created: Mapping[str, datetime] = field(default_factory=dict)
    non_test: tuple[StaleOrder, ...] = ()  # the oldest stale orders that are not test orders
    window: Window | None = None  # the New orders the scan listed (None: before the cutoff)

    @property
    def cutoff(self) -> datetime:
        return self.now - timedelta(hours=self.hours)

    @property
    def more(self) -> int:
        """Stale test orders not among ``shown``."""
        return self.test_count - len(self.shown)


class StaleScan:
    """Folds a stream of orders into a :class:`StaleReport`, in bounded memory."""

    def __init__(
        self,
        rule: TestRule,
        cutoff: datetime,
        *,
        shown_limit: int = SHOWN_LIMIT,
        hold_limit: int = HOLD_ALL_LIMIT,
    ) -> None:
        self.rule, self.cutoff = rule, cutoff
        self._shown_limit, self._hold_limit = shown_limit, hold_limit
        # Max-heaps on creation time (keys negated): the newest kept entry is popped first.
        self._shown: list[tuple[float, int, StaleOrder]] = []
        self._hold: list[tuple[float, int, tuple[str, datetime]]] = []
        self._non_test: list[tuple[float, int, StaleOrder]] = []
        self._seq = itertools.count()
        self.test_count = self.non_test_count = self.on_hold_count = self.listed = 0
        # The oldest New order listed that will still be sent (or whose flag is unexpected), and
        # whether one had no creation time: what the scan's mark is made of.
        self.oldest_waiting: datetime | None = None
        self.unplaced = False

    def add(self, order: Order) -> None:
        self.listed += 1
        created = order.created_at
        if order.is_new and not order.is_sending_canceled:
            if created is None:
                self.unplaced = True
            elif self.oldest_waiting is None or created < self.oldest_waiting:
                self.oldest_waiting = created
        if not is_stale(order, self.cutoff) or created is None:
            return
        reason = self.rule.reason(order)
        found = _stale_order(order, created, reason or "")
        key, seq = -created.timestamp(), next(self._seq)
        if reason is None:
            self.non_test_count += 1
            _keep_oldest(self._non_test, (key, seq, found), NON_TEST_SHOWN)
            return
        self.test_count += 1
        self.on_hold_count += found.on_hold
        _keep_oldest(self._shown, (key, seq, found), self._shown_limit)
        if found.holdable:
            _keep_oldest(self._hold, (key, seq, (order.cust_ref, created)), self._hold_limit)

    def report(
        self,
        now: datetime,
        hours: float,
        *,
        pages: int,
        truncated: bool,
        order_source: str | None,
        scanned: Window | None = None,
    ) -> StaleReport:
        shown = sorted(
            (entry[2] for entry in self._shown), key=lambda o: (o.created_at, o.cust_ref)
        )
        hold = dict(entry[2] for entry in sorted(self._hold, key=lambda e: (-e[0], e[2])))
        others = sorted((e[2] for e in self._non_test), key=lambda o: (o.created_at, o.cust_ref))
        return StaleReport(
            now=now,
            hours=hours,
            shown=tuple(_unique(shown)),
            hold_refs=tuple(hold),
            hold_created=hold,
            test_count=self.test_count,
            non_test_count=None if order_source is not None else self.non_test_count,
            on_hold_count=self.on_hold_count,
            listed=self.listed,
            pages=pages,
            truncated=truncated,
            rule_configured=self.rule.configured,
            order_source=order_source,
            non_test=tuple(_unique(others)) if order_source is None else (),
            window=scanned,
        )


def scan(
    cartrover: Listing,
    rule: TestRule,
    now: datetime,
    hours: float,
    *,
    count_non_test: bool,
    shown_limit: int = SHOWN_LIMIT,
    marks: ScanMarks | None = None,
) -> StaleReport:
    """List stale New orders once, page by page, and classify each record as it arrives.
    ``shown_limit``: how many orders to keep with their details (a terminal shows them all).
    ``marks``: where the last scan's mark is kept; the listing then starts where that mark says
    (:mod:`bot.digest.window`), and this scan leaves its own. Without it, a full scan."""
    cutoff = now - timedelta(hours=hours)
    source = listing_source(rule, count_non_test=count_non_test)
    scanned = window(_mark(marks), now, cutoff)
    listing = cartrover.iter_orders(
        "new", from_date=scanned.from_date, to_date=cutoff, order_source=source, limit=100
    )
    folded = StaleScan(rule, cutoff, shown_limit=shown_limit)
    for order in listing:
        folded.add(order)
    pages = int(getattr(listing, "pages_fetched", 0))
    truncated = bool(getattr(listing, "truncated", False))
    if marks is not None and source is None:
        complete = not truncated and not folded.unplaced
        _keep(marks, next_mark(scanned, now, folded.oldest_waiting, complete=complete))
    return folded.report(
        now, hours, pages=pages, truncated=truncated, order_source=source, scanned=scanned
    )


def _mark(marks: ScanMarks | None) -> ScanMark | None:
    try:
        return marks.scan_mark() if marks is not None else None
    except StoreError as exc:  # a full scan costs more calls, but misses nothing
        log.warning("could not read the last scan's mark, scanning every New order: %s", exc)
        return None


def _keep(marks: ScanMarks, mark: ScanMark | None) -> None:
    if mark is None:
        return
    try:
        marks.keep_scan_mark(mark)
    except StoreError as exc:  # the next scan is a full one or an older window: still complete
        log.warning("could not keep this scan's mark: %s", exc)


def _keep_oldest(
    heap: list[tuple[float, int, _T]], entry: tuple[float, int, _T], limit: int
) -> None:
    if len(heap) < limit:
        heapq.heappush(heap, entry)
    elif limit > 0 and entry[:2] > heap[0][:2]:
        heapq.heapreplace(heap, entry)


def _stale_order(order: Order, created: datetime, reason: str) -> StaleOrder:
    """``order`` as listed, created at ``created``; ``reason``: why it is a test order ("" for
    one that is not)."""
    return StaleOrder(
        order.cust_ref, order.cust_po_no, order.order_source, created, order.on_hold is Flag.YES,
        reason, _holdable(order.cust_ref),
    )  # fmt: skip


def _holdable(ref: str) -> bool:
    try:
        validate_ref(ref)
    except OrderRefError:
        return False
    return True


def _unique(orders: list[StaleOrder]) -> list[StaleOrder]:
    """Drop a repeat of one reference (a page boundary shifting under the listing)."""
    seen: set[str] = set()
    kept = []
    for order in orders:
        if order.cust_ref not in seen:
            seen.add(order.cust_ref)
            kept.append(order)
    return kept


def build_report(
    settings: Settings,
    orders: Listing,
    now: datetime,
    *,
    hours: float | None = None,
    count_non_test: bool = True,
    shown_limit: int = SHOWN_LIMIT,
    marks: ScanMarks | None = None,
) -> StaleReport:
    """One listing of stale New orders, classified (CartRover errors propagate); ``marks``, the
    store of the last scan's mark, keeps its cost to recent orders (:mod:`bot.digest.window`)."""
    rule = TestRule.from_settings(settings)
    age = hours if hours is not None else settings.stale_after_hours
    return scan(
        orders,
        rule,
        now,
        age,
        count_non_test=count_non_test,
        shown_limit=shown_limit,
        marks=marks,
    )

"""Reading many orders with few calls.

A single order costs two calls (the status call and the single-order call, made concurrently).
Many orders whose creation times are known come cheaper from one listing of New orders over the
window of those times: one call returns up to 100 records, each with its status *and* flags. An
order missing from that listing (no longer New, or filed under another date than the bot assumes)
is read singly, so absence from a listing never decides anything by itself.

Which date the listing's ``from_date``/``to_date`` filter on is unknown #8 (an unofficial table
says the creation date for New orders; whether seconds count or the bounds are inclusive, nobody
says). :class:`ListingReads` counts, for the run of the process, the orders such a listing found
("hits") and the New orders it missed although their creation time was inside its window
("misses", found by the single read that follows). After :data:`MISSES_IN_A_ROW` misses in a row,
the filter evidently means something else here: the run switches to single reads, says so once
in the log, and counts it in ``cartrover_bot_listing_reads_switched_off_total``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from bot import metrics
from bot.cartrover.errors import CartRoverError
from bot.cartrover.models import Order

__all__ = ["MISSES_IN_A_ROW", "ListingReads", "Read", "listing_pages", "read_orders"]

log = logging.getLogger("bot.cartrover")

Read = Order | CartRoverError  # an order, or why it could not be read
_T = TypeVar("_T")
_R = TypeVar("_R")
Mapper = Callable[[Callable[[_T], _R], Iterable[_T]], Iterator[_R]]

# Unknown #8: whether the listing's date bounds are inclusive; a second either side covers both.
_MARGIN = timedelta(seconds=1)
# Unknown #8: this many New orders in a row missing from listings of their own creation times, and
# the run reads orders singly instead.
MISSES_IN_A_ROW = 3


class ListingReads:
    """For one run (one client, so one process): the hits and misses of listings over known
    creation times, and whether the run has switched to single reads. Thread-safe."""

    def __init__(self, misses_in_a_row: int = MISSES_IN_A_ROW) -> None:
        self._lock = threading.Lock()
        self._limit = misses_in_a_row
        self._in_a_row = 0
        self.hits = self.misses = 0
        self.off = False  # True: this run reads singly

    def record(self, outcomes: Iterable[bool]) -> None:
        """Count one listing's outcomes, in the order the orders were asked for (True: found;
        False: a New order it missed); switch the run to single reads at the limit."""
        switched = False
        with self._lock:
            for hit in outcomes:
                if hit:
                    self.hits, self._in_a_row = self.hits + 1, 0
                else:
                    self.misses, self._in_a_row = self.misses + 1, self._in_a_row + 1
                metrics.LISTING_READS.labels("hit" if hit else "miss").inc()
            if not self.off and self._in_a_row >= self._limit:
                self.off = switched = True
        if switched:
            metrics.LISTING_READS_OFF.inc()
            log.warning(
                "CartRover listings missed %d New orders in a row inside their own creation "
                "times (%d hits, %d misses this run): its date filter evidently means something "
                "else here, so this run reads orders one by one from now on",
                self._limit,
                self.hits,
                self.misses,
            )


class _Calls(Protocol):
    def get_order(self, ref: str) -> Order: ...

    def iter_orders(
        self,
        status: str = "new",
        *,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        limit: int = 100,
        max_pages: int = 1000,
    ) -> Iterable[Order]: ...


def listing_pages(count: int) -> int:
    """The most listing pages worth fetching for ``count`` orders: beyond that, reading the
    orders one by one (two calls each) would have been cheaper."""
    return 1 + count // 50


def read_orders(
    calls: _Calls,
    refs: Sequence[str],
    created: Mapping[str, datetime] | None = None,
    *,
    concurrently: Mapper[str, Read] = map,
    tracker: ListingReads | None = None,
) -> dict[str, Read]:
    """Each of ``refs`` → its Order, or the CartRoverError that stopped its read.

    ``created`` gives known creation times: those orders are looked for in one listing of New
    orders first, unless ``tracker`` says this run reads singly. The rest are read singly,
    ``concurrently`` (a thread pool's ``map``), and the listing's hits and misses go to
    ``tracker``.
    """
    wanted = list(dict.fromkeys(refs))
    dated = {ref: created[ref] for ref in wanted if created and ref in created}
    if tracker is not None and tracker.off:
        dated = {}
    found, complete = _from_listing(calls, dated)
    listed = set(found)
    rest = [ref for ref in wanted if ref not in found]

    def single(ref: str) -> Read:
        try:
            return calls.get_order(ref)
        except CartRoverError as exc:
            return exc

    found.update(zip(rest, concurrently(single, rest), strict=True))
    if tracker is not None and dated and complete:
        tracker.record(
            ref in listed
            for ref in wanted
            if ref in listed or (ref in dated and _is_new(found[ref]))
        )
    return {ref: found[ref] for ref in wanted}


def _is_new(read: Read) -> bool:
    return isinstance(read, Order) and read.order_status == "new"


def _from_listing(calls: _Calls, dated: Mapping[str, datetime]) -> tuple[dict[str, Read], bool]:
    """The orders of ``dated`` one listing found, and whether that listing was read to its end
    (only then does an absence count as a miss)."""
    if not dated:
        return {}, False
    found: dict[str, Read] = {}
    listing = calls.iter_orders(
        "new",
        from_date=min(dated.values()) - _MARGIN,
        to_date=max(dated.values()) + _MARGIN,
        limit=100,
        max_pages=listing_pages(len(dated)),
    )
    try:
        for order in listing:
            if order.cust_ref in dated:
                found.setdefault(order.cust_ref, order)
                if len(found) == len(dated):
                    break
    except CartRoverError as exc:
        log.info("listing %d orders failed; reading them one by one: %s", len(dated), exc)
        return found, False
    return found, not getattr(listing, "truncated", False)

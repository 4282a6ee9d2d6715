"""Reading many orders with few calls.

A single order costs two calls (the status call and the single-order call, made concurrently).
Many orders whose creation times are known come cheaper from one listing of New orders over the
window of those times: one call returns up to 100 records, each with its status *and* flags. An
order missing from that listing (no longer New, or filed under another date than the bot assumes)
is read singly, so absence from a listing never decides anything by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from bot.cartrover.errors import CartRoverError
from bot.cartrover.models import Order

__all__ = ["Read", "listing_pages", "read_orders"]

log = logging.getLogger("bot.cartrover")

Read = Order | CartRoverError  # an order, or why it could not be read
_T = TypeVar("_T")
_R = TypeVar("_R")
Mapper = Callable[[Callable[[_T], _R], Iterable[_T]], Iterator[_R]]

# Unknown #8: whether the listing's date bounds are inclusive; a second either side covers both.
_MARGIN = timedelta(seconds=1)


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
) -> dict[str, Read]:
    """Each of ``refs`` → its Order, or the CartRoverError that stopped its read.

    ``created`` gives known creation times: those orders are looked for in one listing of New
    orders first. The rest are read singly, ``concurrently`` (a thread pool's ``map``).
    """
    wanted = list(dict.fromkeys(refs))
    found = _from_listing(
        calls, {ref: created[ref] for ref in wanted if created and ref in created}
    )
    rest = [ref for ref in wanted if ref not in found]

    def single(ref: str) -> Read:
        try:
            return calls.get_order(ref)
        except CartRoverError as exc:
            return exc

    found.update(zip(rest, concurrently(single, rest), strict=True))
    return {ref: found[ref] for ref in wanted}


def _from_listing(calls: _Calls, dated: Mapping[str, datetime]) -> dict[str, Read]:
    if not dated:
        return {}
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
    return found

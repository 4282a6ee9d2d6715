"""A listing of orders, fetched lazily page by page."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from bot.cartrover import protocol
from bot.cartrover.models import Order

__all__ = ["OrderListing"]

log = logging.getLogger("bot.cartrover")


class OrderListing:
    """A lazy, single-pass iterable of Orders fetched page by page until a short page. Stopping
    the iteration early fetches no further page."""

    def __init__(self, fetch: Callable[[int], list[Order]], limit: int, max_pages: int) -> None:
        self._fetch, self._limit, self._max_pages = fetch, limit, max_pages
        self._started = False
        self.pages_fetched = 0
        self.truncated = False

    def __iter__(self) -> Iterator[Order]:
        if self._started:
            raise RuntimeError("an OrderListing can be iterated only once")
        self._started = True
        return self._orders()

    def _orders(self) -> Iterator[Order]:
        for page in range(1, self._max_pages + 1):
            orders = self._fetch(page)
            self.pages_fetched += 1
            yield from orders
            if protocol.is_last_page(len(orders), self._limit):
                return
        self.truncated = True
        log.warning("CartRover listing stopped at the page cap (%d pages)", self._max_pages)

"""The stale scan's cost follows recent orders, not history: with the real CartRover client, the
sandbox and a real SQLite store, a second scan lists only the window the first one's mark allows,
misses no stale test order that will still be sent, and a weekly full scan sees the rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.cartrover.client import CartRoverClient
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    OrderBook,
    SandboxServer,
    generate_orders,
)
from bot.digest.stale import TestRule, scan
from bot.digest.window import FULL_SCAN_EVERY, Window
from bot.store import Store, open_store
from bot.times import FrozenClock

RULE = TestRule(frozenset({"Test Store"}))
DAY = timedelta(days=1)
CANCELED, STALE = 250, 30


@pytest.fixture
def book(clock: FrozenClock) -> OrderBook:
    """Sending-canceled New orders from 30 to 400 days ago, stale test orders from 2 to 20 days
    ago, and fresh ones."""
    now = clock.now()
    book = OrderBook(clock, send_delay=None)
    book.add_many(
        generate_orders(
            CANCELED,
            now=now,
            min_age=30 * DAY,
            max_age=400 * DAY,
            source="Shopify",
            prefix="OLD-",
            sending_canceled="Y",
        )
    )
    book.add_many(generate_orders(STALE, now=now, min_age=2 * DAY, max_age=20 * DAY, prefix="TS-"))
    book.add_many(
        generate_orders(20, now=now, min_age=timedelta(hours=1), max_age=DAY / 2, source="Shop")
    )
    return book


@pytest.fixture
def server(book: OrderBook) -> Iterator[SandboxServer]:
    with SandboxServer(book, capacity=10_000, refill_seconds=1e-4) as started:
        yield started


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'bot.db'}")
    yield opened
    opened.close()


def digest(server: SandboxServer, store: Store, now: datetime) -> tuple[int, list[str], Window]:
    """One scan as the digest makes it: (listing calls, stale test orders, its window)."""
    with CartRoverClient(server.url, SANDBOX_API_USER, SANDBOX_API_KEY) as client:
        report = scan(client, RULE, now, 24, count_non_test=True, marks=store)
        calls = client.stats.get("list_orders", 0)
    assert report.window is not None
    return calls, [order.cust_ref for order in report.shown], report.window


def test_the_second_scan_lists_only_recent_orders_and_misses_none(
    server: SandboxServer, store: Store, clock: FrozenClock
) -> None:
    """First scan: every New order before the cutoff (the history costs pages). Next day: from
    the oldest order still waiting, so the sending-canceled history is not read again, and every
    stale test order is listed both times."""
    calls, first, scanned = digest(server, store, clock.now())
    assert calls == 3 and len(first) == STALE and scanned.full
    clock.advance(DAY)
    calls, second, scanned = digest(server, store, clock.now())
    assert second == first
    assert calls == 1 and not scanned.full
    (listing,) = [r for r in server.requests if r.route == "M1"][-1:]
    assert "from_date" in listing.query and "to_date" in listing.query
    mark = store.scan_mark()
    assert mark is not None and mark.clear_before == datetime.fromisoformat(
        sorted(r["created_date_time"] for r in server.book.list("new") if r["cust_ref"] in first)[0]
    )


def test_an_order_resumed_long_after_it_was_created_is_found_by_the_weekly_full_scan(
    server: SandboxServer, store: Store, clock: FrozenClock, book: OrderBook
) -> None:
    """An old sending-canceled order whose sending is resumed is outside the window (the
    induction cannot see it); the full scan a week after the last one lists it."""
    digest(server, store, clock.now())
    book.update("OLD-000125", {"sending_canceled": "N", "order_source": "Test Store"})
    clock.advance(DAY)
    assert "OLD-000125" not in digest(server, store, clock.now())[1]
    clock.advance(FULL_SCAN_EVERY)
    calls, found, scanned = digest(server, store, clock.now())
    assert "OLD-000125" in found and scanned.full
    assert calls == 4  # all 300 New orders are older than the cutoff now: 3 pages, 1 empty


def test_a_scan_that_stops_at_its_page_cap_keeps_no_mark(
    server: SandboxServer, store: Store, clock: FrozenClock
) -> None:
    """A listing cut short says nothing about what it did not read: no mark is kept."""
    with CartRoverClient(server.url, SANDBOX_API_USER, SANDBOX_API_KEY) as client:
        capped = client.iter_orders

        def two_pages(status: str = "new", **query: object) -> object:
            return capped(status, **query, max_pages=1)  # type: ignore[arg-type]

        client.iter_orders = two_pages  # type: ignore[method-assign]
        report = scan(client, RULE, clock.now(), 24, count_non_test=True, marks=store)
    assert report.truncated and store.scan_mark() is None


def test_the_window_holds_under_a_whole_day_order_date_filter(
    server: SandboxServer, store: Store, clock: FrozenClock, book: OrderBook
) -> None:
    """When CartRover filters New orders on the cart's order_date in whole days, and orders were
    placed the day before CartRover created them, the window's look-back still lists every
    stale test order."""
    server.faults.list_dates = "order_date"
    for record in book.list("new"):
        placed = datetime.fromisoformat(record["created_date_time"]) - DAY
        book.update(record["cust_ref"], {"order_date": placed.date().isoformat()})
    first = digest(server, store, clock.now())[1]
    clock.advance(DAY)
    calls, second, scanned = digest(server, store, clock.now())
    assert second == first and len(first) == STALE
    assert not scanned.full and calls == 1

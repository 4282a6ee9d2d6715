"""Reading orders of known creation times through listings, when the listing's date filter may
mean something else (unknown #8): the single-read fallback stays, hits and misses are counted for
the run, and three misses in a row switch the run to single reads, logged once and counted."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from bot import metrics
from bot.cartrover.client import CartRoverClient
from bot.cartrover.models import Order
from bot.cartrover.reads import MISSES_IN_A_ROW
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    OrderBook,
    SandboxServer,
    generate_orders,
)
from bot.times import FrozenClock

REFS = [f"TS-{n:06d}" for n in range(1, 7)]


@pytest.fixture
def book(clock: FrozenClock) -> OrderBook:
    book = OrderBook(clock, send_delay=None)
    book.add_many(generate_orders(len(REFS), now=clock.now(), prefix="TS-"))
    return book


@pytest.fixture
def server(book: OrderBook) -> Iterator[SandboxServer]:
    with SandboxServer(book, capacity=10_000, refill_seconds=1e-4) as started:
        yield started


@pytest.fixture
def client(server: SandboxServer) -> Iterator[CartRoverClient]:
    with CartRoverClient(server.url, SANDBOX_API_USER, SANDBOX_API_KEY) as made:
        yield made


def created(book: OrderBook, refs: list[str]) -> dict[str, datetime]:
    found = {}
    for ref in refs:
        record = book.get(ref)
        assert record is not None
        found[ref] = datetime.fromisoformat(record["created_date_time"])
    return found


def placed_days_before(book: OrderBook, refs: list[str]) -> None:
    """The cart's order_date two days before CartRover created the order (a window of a second
    either side of a creation time can span midnight, so one day could still match)."""
    for ref, when in created(book, refs).items():
        book.update(ref, {"order_date": (when - timedelta(days=2)).date().isoformat()})


def routes(server: SandboxServer) -> Counter[str | None]:
    return Counter(r.route for r in server.requests)


def switched_off() -> float:
    return metrics.REGISTRY.get_sample_value("cartrover_bot_listing_reads_switched_off_total") or 0


def test_listings_that_find_every_order_are_hits(
    server: SandboxServer, client: CartRoverClient, book: OrderBook
) -> None:
    """With the filter on the creation time, one listing finds every order: all hits."""
    read = client.get_orders(REFS[:3], created(book, REFS[:3]))
    assert all(isinstance(order, Order) for order in read.values())
    assert (client.listing_reads.hits, client.listing_reads.misses) == (3, 0)
    assert routes(server) == Counter({"M1": 1})


def test_three_misses_in_a_row_switch_the_run_to_single_reads(
    server: SandboxServer,
    client: CartRoverClient,
    book: OrderBook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under an order_date filter, orders placed days before they were created are missing
    from listings over their creation times: each is read singly (never decided by absence) and
    counted a miss; at the third in a row the run switches to single reads, says so once in the
    log and counts it; later reads make no listing call at all."""
    server.faults.list_dates = "order_date"
    placed_days_before(book, REFS)
    before = switched_off()
    with caplog.at_level(logging.WARNING, logger="bot.cartrover"):
        for ref in REFS[:MISSES_IN_A_ROW]:
            (order,) = client.get_orders([ref], created(book, [ref])).values()
            assert isinstance(order, Order) and order.will_be_sent
        assert client.listing_reads.off and client.listing_reads.misses == MISSES_IN_A_ROW
        assert routes(server)["M1"] == MISSES_IN_A_ROW
        server.clear_requests()
        read = client.get_orders(REFS[3:], created(book, REFS[3:]))
    assert all(isinstance(order, Order) for order in read.values())
    assert routes(server) == Counter({"M2": 3, "M3": 3})
    assert switched_off() == before + 1
    (warning,) = [r for r in caplog.records if "one by one from now on" in r.getMessage()]
    assert "3 New orders in a row" in warning.getMessage()


def test_a_hit_between_misses_keeps_the_listings(
    server: SandboxServer, client: CartRoverClient, book: OrderBook
) -> None:
    """Misses must come in a row: two, a hit, two more, and listings are still used."""
    server.faults.list_dates = "order_date"
    placed_days_before(book, [REFS[0], REFS[1], REFS[3], REFS[4]])
    for ref in REFS[:5]:
        client.get_orders([ref], created(book, [ref]))
    assert (client.listing_reads.hits, client.listing_reads.misses) == (1, 4)
    assert not client.listing_reads.off


def test_orders_that_moved_on_are_not_misses(
    server: SandboxServer, client: CartRoverClient, book: OrderBook
) -> None:
    """An order absent from a New listing because it is no longer New is no miss: its date
    filter was not at fault."""
    for ref in REFS[:4]:
        book.update(ref, {"order_status": "at_wms"})
    read = client.get_orders(REFS[:4], created(book, REFS[:4]))
    assert [order.order_status for order in read.values() if isinstance(order, Order)] == [
        "at_wms"
    ] * 4
    assert (client.listing_reads.hits, client.listing_reads.misses) == (0, 0)


def test_a_failed_listing_counts_nothing(
    server: SandboxServer, client: CartRoverClient, book: OrderBook
) -> None:
    """A listing that failed says nothing about the date filter: the orders are read singly and
    no miss is counted."""
    server.faults.fail_5xx = 4  # the listing's attempts
    read = client.get_orders(REFS[:3], created(book, REFS[:3]))
    assert all(isinstance(order, Order) for order in read.values())
    assert (client.listing_reads.hits, client.listing_reads.misses) == (0, 0)

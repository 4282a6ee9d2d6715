"""The test-order and staleness rules, and the streaming scan over a paged listing."""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.cartrover.models import Flag, Order
from bot.digest.stale import HOLD_ALL_LIMIT, SHOWN_LIMIT, TestRule, is_stale, listing_source, scan

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(hours=24)
RULE = TestRule(frozenset({"Test Store"}), re.compile(r"^TEST-"))


def order(
    ref: str = "SHOP-1",
    *,
    hours: float = 30,
    source: str = "Shopify",
    po: str = "#1",
    status: str = "new",
    sending_canceled: Any = "N",
    on_hold: str = "N",
) -> Order:
    return Order.from_api(
        {
            "cust_ref": ref,
            "cust_po_no": po,
            "order_source": source,
            "order_status": status,
            "sending_canceled": sending_canceled,
            "on_hold": on_hold,
            "created_date_time": (NOW - timedelta(hours=hours)).isoformat(),
        }
    )


@pytest.mark.parametrize(
    ("found", "reason"),
    [
        (order("TS-1", source="Test Store"), "source Test Store"),
        (order("TEST-7"), "cust_ref matches ^TEST-"),
        (order("SHOP-9", po="TEST-9"), "PO matches ^TEST-"),
        (order("TEST-8", source="Test Store"), "source Test Store"),
        (order("SHOP-1"), None),
        (order("XTEST-1", po="#TEST-1"), None),
    ],
)
def test_test_orders_are_recognised_by_source_then_cust_ref_then_po(
    found: Order, reason: str | None
) -> None:
    """A test order carries its reason: its source, else its cust_ref, else its PO, matching."""
    assert RULE.reason(found) == reason


@pytest.mark.parametrize(
    ("found", "stale"),
    [
        (order(hours=30), True),
        (order(hours=30, on_hold="Y"), True),
        (order(hours=30, sending_canceled="Y"), False),
        (order(hours=30, sending_canceled=None), False),
        (order(hours=30, sending_canceled="n"), False),
        (order(hours=30, status="at_wms"), False),
        (order(hours=30, status="error"), False),
        (order(hours=2), False),
    ],
)
def test_stale_means_new_will_be_sent_and_old(found: Order, stale: bool) -> None:
    """Only New orders whose sending is surely not canceled, created before the cutoff, count."""
    assert is_stale(found, CUTOFF) is stale


def test_the_boundary_at_exactly_stale_after_hours_is_not_stale() -> None:
    """An order exactly STALE_AFTER_HOURS old is not stale; one second older is."""
    assert not is_stale(order(hours=24), CUTOFF)
    assert is_stale(order(hours=24 + 1 / 3600), CUTOFF)


def test_an_order_without_a_creation_time_is_never_stale() -> None:
    """A record without created_date_time cannot be aged, so it is not listed as stale."""
    undated = Order.from_api({"cust_ref": "TS-1", "order_status": "new", "sending_canceled": "N"})
    assert not is_stale(undated, CUTOFF)


@pytest.mark.parametrize(
    ("rule", "count_non_test", "expected"),
    [
        (TestRule(frozenset({"Test Store"})), False, "Test Store"),
        (TestRule(frozenset({"Test Store"})), True, None),
        (TestRule(frozenset({"A", "B"})), False, None),
        (TestRule(frozenset({"Test Store"}), re.compile("^T")), False, None),
        (TestRule(), False, None),
    ],
)
def test_order_source_is_used_only_when_it_alone_decides(
    rule: TestRule, count_non_test: bool, expected: str | None
) -> None:
    """One source and no pattern, with no non-test count wanted, lets CartRover filter by source."""
    assert listing_source(rule, count_non_test=count_non_test) == expected


class PagedListing:
    """A listing that produces orders page by page, the way CartRoverClient.iter_orders does."""

    def __init__(self, orders: list[Order] | Iterator[Order], page: int = 100) -> None:
        self.orders, self.page = orders, page
        self.pages_fetched = 0
        self.truncated = False
        self.calls: list[dict[str, Any]] = []

    def iter_orders(self, status: str = "new", **query: Any) -> PagedListing:
        self.calls.append({"status": status, **query})
        return self

    def __iter__(self) -> Iterator[Order]:
        batch: list[Order] = []
        for found in self.orders:
            batch.append(found)
            if len(batch) == self.page:
                self.pages_fetched += 1
                yield from batch
                batch = []
        self.pages_fetched += 1
        yield from batch


def test_scan_lists_new_orders_before_the_cutoff_and_classifies_each() -> None:
    """One listing of `new` up to the cutoff tells test, non-test, on-hold and excluded apart."""
    listing = PagedListing(
        [
            order("TS-1", source="Test Store", hours=72),
            order("TEST-7", hours=80, on_hold="Y"),
            order("SHOP-9", po="TEST-9", hours=45),
            order("TEST-3", hours=60, sending_canceled="Y"),
            order("SHOP-1", hours=30),
            order("TS-4", source="Test Store", hours=2),  # a server ignoring to_date
            order("TS-5", source="Test Store", hours=90, status="at_wms"),
        ]
    )
    report = scan(listing, RULE, NOW, 24, count_non_test=True)
    assert listing.calls == [
        {"status": "new", "from_date": None, "to_date": CUTOFF, "order_source": None, "limit": 100}
    ]
    assert [o.cust_ref for o in report.shown] == ["TEST-7", "TS-1", "SHOP-9"]
    assert report.shown[0].on_hold and report.on_hold_count == 1
    assert (report.test_count, report.non_test_count, report.listed) == (3, 1, 7)
    assert report.hold_refs == ("TEST-7", "TS-1", "SHOP-9")


def test_scan_keeps_only_the_oldest_orders_whatever_the_listing_order() -> None:
    """Of 5,000 stale test orders in any order, the oldest are kept, counters count them all."""
    many = [
        order(f"TS-{n:05d}", source="Test Store", hours=25 + (n * 7919) % 5000) for n in range(5000)
    ]
    report = scan(PagedListing(many), RULE, NOW, 24, count_non_test=True)
    ages = sorted(((NOW - o.created_at), o.cust_ref) for o in report.shown)
    assert len(report.shown) == SHOWN_LIMIT and len(report.hold_refs) == HOLD_ALL_LIMIT
    assert report.test_count == 5000 and report.more == 5000 - SHOWN_LIMIT
    oldest = sorted(many, key=lambda o: o.created_at or NOW)
    assert [o.cust_ref for o in report.shown] == [o.cust_ref for o in oldest[:SHOWN_LIMIT]]
    assert list(report.hold_refs) == [o.cust_ref for o in oldest[:HOLD_ALL_LIMIT]]
    assert ages == sorted(ages)


def test_scan_memory_does_not_grow_with_the_number_of_orders() -> None:
    """Scanning 10,000 orders peaks at about the same memory as scanning 1,000."""

    def generated(count: int) -> Iterator[Order]:
        for n in range(count):
            created = CUTOFF - timedelta(minutes=1 + n % 1000)
            yield Order(f"TS-{n:06d}", "", "Test Store", "new", Flag.NO, Flag.NO, created)

    peaks = []
    for count in (1_000, 10_000):
        tracemalloc.start()
        scan(PagedListing(generated(count)), RULE, NOW, 24, count_non_test=True)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5


def test_references_outside_the_grammar_are_listed_but_left_out_of_hold_all() -> None:
    """A stale test order whose reference the bot cannot send is shown, not put in the snapshot."""
    report = scan(
        PagedListing([order("TEST-1/2", hours=30), order("TEST-2", hours=29)]),
        RULE,
        NOW,
        24,
        count_non_test=True,
    )
    assert [o.holdable for o in report.shown] == [False, True]
    assert report.hold_refs == ("TEST-2",)


def test_a_reference_repeated_across_pages_is_listed_once() -> None:
    """A page boundary shifting under the listing does not list one order twice."""
    twice = [order("TS-1", source="Test Store", hours=40)] * 2
    report = scan(PagedListing(twice), RULE, NOW, 24, count_non_test=True)
    assert [o.cust_ref for o in report.shown] == ["TS-1"] and report.hold_refs == ("TS-1",)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("pattern", [r"^(a+)+$", r"(x+x+)+y", r"^(\w+\s?)*$", r"(a|aa)+$"])
def test_a_pathological_test_order_pattern_costs_milliseconds(pattern: str) -> None:
    """Patterns that backtrack exponentially in Python's engine run in linear time: a 64-character
    PO number that almost matches is classified in milliseconds (the pattern is still found
    anywhere in cust_ref / cust_po_no)."""
    from bot.settings import Settings

    rule = TestRule.from_settings(Settings.load({"TEST_ORDER_PATTERN": pattern}))
    hostile = order("SHOP-1", po=("a" * 63 if "a" in pattern else "x" * 63) + "!")
    started = time.perf_counter()
    for _ in range(10):
        rule.reason(hostile)
    assert (time.perf_counter() - started) / 10 < 0.005
    for po in ("aaaa", "xxxy", "b"):  # on short text, the same answers as Python's re
        expected = f"PO matches {pattern}" if re.search(pattern, po) else None
        assert rule.reason(order("SHOP+1", po=po)) == expected


def test_the_test_order_pattern_is_searched_anywhere_in_the_reference() -> None:
    """As with Python's re.search: unanchored patterns match inside cust_ref and cust_po_no."""
    from bot.settings import Settings

    rule = TestRule.from_settings(Settings.load({"TEST_ORDER_PATTERN": r"(?i)-test-\d+"}))
    assert rule.reason(order("SHOP-TEST-12")) == r"cust_ref matches (?i)-test-\d+"
    assert rule.reason(order("SHOP-1", po="po-Test-7 x")) == r"PO matches (?i)-test-\d+"
    assert rule.reason(order("SHOP-1", po="TEST7")) is None

"""End to end, when CartRover's listing dates mean something else than the bot assumes (unknown
#8): the sandbox filters New orders on the cart's `order_date` in whole days, and a hold (its
check, the re-read before each cancel, the verification) and the digest still come out right."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.dev.sandbox import STALE_PATTERN_TEST_REF, STALE_TEST_REF
from bot.slack import ids
from bot.store.records import ItemState, RequestState
from tests.harness import APPROVER, Harness

TEST_ENV = {"TEST_ORDER_SOURCES": "Test Store", "TEST_ORDER_PATTERN": "^TEST-"}
HELD = [STALE_TEST_REF, "TS-1002", "TS-1003"]


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


@pytest.fixture(autouse=True)
def _order_date_filter(harness: Harness) -> None:
    harness.sandbox.faults.list_dates = "order_date"


def placed_days_before(harness: Harness, refs: list[str], days: int = 2) -> None:
    for ref in refs:
        record = harness.book.get(ref)
        assert record is not None
        placed = datetime.fromisoformat(record["created_date_time"]) - timedelta(days=days)
        harness.book.update(ref, {"order_date": placed.date().isoformat()})


def test_a_hold_checks_cancels_and_verifies_each_order_under_order_date_filtering(
    harness: Harness,
) -> None:
    """Every listing over the orders' creation times misses them: each is read singly instead,
    canceled once and verified; the misses switch the bot's run to single reads."""
    placed_days_before(harness, HELD)
    request = harness.open_hold(",".join(HELD) + " test orders")
    assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    done = harness.wait_state(request.id, RequestState.DONE, RequestState.UNKNOWN)
    assert done.state is RequestState.DONE
    assert {item.state for item in done.items} == {ItemState.CANCELED}
    assert [harness.book.cancel_count(ref) for ref in HELD] == [1, 1, 1]
    reads = harness.bot.cartrover.listing_reads
    assert reads.misses == 3 and reads.hits == 0 and reads.off
    listings = [r for r in harness.sandbox.requests if r.route == "M1"]
    assert len(listings) == 3  # one re-read listing per order, then single reads only


def test_the_digest_lists_stale_orders_under_order_date_filtering(harness: Harness) -> None:
    """The digest's cutoff compares whole days: orders placed in the cart before CartRover
    created them are still listed, and fresh ones of the cutoff's day are re-checked out."""
    placed_days_before(harness, [STALE_TEST_REF, STALE_PATTERN_TEST_REF], days=5)
    harness.command("digest now")
    (digest,) = harness.slack.wait_for("chat.postMessage", 1)
    assert "7 stale test orders" in digest.body["text"]
    text = str(digest.body["blocks"])
    assert STALE_TEST_REF in text and STALE_PATTERN_TEST_REF in text

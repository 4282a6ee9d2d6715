"""End to end: `stale`, the digest and "Request hold for all" read every shape of an empty
listing page as "no orders" (R58), through signed HTTP, the sandbox and the local Slack."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot.dev.sandbox import generate_orders
from bot.dev.sandbox.handler import EMPTY_PAGES
from bot.slack import ids
from bot.slack.blocks.text import render_blocks
from tests.harness import CHANNEL, REQUESTER, Harness

SHAPES = sorted(EMPTY_PAGES)
TEST_ENV = {"TEST_ORDER_SOURCES": "Test Store", "TEST_ORDER_PATTERN": "^TEST-"}
CARTROVER_ERROR = "CartRover said"


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


def reply_text(harness: Harness, count: int = 1) -> str:
    return render_blocks(harness.wait_reply(count).body.get("blocks") or []).text


def listings(harness: Harness) -> int:
    return len([r for r in harness.sandbox.requests if r.route == "M1"])


@pytest.mark.parametrize("shape", SHAPES)
def test_stale_with_nothing_stale_says_nothing_stale(harness: Harness, shape: str) -> None:
    """On the commonest day, nothing stale, every empty shape reads as nothing stale."""
    harness.sandbox.faults.empty_page = shape
    assert harness.command("stale 1000").status_code == 200
    text = reply_text(harness)
    assert "Nothing stale" in text and "No stale New test orders" in text
    assert CARTROVER_ERROR not in text and "without a list" not in text
    assert listings(harness) == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_a_digest_of_a_full_page_ends_at_an_empty_page_of_any_shape(
    harness: Harness, shape: str
) -> None:
    """With exactly 100 stale New orders, the digest's second page is empty: whatever its shape,
    the digest lists every stale test order."""
    now = harness.clock.now()
    stale_new = [
        r
        for r in harness.book.list("new")
        if datetime.fromisoformat(r["created_date_time"]) < now - timedelta(hours=24)
    ]
    harness.book.add_many(generate_orders(100 - len(stale_new), now=now, prefix="TS-FILL-"))
    test_orders = 100 - len(stale_new) + 7  # the seed's 7 stale test orders, and the filling
    harness.sandbox.faults.empty_page = shape
    harness.command("digest now")
    (digest,) = harness.slack.wait_for("chat.postMessage", 1)
    assert f"{test_orders} stale test orders" in digest.body["text"]
    assert listings(harness) == 2


@pytest.mark.parametrize("shape", SHAPES)
def test_hold_all_reads_singly_after_an_empty_listing(harness: Harness, shape: str) -> None:
    """Every listed order went to the WMS after `stale`: the hold's check lists nothing (in the
    switch's shape), reads each order singly, and refuses them as gone to the WMS, not as
    an error."""
    harness.command("stale")
    blocks = harness.wait_reply(1).body["blocks"]
    cutoff = harness.clock.now() - timedelta(hours=24)
    for record in harness.book.list("new", to_date=cutoff):
        harness.book.update(record["cust_ref"], {"order_status": "at_wms"})
    harness.sandbox.faults.empty_page = shape
    harness.sandbox.clear_requests()
    (button,) = [
        e for b in blocks if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == ids.REQUEST_HOLD_ALL
    ]  # fmt: skip
    body = harness.click_body(
        ids.REQUEST_HOLD_ALL, button["value"], REQUESTER, channel=CHANNEL, ts="1.000001"
    )
    assert harness.post(body).status_code == 200
    answer = json.dumps(harness.wait_reply(2).body)
    assert "Nothing was requested" in answer and "went to the WMS" in answer
    assert CARTROVER_ERROR not in answer
    assert listings(harness) == 1
    assert harness.slack.of("chat.postMessage") == []

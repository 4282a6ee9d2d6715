"""End to end: `stale`, `digest …` and "Request hold for all" through signed HTTP, the sandbox and
the recording fake Slack; bulk holds paced inside CartRover's rate limit and resumed after a
restart."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from bot.dev.loopback.slack import Failure
from bot.dev.sandbox import (
    CANCELED_SENDING_REF,
    FRESH_TEST_REF,
    ON_HOLD_REF,
    STALE_PATTERN_TEST_REF,
    STALE_TEST_REF,
    TEST_PO_ONLY_REF,
    generate_orders,
)
from bot.slack import ids
from bot.slack.blocks.text import render_blocks
from bot.store.records import HoldRequest, ItemState, RequestState
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER, CHANNEL, REQUESTER, Harness

SEEDED_STALE_TEST = [
    STALE_PATTERN_TEST_REF,  # 80 h, cust_ref matches
    STALE_TEST_REF,  # 72 h, source
    "TS-1002",
    TEST_PO_ONLY_REF,  # 45 h, PO matches
    ON_HOLD_REF,  # 40 h, on hold
    "TEST-0012",
    "TS-1003",
]
TEST_ENV = {"TEST_ORDER_SOURCES": "Test Store", "TEST_ORDER_PATTERN": "^TEST-"}


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


def reply_text(harness: Harness, count: int = 1) -> str:
    return render_blocks(harness.wait_reply(count).body.get("blocks") or []).text


def hold_all_value(blocks: list[dict[str, Any]]) -> str:
    (button,) = [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.REQUEST_HOLD_ALL
    ]
    return str(button["value"])


def click_hold_all(harness: Harness, blocks: list[dict[str, Any]], user: str, ts: str) -> None:
    body = harness.click_body(
        ids.REQUEST_HOLD_ALL, hold_all_value(blocks), user, channel=CHANNEL, ts=ts
    )
    assert harness.post(body).status_code == 200


def newest_request(harness: Harness, count: int) -> HoldRequest:
    """Wait for the ``count``-th chat.postMessage to be a posted hold request; return it."""
    return harness.newest_request(count, timeout=30)


# -- stale --------------------------------------------------------------------------------------


def test_stale_lists_stale_test_orders_oldest_first_with_reasons(harness: Harness) -> None:
    """`stale` replies ephemerally: stale test orders with reason and on-hold mark, the non-test
    warning and the button; fresh, at-WMS and sending-canceled orders are left out."""
    assert harness.command("stale").status_code == 200
    reply = harness.wait_reply().body
    assert reply["response_type"] == "ephemeral"
    text = render_blocks(reply["blocks"]).text
    listed = [line.split("`")[1] for line in text.splitlines() if line.startswith("`")]
    assert listed == SEEDED_STALE_TEST
    assert "(cust_ref matches ^TEST-)" in text and "(PO matches ^TEST-)" in text
    assert "(source Test Store)" in text
    on_hold_line = next(line for line in text.splitlines() if ON_HOLD_REF in line)
    assert "on hold" in on_hold_line
    for absent in (FRESH_TEST_REF, CANCELED_SENDING_REF, "TS-0998", "TEST-0015"):
        assert absent not in text
    assert "2 stale New orders are not test orders" in text
    assert "[1] Request hold for all 7" in text
    (listing,) = [r for r in harness.sandbox.requests if r.route == "M1"]
    assert listing.path.endswith("/orders/list/new")
    assert "to_date" in listing.query and "order_source" not in listing.query


def test_stale_with_hours_uses_that_age(harness: Harness) -> None:
    """`stale 60` lists only test orders created more than 60 hours ago."""
    harness.command("stale 60")
    text = reply_text(harness)
    assert [line.split("`")[1] for line in text.splitlines() if line.startswith("`")] == [
        STALE_PATTERN_TEST_REF,
        STALE_TEST_REF,
    ]
    assert "more than 60 hours ago" in text


def test_stale_with_one_source_and_no_pattern_lets_cartrover_filter(
    make_harness: MakeHarness,
) -> None:
    """With only TEST_ORDER_SOURCES=Test Store, the listing asks CartRover for that source."""
    h = make_harness(TEST_ORDER_SOURCES="Test Store")
    h.command("stale")
    text = reply_text(h)
    assert "listed source Test Store only" in text and "not test orders" not in text
    (listing,) = [r for r in h.sandbox.requests if r.route == "M1"]
    assert listing.query["order_source"] == "Test Store"


# -- digest subscriptions ----------------------------------------------------------------------


def test_digest_subscribe_show_and_unsubscribe(harness: Harness) -> None:
    """`digest` says none, `subscribe` stores time and zone and shows it, `unsubscribe` ends it."""
    harness.command("digest")
    assert "*none*" in reply_text(harness, 1)
    harness.command("digest subscribe 08:30 Europe/Berlin")
    assert "Subscribed." in reply_text(harness, 2)
    made = harness.bot.store.subscription(CHANNEL)
    assert made is not None and (made.local_time, made.timezone) == ("08:30", "Europe/Berlin")
    assert made.created_by == REQUESTER
    harness.command("digest")
    shown = reply_text(harness, 3)
    assert "08:30" in shown and "Europe/Berlin" in shown and "Next one" in shown
    harness.command("digest unsubscribe")
    assert "Unsubscribed." in reply_text(harness, 4)
    assert harness.bot.store.subscription(CHANNEL) is None


def test_digest_subscribe_defaults_to_digest_time_and_timezone(make_harness: MakeHarness) -> None:
    """`digest subscribe` alone uses DIGEST_TIME and TIMEZONE."""
    h = make_harness(DIGEST_TIME="07:45", TIMEZONE="America/Chicago")
    h.command("digest subscribe")
    h.wait_reply()
    made = h.bot.store.subscription(CHANNEL)
    assert made is not None and (made.local_time, made.timezone) == ("07:45", "America/Chicago")


@pytest.mark.parametrize(
    ("text", "example"),
    [
        ("digest subscribe 25:00", "for example 09:00"),
        ("digest subscribe 9am", "for example 09:00"),
        ("digest subscribe Mars/Olympus", "Europe/Berlin"),
        ("digest weekly", "Usage"),
    ],
)
def test_bad_digest_times_and_zones_are_refused_with_an_example(
    harness: Harness, text: str, example: str
) -> None:
    """A bad time or an unknown zone is answered at once, naming an example; nothing is stored."""
    body = harness.command(text).json()
    assert body["response_type"] == "ephemeral" and example in body["text"]
    assert harness.bot.store.subscription(CHANNEL) is None


# -- digest now and "Request hold for all" -------------------------------------------------------


def test_digest_now_then_hold_all_opens_one_request_that_cancels_all(harness: Harness) -> None:
    """`digest now` posts in the channel; its button opens one bulk request by the clicker;
    approving it cancels sending for every listed order, once each."""
    harness.command("digest now")
    (digest_post,) = harness.slack.wait_for("chat.postMessage", 1)
    assert digest_post.body["channel"] == CHANNEL
    assert "7 stale test order" in digest_post.body["text"]
    click_hold_all(harness, digest_post.body["blocks"], REQUESTER, ts="1700000000.000001")
    request = newest_request(harness, 2)
    assert request.source == "digest" and request.requester == REQUESTER
    assert request.cust_refs == SEEDED_STALE_TEST
    assert "Hold request #" in json.dumps(harness.wait_reply().body)
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    done = harness.wait_state(request.id, RequestState.DONE)
    assert {item.state for item in done.items} == {ItemState.CANCELED}
    assert [harness.book.cancel_count(ref) for ref in SEEDED_STALE_TEST] == [1] * 7


def test_a_second_click_on_hold_all_opens_nothing_new(harness: Harness) -> None:
    """While a bulk request is open, clicking the same button again requests nothing."""
    harness.command("stale")
    blocks = harness.wait_reply(1).body["blocks"]
    click_hold_all(harness, blocks, REQUESTER, ts="1700000000.000099")
    newest_request(harness, 1)
    harness.wait_reply(2)  # the first clicker is told before the second click (replies in order)
    click_hold_all(harness, blocks, APPROVER, ts="1700000000.000099")
    assert "Nothing was requested" in json.dumps(harness.wait_reply(3).body)
    assert len(harness.bot.store.requests_in_state(RequestState.PENDING)) == 1


def test_hold_all_skips_orders_that_moved_on_since_the_digest(harness: Harness) -> None:
    """An order sent to the WMS after the digest is left out of the bulk request, not fatal."""
    harness.command("stale")
    blocks = harness.wait_reply(1).body["blocks"]
    harness.book.update(STALE_TEST_REF, {"order_status": "at_wms"})
    click_hold_all(harness, blocks, REQUESTER, ts="1700000000.000099")
    request = newest_request(harness, 1)
    assert STALE_TEST_REF not in request.cust_refs and len(request.cust_refs) == 6
    answer = json.dumps(harness.wait_reply(2).body)
    assert "Left out (1)" in answer and STALE_TEST_REF in answer


def test_digest_now_where_the_bot_is_not_invited_says_how_to_fix_it(harness: Harness) -> None:
    """`not_in_channel` on the digest post is told to the user as a setup step."""
    harness.slack.fail_next("chat.postMessage", Failure(error="not_in_channel"))
    harness.command("digest now")
    assert "/invite" in json.dumps(harness.wait_reply().body)


def test_hold_all_with_an_unknown_snapshot_is_refused(harness: Harness) -> None:
    """A click whose snapshot id the bot never made opens nothing."""
    body = harness.click_body(ids.REQUEST_HOLD_ALL, "999", REQUESTER, channel=CHANNEL, ts="1.2")
    harness.post(body)
    assert "no record of that list" in json.dumps(harness.wait_reply().body)
    assert harness.slack.of("chat.postMessage") == []


# -- bulk holds: pacing, progress, restart --------------------------------------------------------


def add_bulk_orders(harness: Harness, count: int) -> list[str]:
    records = generate_orders(count, now=harness.clock.now(), prefix="BULK-")
    harness.book.add_many(records)
    return [str(r["cust_ref"]) for r in records]


def request_all_and_approve(harness: Harness) -> HoldRequest:
    harness.command("stale")
    blocks = harness.wait_reply(1, timeout=30).body["blocks"]
    click_hold_all(harness, blocks, REQUESTER, ts="1700000000.000099")
    request = newest_request(harness, 1)
    assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    return request


def test_bulk_hold_of_150_stays_inside_the_rate_limit_and_cancels_each_once(
    make_harness: MakeHarness,
) -> None:
    """150 orders against a bucket of 10 refilling every 0.01 s: no RateLimit answer, every
    order canceled once, and progress updates at most about once a second."""
    h = make_harness(**TEST_ENV)
    h.set_rate_limit(10, 0.01)
    h.restart(drain_seconds=1)
    bulk = add_bulk_orders(h, 150)
    started = time.monotonic()
    request = request_all_and_approve(h)
    done = h.wait_state(request.id, RequestState.DONE, timeout=60)
    elapsed = time.monotonic() - started
    assert len(done.items) == 157 and {i.state for i in done.items} == {ItemState.CANCELED}
    assert h.sandbox.rate_limited_count == 0
    assert all(h.book.cancel_count(ref) == 1 for ref in [*bulk, *SEEDED_STALE_TEST])
    assert len(h.sandbox.cancel_requests()) == 157
    h.wait_until(lambda: "Hold request done" in json.dumps(h.slack.of("chat.update")[-1].body))
    updates = [c for c in h.slack.of("chat.update") if c.body["ts"] == request.message_ts]
    assert len(updates) <= elapsed + 3


def test_a_bulk_hold_checks_and_verifies_with_listings(harness: Harness) -> None:
    """From the "Request hold for all" click to the final message, 150 stale orders cost fewer
    than three CartRover calls each: the check at opening and the verification use listings, the
    re-read before each cancel is one listing call, and each order gets exactly one cancel."""
    bulk = add_bulk_orders(harness, 150)
    harness.command("stale")
    blocks = harness.wait_reply(1, timeout=30).body["blocks"]
    harness.sandbox.clear_requests()
    click_hold_all(harness, blocks, REQUESTER, ts="1700000000.000099")
    request = newest_request(harness, 1)
    assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    done = harness.wait_state(request.id, RequestState.DONE, timeout=60)
    orders = len(done.items)
    assert orders == len(bulk) + len(SEEDED_STALE_TEST)
    assert {item.state for item in done.items} == {ItemState.CANCELED}
    routes = Counter(r.route for r in harness.sandbox.requests)
    assert routes["C4"] == orders  # one cancel each
    assert routes["M2"] == routes["M3"] == 0  # nothing had to be read singly
    assert sum(routes.values()) < 3 * orders
    assert all(item.order_created_at is not None for item in done.items)


def test_a_restart_in_the_middle_of_a_bulk_hold_resumes_without_resending(
    harness: Harness,
) -> None:
    """The first bot stops with one cancel in flight; the next one takes the request over at
    start-up, re-reads that order, finishes the rest, and CartRover sees exactly one cancel per
    order (R42, R49)."""
    bulk = add_bulk_orders(harness, 30)
    harness.sandbox.faults.latency = 0.01
    request = request_all_and_approve(harness)

    def finished() -> int:
        return sum(item.state.is_final for item in harness.request(request.id).items)

    harness.wait_until(lambda: finished() >= 10, timeout=30)
    harness.sandbox.faults.hang_cancel = 1
    assert harness.sandbox.faults.wait_held(1, timeout=10)
    stopped_at = finished()
    harness.restart(drain_seconds=0.1)  # a clean stop gives the request up; the next bot takes it
    done = harness.wait_state(request.id, RequestState.DONE, RequestState.UNKNOWN, timeout=30)
    harness.sandbox.faults.release()
    assert done.state is RequestState.DONE and stopped_at < len(done.items) == 37
    assert {item.state for item in done.items} == {ItemState.CANCELED}
    assert all(harness.book.cancel_count(ref) == 1 for ref in [*bulk, *SEEDED_STALE_TEST])

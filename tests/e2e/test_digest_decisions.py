"""The digest as an approver reads it, end to end through signed requests, the CartRover sandbox,
the local Slack and a real SQLite file: "Request hold for all" offers only the orders not already
in an open request (and says so), the requests still waiting for an approver are listed, the
stale orders that are not test orders are named, and ``DIGEST_DAYS`` skips the days it leaves
out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.dev.sandbox import STALE_NON_TEST_REF, STALE_TEST_REF
from bot.digest import schedule
from bot.slack import ids
from bot.store.records import RequestState
from tests.e2e.conftest import MakeHarness
from tests.e2e.test_digest_in_slack import SEEDED_STALE_TEST, TEST_ENV, hold_all_value
from tests.harness import APPROVER_2, CHANNEL, REQUESTER, Harness


def digest_now(harness: Harness) -> dict[str, object]:
    before = len(harness.slack.of("chat.postMessage"))
    assert harness.command("digest now").status_code == 200
    return harness.slack.wait_for("chat.postMessage", before + 1)[-1].body


def test_the_digest_offers_only_orders_not_yet_requested_and_lists_the_waiting_requests(
    make_harness: MakeHarness,
) -> None:
    """One stale test order is already in a waiting request: the digest marks it, names that
    request among those waiting for an approver, and its button offers the other six, saying
    why; clicked, it opens a request of those six with nothing left out."""
    harness = make_harness(**TEST_ENV)
    waiting = harness.open_hold(f"{STALE_TEST_REF} test order")
    digest = digest_now(harness)
    text = json.dumps(digest, ensure_ascii=False)
    assert (
        f"`{STALE_TEST_REF}` · PO `1001` · 3d old · (source Test Store) · in hold request #1"
        in (text)
    )
    assert "*Waiting for an approver (1):*" in text and f"by <@{REQUESTER}>" in text
    assert "1 of them is already in an open hold request (#1); the button leaves it out." in text
    assert "Request hold for the 6 not yet requested" in text
    value = hold_all_value(digest["blocks"])  # type: ignore[arg-type]
    click = harness.click_body(ids.REQUEST_HOLD_ALL, value, APPROVER_2, channel=CHANNEL, ts="1.1")
    assert harness.post(click).status_code == 200
    bulk = harness.newest_request(len(harness.slack.of("chat.postMessage")) + 1)
    assert bulk.id != waiting.id
    assert bulk.cust_refs == [ref for ref in SEEDED_STALE_TEST if ref != STALE_TEST_REF]
    answer = json.dumps(harness.wait_reply(2).body)
    assert "Left out" not in answer


def test_the_digest_names_the_stale_orders_that_are_not_test_orders(
    make_harness: MakeHarness,
) -> None:
    """The warning names each stale New order that is not a test order, with its source and
    age, instead of only counting them."""
    harness = make_harness(**TEST_ENV)
    text = json.dumps(digest_now(harness), ensure_ascii=False)
    assert "2 stale New orders are not test orders*: " in text
    assert f"`{STALE_NON_TEST_REF}` (Shopify, 1d 6h old)" in text
    assert "`113-4417821-0053962` (Amazon, 1d 9h old)" in text


def test_digest_days_skips_the_days_it_leaves_out(make_harness: MakeHarness) -> None:
    """DIGEST_DAYS=mon-fri: the subscription says so and names Monday as the next digest from
    a Saturday; the scheduled digest is not posted on Saturday and is on Monday."""
    harness = make_harness(DIGEST_DAYS="mon-fri", **TEST_ENV)
    harness.clock.set(datetime(2026, 3, 7, 10, 0, tzinfo=UTC))  # a Saturday
    assert harness.command("digest subscribe 09:00 europe/berlin").status_code == 200
    told = json.dumps(harness.wait_reply(1).body)
    assert "Digest in this channel at *09:00* Europe/Berlin, mon-fri (DIGEST_DAYS)" in told
    monday = int(datetime(2026, 3, 9, 8, 0, tzinfo=UTC).timestamp())  # 09:00 in Berlin
    assert f"Next one: <!date^{monday}^" in told
    deps = harness.bot.deps
    harness.clock.advance(timedelta(hours=1))
    assert schedule.digest_catch_up(deps) == {CHANNEL: schedule.Outcome.NOT_DUE}
    harness.clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=UTC))  # Monday, 10:00 in Berlin
    assert schedule.digest_catch_up(deps) == {CHANNEL: schedule.Outcome.POSTED}
    assert harness.bot.store.requests_in_state(RequestState.PENDING) == []

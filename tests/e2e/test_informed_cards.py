"""A hold request an approver can decide with confidence, end to end through signed requests, the
CartRover sandbox, the local Slack and a real SQLite file: `hold` reads its orders as `status`
does, the card shows each order's facts and marks the ones that are not test orders in words, a
big request is summarised on its card and listed in its thread, and the approvers are reached
(mentioned, sent a direct message, or not) and reminded once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.dev.loopback.slack import Call
from bot.dev.sandbox import ON_HOLD_REF, STALE_NON_TEST_REF, STALE_TEST_REF, generate_orders
from bot.holds import flow
from bot.store.records import HoldRequest, RequestState
from tests.e2e.conftest import MakeHarness
from tests.e2e.test_digest_in_slack import TEST_ENV
from tests.harness import APPROVER, APPROVER_2, CHANNEL, GROUP, GROUP_MEMBER, REQUESTER, Harness


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


def reply(harness: Harness, count: int) -> str:
    return json.dumps(harness.wait_reply(count).body, ensure_ascii=False)


def card_of(harness: Harness, request: HoldRequest) -> Call:
    (posted,) = [
        call
        for call in harness.slack.of("chat.postMessage")
        if call.reply and call.reply.get("ts") == request.message_ts
    ]
    return posted


def text_of(call: Call) -> str:
    return json.dumps(call.body, ensure_ascii=False)


# -- 1. hold reads its orders like status ------------------------------------------------------


def test_hold_takes_orders_separated_by_spaces_and_the_reason_after_them(harness: Harness) -> None:
    """`hold TS-1002 TS-1003` holds both (the second is no reason); the reason starts at the
    first word without a digit; a pasted reference in backticks is read without them."""
    request = harness.open_hold("TS-1002 `TS-1003` wrong store")
    assert request.cust_refs == ["TS-1002", "TS-1003"]
    assert request.reason == "wrong store"


def test_a_reason_word_that_is_also_an_order_is_never_taken_silently(harness: Harness) -> None:
    """The reason's first word is an order CartRover knows (no digit in it): nothing is
    requested, and the two ways to say which it is are shown; either way then works."""
    harness.book.add({"cust_ref": "ABC", "order_source": "Test Store", "order_status": "new"})
    assert harness.command("hold TS-1002 ABC oops").status_code == 200
    told = reply(harness, 1)
    assert "`ABC` is an order CartRover knows" in told and "nothing was requested" in told
    assert "/cartrover hold TS-1002, ABC oops" in told
    assert "/cartrover hold TS-1002 - ABC oops" in told
    assert harness.slack.of("chat.postMessage") == []
    both = harness.open_hold("TS-1002, ABC oops")
    assert both.cust_refs == ["TS-1002", "ABC"] and both.reason == "oops"


def test_an_unknown_word_with_a_digit_gets_the_dash_hint(harness: Harness) -> None:
    """`hold TS-1002 2nd try`: `2nd` reads as an order, CartRover does not know it, and the
    answer says how to make it the reason instead."""
    assert harness.command("hold TS-1002 2nd try").status_code == 200
    told = reply(harness, 1)
    assert "`2nd` is not known to CartRover" in told
    assert "If `2nd` starts the reason, separate the reason with a dash" in told
    assert "/cartrover hold TS-1002 - 2nd try" in told


def test_a_reference_in_the_wrong_case_suggests_the_one_cartrover_knows(harness: Harness) -> None:
    """`ts-1001` is not CartRover's reference; `TS-1001` is, and both status and hold say so."""
    assert harness.command("status ts-1001").status_code == 200
    assert "Did you mean `TS-1001`?" in reply(harness, 1)
    assert harness.command("hold ts-1001").status_code == 200
    assert "did you mean `TS-1001`?" in reply(harness, 2)


# -- 2. the card shows what an approver needs --------------------------------------------------


def test_the_card_shows_each_order_and_marks_one_that_is_not_a_test_order(
    harness: Harness,
) -> None:
    """Source, created time and age, ship-to city and state, units, and the test-order rule per
    order; the real order is first, marked "⚠ not a test order" in words."""
    request = harness.open_hold(f"{STALE_TEST_REF} {STALE_NON_TEST_REF} oops")
    card = text_of(card_of(harness, request))
    assert "⚠ *1 of 2 orders is not a test order* — check before approving." in card
    lines = next(
        block["text"]["text"]
        for block in card_of(harness, request).body["blocks"]
        if block.get("block_id") == f"hold-{request.id}-pending-orders"
    ).splitlines()
    assert lines[0].startswith(f"`{STALE_NON_TEST_REF}` — ⚠ not a test order · Shopify · created")
    assert "(1d 6h old)" in lines[0] and "ships to San Antonio, TX" in lines[0]
    assert lines[0].endswith("3 units")
    assert lines[1].startswith(f"`{STALE_TEST_REF}` — test order (source Test Store) · created")
    assert "(3d old)" in lines[1] and "ships to Reno, NV · 1 unit" in lines[1]


def test_a_big_request_is_summarised_on_its_card_and_listed_in_its_thread(
    harness: Harness,
) -> None:
    """150 orders of two sources: the card counts them by source and test / not test within
    Slack's limits, and every order follows in the card's thread, the real ones first."""
    now = harness.clock.now()
    harness.book.add_many(generate_orders(120, now=now, prefix="TS-B"))
    harness.book.add_many(generate_orders(30, now=now, prefix="SHOP-B", source="Shopify"))
    refs = [f"TS-B{n:06d}" for n in range(1, 121)] + [f"SHOP-B{n:06d}" for n in range(1, 31)]
    request = flow.ask(
        harness.bot.deps, requester=REQUESTER, channel_id=CHANNEL, refs=refs, reason="bulk"
    ).posted
    assert request is not None
    card = card_of(harness, request.request).body
    assert len(card["blocks"]) <= 12 and len(json.dumps(card)) < 12_000
    text = json.dumps(card["blocks"], ensure_ascii=False)
    assert "*By source:* Test Store 120 · Shopify 30" in text
    assert "120 test orders · *⚠ 30 not test orders*" in text
    assert "Every order is listed in this message's thread." in text
    thread = [
        call
        for call in harness.slack.of("chat.postMessage")
        if call.body.get("thread_ts") == request.request.message_ts
    ]
    assert len(thread) == 4  # 40 a reply
    listed = "\n".join(text_of(call) for call in thread)
    assert all(f"`{ref}`" in listed for ref in refs)
    assert "waiting: orders 1–40 of 150" in text_of(thread[0])
    assert "SHOP-B000001` — ⚠ not a test order" in text_of(thread[0])


# -- 3. approvers are reached ------------------------------------------------------------------


def test_the_card_mentions_up_to_five_approvers_but_not_the_requester(
    make_harness: MakeHarness,
) -> None:
    """Without a user group in APPROVERS, the card (and its notification text) mentions the
    approvers, five at most, never the requester."""
    people = ",".join([REQUESTER, APPROVER, APPROVER_2, *(f"UAPPRV{n}" for n in range(5))])
    harness = make_harness(APPROVERS=people, **TEST_ENV)
    request = harness.open_hold(STALE_TEST_REF)
    card = card_of(harness, request).body
    mentions = f"<@{APPROVER}>, <@{APPROVER_2}>, <@UAPPRV0>, <@UAPPRV1>, <@UAPPRV2> and 2 more"
    assert f"*Approvers:* {mentions}" in json.dumps(card["blocks"])
    assert card["text"].endswith(f"— approvers: {mentions}")
    assert f"<@{REQUESTER}>" not in json.dumps(card["blocks"]).replace(
        f"*Requested by:* <@{REQUESTER}>", ""
    )


def test_a_user_group_in_approvers_is_mentioned_as_the_group(harness: Harness) -> None:
    """APPROVERS names a user group: the card mentions the group, not its members."""
    request = harness.open_hold(STALE_TEST_REF)
    blocks = json.dumps(card_of(harness, request).body["blocks"])
    assert f"*Approvers:* <!subteam^{GROUP}>" in blocks
    assert f"<@{APPROVER}>" not in blocks and f"<@{GROUP_MEMBER}>" not in blocks


def test_notify_dm_sends_each_approver_a_direct_message(make_harness: MakeHarness) -> None:
    """NOTIFY_APPROVERS=dm: no mention on the card; each approver (the group's members
    included) gets a direct message from the app, opened with conversations.open."""
    harness = make_harness(NOTIFY_APPROVERS="dm", **TEST_ENV)
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.wait_for("conversations.open", 3)
    blocks = json.dumps(card_of(harness, request).body["blocks"])
    assert "<!subteam^" not in blocks and "The approvers were sent a direct message." in blocks
    reached = {call.args["users"] for call in harness.slack.of("conversations.open")}
    assert reached == {APPROVER, APPROVER_2, GROUP_MEMBER}
    dms = [c for c in harness.slack.of("chat.postMessage") if c.body["channel"].startswith("D")]
    assert len(dms) == 3
    assert (
        f"Hold request #{request.id} by <@{REQUESTER}> waits for an approver" in dms[0].body["text"]
    )


def test_notify_off_reaches_nobody(make_harness: MakeHarness) -> None:
    """NOTIFY_APPROVERS=off: no mention, no direct message, no reminder."""
    harness = make_harness(NOTIFY_APPROVERS="off", HOLD_REQUEST_TTL_HOURS="10", **TEST_ENV)
    request = harness.open_hold(ON_HOLD_REF)  # on hold: never sent, so the request waits
    assert "Approvers" not in json.dumps(card_of(harness, request).body)
    harness.clock.advance(timedelta(hours=9, minutes=30))
    flow.maintain(harness.bot.deps)
    assert harness.slack.of("conversations.open") == []
    assert [c for c in harness.slack.of("chat.postMessage") if c.body.get("thread_ts")] == []


def test_one_reminder_in_the_thread_when_a_tenth_of_the_time_remains(harness: Harness) -> None:
    """With 24 hours to live, the approvers are reminded in the card's thread once 2h 24m are
    left, once, however often the maintenance pass runs, and not before."""
    request = harness.open_hold(f"{ON_HOLD_REF} still waiting")
    harness.clock.advance(timedelta(hours=21, minutes=30))
    flow.maintain(harness.bot.deps)
    assert not [c for c in harness.slack.of("chat.postMessage") if c.body.get("thread_ts")]
    harness.clock.advance(timedelta(hours=0, minutes=10))
    flow.maintain(harness.bot.deps)
    flow.maintain(harness.bot.deps)
    (reminder,) = [c for c in harness.slack.of("chat.postMessage") if c.body.get("thread_ts")]
    assert reminder.body["thread_ts"] == request.message_ts
    text = reminder.body["text"]
    assert text.startswith(f"⏰ <!subteam^{GROUP}>: hold request #{request.id} still needs")
    assert "(in 2h 20m)" in text
    assert harness.request(request.id).state is RequestState.PENDING
    assert [e.event for e in harness.bot.store.audit_for_request(request.id)].count("reminded") == 1

"""The digest message and the bulk hold message stay within Slack's limits, whatever the list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.digest.messages import digest_message, subscription_message
from bot.digest.stale import HOLD_ALL_LIMIT, SHOWN_LIMIT, StaleOrder, StaleReport
from bot.holds.card import hold_message
from bot.slack import ids
from bot.slack.blocks.message import Message
from bot.slack.blocks.text import render_blocks
from bot.store.records import DigestSubscription, HoldItem, HoldRequest, ItemState, RequestState

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def report(test_count: int, *, non_test: int | None = 0, on_hold_every: int = 0) -> StaleReport:
    shown = tuple(
        StaleOrder(
            cust_ref=f"TS-{n:06d}",
            cust_po_no=f"PO-{n:06d}",
            order_source="Test Store",
            created_at=NOW - timedelta(hours=200 - n * 0.01),
            on_hold=bool(on_hold_every) and n % on_hold_every == 0,
            reason="source Test Store",
        )
        for n in range(min(test_count, SHOWN_LIMIT))
    )
    return StaleReport(
        now=NOW,
        hours=24,
        shown=shown,
        hold_refs=tuple(f"TS-{n:06d}" for n in range(min(test_count, HOLD_ALL_LIMIT))),
        test_count=test_count,
        non_test_count=non_test,
        on_hold_count=sum(o.on_hold for o in shown),
        listed=test_count + (non_test or 0),
        pages=test_count // 100 + 1,
        truncated=False,
        rule_configured=True,
    )


def assert_within_slack_limits(message: Message) -> None:
    assert len(message.blocks) <= 50
    for block in message.blocks:
        Block.parse(block).to_dict()  # type: ignore[union-attr]  # slack_sdk validates on to_dict
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert len(json.dumps(message.blocks)) < 13_000
    assert message.text


def buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize("count", [1, 7, 150, 5_000])
def test_digest_of_any_length_stays_within_slack_limits(count: int) -> None:
    """1 to 5,000 stale orders give a valid message of at most 50 blocks and under 13k chars."""
    message = digest_message(report(count, non_test=700), "Daily digest", snapshot_id=42)
    assert_within_slack_limits(message)
    text = render_blocks(message.blocks).text
    assert f"{count} stale test order" in text
    if count > 50:
        assert "more, newer than those listed" in text


def test_digest_lists_oldest_first_with_age_reason_and_on_hold() -> None:
    """Each line has the reference, PO, age and reason; on-hold orders are marked."""
    message = digest_message(report(3, on_hold_every=2), "Daily digest", snapshot_id=1)
    lines = [line for line in render_blocks(message.blocks).text.splitlines() if "TS-" in line]
    assert [line.split()[0] for line in lines] == ["`TS-000000`", "`TS-000001`", "`TS-000002`"]
    assert "8d 8h old" in lines[0] and "(source Test Store)" in lines[0]
    assert "on hold" in lines[0] and "on hold" not in lines[1]


def test_hold_all_button_carries_a_snapshot_id_never_the_list() -> None:
    """The button's value is the snapshot id; its label says how many orders it covers."""
    (button,) = buttons(digest_message(report(5_000), "Daily digest", snapshot_id=77))
    assert button["action_id"] == ids.REQUEST_HOLD_ALL and button["value"] == "77"
    assert button["text"]["text"] == f"Request hold for the oldest {HOLD_ALL_LIMIT}"
    (small,) = buttons(digest_message(report(12), "Daily digest", snapshot_id=78))
    assert small["text"]["text"] == "Request hold for all 12"


def test_non_test_stale_orders_are_a_separate_warning() -> None:
    """Stale non-test New orders are counted apart, with the stuck-WMS hint."""
    text = render_blocks(digest_message(report(2, non_test=700), "D", 1).blocks).text
    assert "700 stale New orders are not test orders" in text and "WMS connection" in text
    quiet = render_blocks(digest_message(report(2, non_test=0), "D", 1).blocks).text
    assert "not test orders" not in quiet


def test_empty_digest_is_one_short_line_without_a_button() -> None:
    """Nothing stale gives a 'nothing stale' line and no button."""
    message = digest_message(report(0), "Daily digest", snapshot_id=None)
    assert buttons(message) == []
    assert "No stale New test orders" in render_blocks(message.blocks).text
    assert_within_slack_limits(message)


def test_cartrover_text_in_the_digest_is_escaped() -> None:
    """A source or reference with <, > and & reaches Slack escaped."""
    hostile = StaleOrder(
        "TEST-1", "<!channel>", "<https://x|Approve> & co", NOW - timedelta(days=2), False, "x"
    )
    base = report(0)
    message = digest_message(
        StaleReport(**{**base.__dict__, "shown": (hostile,), "test_count": 1}), "D", None
    )
    sent = json.dumps(message.blocks)
    assert "<!channel>" not in sent and "<https://x|Approve>" not in sent
    assert "&lt;!channel&gt;" in sent and "&amp; co" in sent


def test_subscription_replies_name_time_zone_and_next_run() -> None:
    """`digest` shows the subscription or 'none'; the confirmation gives the next run."""
    sub = DigestSubscription("C1", "08:30", "Europe/Berlin", created_by="U1", created_at=NOW)
    shown = render_blocks(subscription_message(sub, NOW, changed="Subscribed.").blocks).text
    assert "Subscribed." in shown and "08:30" in shown and "Europe/Berlin" in shown
    assert "Next one" in shown
    assert "*none*" in render_blocks(subscription_message(None, None).blocks).text


def bulk_request(count: int, state: RequestState) -> HoldRequest:
    items = tuple(
        HoldItem(
            request_id=9,
            cust_ref=f"BULK-{n:06d}",
            position=n,
            state=ItemState.CANCELED if n % 3 else ItemState.NOT_CONFIRMED,
            detail="New — sending canceled" if n % 3 else "CartRover still shows New",
            process_ids=("SBX-abcdef123456",),
        )
        for n in range(count)
    )
    return HoldRequest(
        id=9,
        requester="U1",
        channel_id="C1",
        reason="stale test orders listed by the digest",
        state=state,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        source="digest",
        decided_by="U2",
        decided_at=NOW,
        items=items,
    )


@pytest.mark.parametrize("count", [150, 5_000])
@pytest.mark.parametrize("state", [RequestState.PENDING, RequestState.UNKNOWN])
def test_bulk_hold_messages_summarise_long_lists(count: int, state: RequestState) -> None:
    """The request and its final outcome list for 150 and 5,000 orders stay within limits."""
    message = hold_message(bulk_request(count, state), NOW)
    assert_within_slack_limits(message)
    text = render_blocks(message.blocks).text
    assert f"{count} orders" in text
    if state is RequestState.PENDING:
        assert ("more" in text) is (count > 150)
        return
    problems = (count + 2) // 3
    assert f"{count} of {count} ({count - problems} sending stopped ✅, {problems} NOT" in text
    first = next(line for line in text.splitlines() if line.startswith("`BULK-"))
    assert "NOT CONFIRMED" in first  # the orders needing a person come first

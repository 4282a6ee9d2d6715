"""What an operator reads: counted words instead of ``(s)``, titles that say what happened, a
list of refusals that does not repeat itself, outcome notices, the digest with and without a
test-order rule, and the history in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.messages import STALE_TITLE, digest_message, subscription_message
from bot.digest.stale import StaleOrder, StaleReport
from bot.holds.card import hold_message
from bot.holds.messages import asked_message, pending_message, refusal_message
from bot.holds.notices import LIST_CHUNK, outcome_list, outcome_notice
from bot.holds.outcomes import Asked, Posted, Posting
from bot.holds.requests import Refusal
from bot.holds.rules import RefusalReason
from bot.lookup import history_message
from bot.slack.blocks.text import render, render_blocks
from bot.store.records import AuditEntry, DigestSubscription, HoldItem, HoldRequest, ItemState
from bot.store.records import RequestState as S

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REQUESTER, APPROVER = "U0REQUEST", "U0APPROVE"


def request(
    state: S = S.PENDING,
    *,
    refs: tuple[str, ...] = ("TS-1001",),
    items: tuple[ItemState, ...] | None = None,
    decided_by: str | None = APPROVER,
    source: str = "command",
    detail: str = "",
) -> HoldRequest:
    states = items or (ItemState.QUEUED,) * len(refs)
    return HoldRequest(
        id=7,
        requester=REQUESTER,
        channel_id="C0HOLDS01",
        reason="test",
        state=state,
        created_at=NOW - timedelta(hours=24),
        expires_at=NOW,
        source=source,
        message_ts="1700000000.000001",
        decided_by=None if state in (S.PENDING, S.EXPIRED) else decided_by,
        decided_at=None if state in (S.PENDING, S.EXPIRED) else NOW,
        items=tuple(
            HoldItem(7, ref, n, state=st, detail=detail)
            for n, (ref, st) in enumerate(zip(refs, states, strict=True))
        ),
    )


def text_of(blocks: list[dict[str, object]]) -> str:
    return render_blocks(blocks).text  # type: ignore[arg-type]


# -- hold cards and replies


def test_a_withdrawn_request_is_titled_withdrawn_not_rejected() -> None:
    withdrawn = request(S.REJECTED, decided_by=REQUESTER)
    assert "#7 · Hold request withdrawn" in text_of(hold_message(withdrawn, NOW).blocks)
    assert "#7 · Hold request rejected" in text_of(hold_message(request(S.REJECTED), NOW).blocks)


def test_a_hold_for_all_names_the_button_not_the_digest() -> None:
    """ "Request hold for all" comes from the digest and from `stale` alike."""
    text = text_of(hold_message(request(source="digest"), NOW).blocks)
    assert "with “Request hold for all”" in text and "digest" not in text


def test_a_canceled_order_does_not_repeat_its_status() -> None:
    """`sending stopped ✅: New — sending canceled` says the same thing twice."""
    done = request(S.DONE, items=(ItemState.CANCELED,), detail="New — sending canceled")
    text = text_of(hold_message(done, NOW).blocks)
    assert "`TS-1001` — sending stopped ✅" in text and "✅: New" not in text


def test_the_decision_time_is_a_date_token() -> None:
    """No fixed "… at 2026-03-02 12:00 UTC": a date token Slack shows in the viewer's zone."""
    note = json.dumps(hold_message(request(S.DONE, items=(ItemState.CANCELED,)), NOW).blocks)
    assert f"Approved by <@{APPROVER}> (<!date^{int(NOW.timestamp())}^" in note
    assert " UTC." not in render(hold_message(request(S.DONE), NOW).blocks).replace("UTC)", "")


def test_cartrover_text_in_an_outcome_reads_as_written() -> None:
    """A detail like `**PII Removed**` is a code span, not bold."""
    failed = request(S.FAILED, items=(ItemState.FAILED,), detail="ship to **PII Removed**")
    text = json.dumps(hold_message(failed, NOW).blocks)
    assert "`ship to **PII Removed**`" in text


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (S.REJECTED, f"This hold request was already rejected by <@{APPROVER}>."),
        (S.EXECUTING, f"already approved by <@{APPROVER}> and is being carried out."),
        (S.DONE, f"already approved by <@{APPROVER}> and has ended."),
        (S.EXPIRED, "This hold request has expired"),
    ],
)
def test_a_second_click_says_what_the_first_decision_was(state: S, words: str) -> None:
    refusal = Refusal(RefusalReason.ALREADY_DECIDED, request(state))
    assert words in refusal_message(refusal).text


def test_a_posted_request_counts_its_orders_in_words() -> None:
    posted = Posted(Posting.POSTED, request())
    text = asked_message(Asked("C0HOLDS01", posted), NOW).text
    assert "Hold request #7 for 1 order is posted" in text and "(s)" not in text


def test_orders_refused_for_one_reason_make_one_line() -> None:
    """Seven orders already in one request: one line naming them, not seven."""
    why = "is already in hold request #3 (pending)"
    moved = "went to the WMS — cancel it there"
    refused = [(f"TS-{n}", why) for n in range(7)] + [("TS-9", moved)]
    text = asked_message(Asked("C0HOLDS01", None, refused), NOW).text
    assert (
        "`TS-0`, `TS-1`, `TS-2`, `TS-3`, `TS-4` and 2 more: each is already in hold request #3"
        in text
    )
    assert text.count("already in hold request") == 1
    assert "`TS-9` went to the WMS — cancel it there" in text


def test_the_pending_list_says_how_each_request_stands() -> None:
    text = pending_message([request(), request(S.EXECUTING)], NOW)
    body = text_of(text.blocks)
    assert "waiting for an approver" in body and "approved, stopping sending" in body
    assert text.text == "2 open hold requests"
    assert pending_message([request()], NOW).text == "1 open hold request"


# -- outcome notices


@pytest.mark.parametrize(
    ("state", "decider", "words"),
    [
        (
            S.REJECTED,
            APPROVER,
            f"<@{REQUESTER}>: hold request #7 was rejected by <@{APPROVER}>; no cancel was sent",
        ),
        (S.REJECTED, REQUESTER, "Hold request #7 was withdrawn; no cancel was sent"),
        (
            S.EXPIRED,
            None,
            f"<@{REQUESTER}>: hold request #7 expired — nobody approved it within 24 hours",
        ),
    ],
)
def test_a_closed_request_tells_its_requester(state: S, decider: str | None, words: str) -> None:
    """The requester is addressed once, before a colon (never beside the one who acted); a
    withdrawal mentions nobody: its requester did it."""
    text = outcome_notice(request(state, decided_by=decider)).text
    assert text.startswith(words)
    assert text.count(f"<@{REQUESTER}>") == (0 if decider == REQUESTER else 1)


def test_a_carried_out_request_tells_each_outcome_in_counts() -> None:
    states = (ItemState.CANCELED, ItemState.FAILED, ItemState.SKIPPED, ItemState.NOT_CONFIRMED)
    refs = ("A1", "A2", "A3", "A4")
    text = outcome_notice(request(S.UNKNOWN, refs=refs, items=states)).text
    assert "has ended, but not every cancel is confirmed" in text
    for words in (
        "sending to the WMS is stopped for `A1`",
        "`A3` was left alone",
        "1 order FAILED",
        "1 cancel NOT CONFIRMED",
        "Check those orders by hand",
    ):
        assert words in text


def test_only_a_list_the_card_could_not_show_goes_to_the_thread() -> None:
    """A few orders are all on the card: no list. 100 long ones: every one, 40 a reply."""
    small = request(S.DONE, refs=("A1", "A2"), items=(ItemState.CANCELED,) * 2)
    assert outcome_list(small) == []
    refs = tuple(f"LONG-{n:03d}-{'x' * 50}" for n in range(100))
    big = request(S.FAILED, refs=refs, items=(ItemState.FAILED,) * 100, detail="refused " * 40)
    parts = outcome_list(big)
    assert len(parts) == 3 and LIST_CHUNK == 40
    listed = " ".join(json.dumps(p.blocks) for p in parts)
    assert all(ref in listed for ref in refs)
    assert "orders 81–100 of 100" in parts[-1].text


# -- the digest


def report(count: int, *, rule: bool = True, non_test: int = 0, on_hold: int = 0) -> StaleReport:
    shown = tuple(
        StaleOrder(
            f"TS-{n}", "", "Test Store", NOW - timedelta(days=2), n < on_hold, "source Test Store"
        )
        for n in range(count)
    )
    return StaleReport(
        now=NOW,
        hours=24,
        shown=shown,
        hold_refs=tuple(o.cust_ref for o in shown),
        test_count=count,
        non_test_count=non_test,
        on_hold_count=on_hold,
        listed=count + non_test,
        pages=1,
        truncated=False,
        rule_configured=rule,
    )


def test_one_stale_order_reads_in_the_singular() -> None:
    message = digest_message(report(1, on_hold=1), "Daily digest", snapshot_id=3)
    text = text_of(message.blocks)
    assert "*1 New test order was* created more than 24 hours ago" in text
    assert "will still send it to the WMS" in text and "them" not in text
    assert "It is *on hold* in CartRover" in text
    assert "Request hold for this order" in text and "for all 1" not in text
    assert "1 CartRover page, 1 order read" in text and "(s)" not in message.text


def test_the_stale_reply_does_not_say_stale_test_orders_twice() -> None:
    header = digest_message(report(6), STALE_TITLE, snapshot_id=1).blocks[0]["text"]["text"]
    assert header == "6 stale test orders"


def test_without_a_rule_the_digest_says_so_and_how_to_set_one() -> None:
    """No "✅ No stale New test orders" beside stale orders it could not classify."""
    text = text_of(digest_message(report(0, rule=False, non_test=9), "Digest", None).blocks)
    assert "No stale New test orders" not in text and "nothing stale" not in text
    assert "No test-order rule is set" in text
    assert "TEST_ORDER_SOURCES" in text and "TEST_ORDER_PATTERN" in text
    assert "9 stale New orders are waiting to be sent" in text


def test_the_next_digest_is_shown_in_the_subscription_s_zone() -> None:
    """`digest subscribe 09:30 Europe/Berlin` is not answered with "09:30 UTC"."""
    subscription = DigestSubscription("C1", "09:30", "Europe/Berlin", "U1", NOW)
    next_at = datetime(2026, 3, 3, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    text = subscription_message(subscription, next_at).text
    assert "|2026-03-03 09:30 Europe/Berlin>" in text and "09:30 UTC" not in text


# -- the history


def test_the_history_says_who_clicked_not_who_refused() -> None:
    """ "refused by @alex" read as if alex refused the hold; internal codes are words."""
    entries = [
        AuditEntry(NOW, "refused", actor="U0ALEX001", request_id=1, detail="not an approver"),
        AuditEntry(
            NOW, "post_failed", request_id=2, detail="chat.postMessage in C0X: not_in_channel"
        ),
        AuditEntry(NOW, "approved", actor=APPROVER, request_id=1),
    ]
    text = text_of(history_message("TS-1001", entries).blocks)
    assert "a click by @U0ALEX001 refused (hold #1): not an approver" in text
    assert "card not posted (hold #2): in channel C0X: the bot is not in that channel" in text
    assert f"approved by @{APPROVER} (hold #1)" in text
    assert "post_failed" not in text and " UTC —" in text  # the date token's fallback

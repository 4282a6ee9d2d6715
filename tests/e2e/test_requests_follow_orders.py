"""Requests follow their orders and end truthfully, and the requester is told even when the
card's channel is gone — end to end through signed requests, the CartRover sandbox (its clock
sends New orders to the WMS four hours after it starts), the local Slack and a real SQLite file.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from bot.dev.loopback.slack import Call, Failure
from bot.dev.sandbox import ON_HOLD_REF, STALE_TEST_REF
from bot.holds import announce, flow
from bot.holds.followup import RESERVE
from bot.slack import ids
from bot.store.records import HoldRequest, ItemState, RequestState
from tests.e2e.test_digest_in_slack import TEST_ENV
from tests.harness import APPROVER, CHANNEL, REQUESTER, Harness


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


def in_thread(harness: Harness, request: HoldRequest) -> list[Call]:
    return [
        call
        for call in harness.slack.of("chat.postMessage")
        if request.message_ts and call.body.get("thread_ts") == request.message_ts
    ]


def last_card(harness: Harness) -> str:
    return json.dumps(harness.slack.of("chat.update")[-1].body, ensure_ascii=False)


# -- 4. requests follow their orders -----------------------------------------------------------


def test_an_order_that_goes_to_the_wms_while_its_request_waits_shows_on_the_card(
    harness: Harness,
) -> None:
    """The maintenance pass re-reads a waiting request's orders (one listing for both, their
    creation times known) and sets aside the one CartRover sent meanwhile, saying what to do;
    the request waits on for the other (on hold in CartRover, so never sent)."""
    request = harness.open_hold(f"TS-1002 {ON_HOLD_REF} test orders")
    harness.clock.advance(timedelta(hours=5))  # past the sandbox's send delay
    before = len(harness.sandbox.requests)
    flow.maintain(harness.bot.deps)
    reads = Counter(r.route for r in harness.sandbox.requests[before:])
    # One listing for both; only the order missing from it (no longer New) is read singly.
    assert reads["M1"] == 1 and reads["M2"] + reads["M3"] <= 2
    waiting = harness.request(request.id)
    assert waiting.state is RequestState.PENDING
    assert [i.state for i in waiting.items] == [ItemState.SKIPPED, ItemState.QUEUED]
    card = last_card(harness)
    assert "`TS-1002` went to the WMS — cancel it there" in card
    assert "[Approve]" not in card and ids.APPROVE_HOLD in card  # still decidable
    harness.click(ids.APPROVE_HOLD, waiting, APPROVER)
    done = harness.wait_state(request.id, RequestState.DONE)
    assert harness.book.cancel_count("TS-1002") == 0 and harness.book.cancel_count(ON_HOLD_REF) == 1
    assert [i.state for i in done.items] == [ItemState.SKIPPED, ItemState.CANCELED]


def test_a_request_whose_orders_all_moved_on_ends_itself_and_tells_the_requester(
    harness: Harness,
) -> None:
    """Every order left New while the request waited: it ends itself, by the bot, its card
    says nothing was stopped, and the requester is told once in the thread."""
    request = harness.open_hold(f"{STALE_TEST_REF} TS-1002")
    harness.book.update("TS-1002", {"order_status": "canceled"})  # canceled in CartRover
    harness.clock.advance(timedelta(hours=5))
    flow.maintain(harness.bot.deps)
    flow.maintain(harness.bot.deps)
    ended = harness.request(request.id)
    assert ended.state is RequestState.DONE and ended.decided_by is None
    card = last_card(harness)
    assert "Hold request ended: nothing stopped — every order had moved on" in card
    assert "Ended by the bot" in card and ids.APPROVE_HOLD not in card
    (notice,) = in_thread(harness, request)
    text = notice.body["text"]
    assert text.startswith(f"<@{REQUESTER}>: hold request #{request.id} ended with nothing stopped")
    assert f"`{STALE_TEST_REF}` went to the WMS — cancel it there" in text
    assert "`TS-1002` was canceled in CartRover — nothing will be sent" in text
    assert harness.book.total_cancels() == 0
    events = [e.event for e in harness.bot.store.audit_for_request(request.id)]
    assert events.count("moved_on") == 2 and "nothing_left" in events


def test_following_up_waits_while_few_cartrover_calls_are_left(harness: Harness) -> None:
    """With fewer than the reserve of calls left this minute (as CartRover's last answer said),
    the pass reads nothing: people's commands come first. Once calls are back, it follows up."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.clock.advance(timedelta(hours=5))
    harness.sandbox.set_rate_limit(RESERVE, 60.0)  # one more call leaves fewer than the reserve
    assert harness.command(f"status {ON_HOLD_REF}").status_code == 200
    harness.wait_reply(2)
    pulse = harness.bot.deps.pulse
    assert pulse is not None and (pulse.pulse.remaining or 0) < RESERVE
    before = len(harness.sandbox.requests)
    flow.maintain(harness.bot.deps)
    assert len(harness.sandbox.requests) == before
    assert harness.request(request.id).state is RequestState.PENDING
    harness.sandbox.set_rate_limit(1000, 0.001)
    assert harness.command(f"status {ON_HOLD_REF}").status_code == 200
    harness.wait_reply(3)
    flow.maintain(harness.bot.deps)
    assert harness.request(request.id).state is RequestState.DONE


# -- 5. truthful endings -----------------------------------------------------------------------


def test_done_only_when_something_was_stopped_and_the_rest_named_with_their_next_step(
    harness: Harness,
) -> None:
    """One order stopped, one sent to the WMS between approval and its cancel: "done", and the
    notice names the one that got through with what to do about it."""
    request = harness.open_hold(f"{ON_HOLD_REF} TS-1002")
    harness.clock.advance(timedelta(hours=5))  # TS-1002 goes to the WMS; the pass has not run
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    harness.wait_state(request.id, RequestState.DONE)
    harness.wait_until(lambda: bool(in_thread(harness, request)))
    card = last_card(harness)
    assert "Hold request done: sending stopped" in card
    (notice,) = in_thread(harness, request)
    text = notice.body["text"]
    assert text.startswith(f"<@{REQUESTER}>: hold request #{request.id} is done")
    assert f"sending to the WMS is stopped for `{ON_HOLD_REF}`" in text
    assert "`TS-1002` went to the WMS — cancel it there" in text


def test_an_approved_request_with_nothing_left_to_stop_is_not_called_done(
    harness: Harness,
) -> None:
    """Approved after its only order went to the WMS: nothing was stopped, and the card and
    notice say so instead of "done"."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.clock.advance(timedelta(hours=5))
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    harness.wait_state(request.id, RequestState.DONE)
    harness.wait_until(lambda: bool(in_thread(harness, request)))
    assert "Hold request ended: nothing stopped — every order had moved on" in last_card(harness)
    (notice,) = in_thread(harness, request)
    assert "ended with nothing stopped — every order had moved on" in notice.body["text"]
    assert " is done" not in notice.body["text"]


def test_a_partly_done_request_says_so(harness: Harness) -> None:
    """One order stopped, CartRover refusing the other: "partly done", not "done", and the
    failed one is named with the way to do it by hand."""
    request = harness.open_hold(f"{STALE_TEST_REF} TS-1002")
    store, now = harness.bot.store, harness.clock.now()
    assert store.decide(request.id, to=RequestState.EXECUTING, actor=APPROVER, at=now)
    for ref, state, detail in (
        (STALE_TEST_REF, ItemState.CANCELED, "New — sending canceled"),
        ("TS-1002", ItemState.FAILED, "CartRover refused: Order is locked"),
    ):
        store.start_item(request.id, ref, now)
        store.finish_item(request.id, ref, state=state, detail=detail, process_ids=(), at=now)
    assert store.decide(
        request.id, to=RequestState.FAILED, actor=None, at=now, expect=RequestState.EXECUTING
    )
    flow._show(harness.bot.deps, harness.request(request.id))
    assert "Hold request partly done" in last_card(harness)
    (notice,) = in_thread(harness, request)
    text = notice.body["text"]
    assert f"hold request #{request.id} is partly done" in text
    assert f"sending to the WMS is stopped for `{STALE_TEST_REF}`; 1 order FAILED" in text
    assert "`TS-1002` — FAILED ❌: CartRover refused: Order is locked" in text


def test_an_expiry_says_no_cancel_was_sent(harness: Harness) -> None:
    """An expired request's card and notice say no cancel was sent to CartRover."""
    request = harness.open_hold(ON_HOLD_REF)
    harness.clock.advance(timedelta(hours=25))
    flow.maintain(harness.bot.deps)
    card = last_card(harness)
    assert "Hold request expired: no cancel was sent" in card
    assert "no cancel was sent to CartRover" in card and "nothing was sent" not in card
    (notice,) = in_thread(harness, request)
    assert "no cancel was sent to CartRover" in notice.body["text"]


# -- 8. told even when the channel is gone -----------------------------------------------------


@pytest.mark.parametrize(
    ("gone", "error", "words"),
    [
        ("archive", "is_archived", "the channel is archived"),
        ("remove_bot", "not_in_channel", "the bot is not in that channel"),
        ("delete", "channel_not_found", "no such channel"),
    ],
)
def test_the_requester_is_told_by_direct_message_when_the_thread_cannot_take_it(
    harness: Harness, gone: str, error: str, words: str
) -> None:
    """The card's channel is archived, left or deleted before the outcome: the thread refuses
    the notice as Slack does, and the requester gets it as a direct message from the app."""
    request = harness.open_hold(STALE_TEST_REF)
    getattr(harness.slack.conversations, gone)(CHANNEL)
    harness.reject(request, APPROVER, "not needed")
    harness.wait_until(lambda: harness.slack.conversations.dm_with(REQUESTER) is not None)
    harness.settled()
    refused = [c for c in harness.slack.of("chat.postMessage") if c.body.get("thread_ts")]
    assert [c.reply["error"] for c in refused if c.reply] == [error]
    dm = harness.slack.conversations.dm_with(REQUESTER)
    (told,) = [c for c in harness.slack.of("chat.postMessage") if c.body["channel"] == dm]
    assert told.reply and told.reply["ok"]
    text = json.dumps(told.body, ensure_ascii=False)
    assert f"hold request #{request.id} was rejected by <@{APPROVER}>" in text
    assert f"I could not post this in the thread of its card in <#{CHANNEL}>: {words}" in text
    events = [e.event for e in harness.bot.store.audit_for_request(request.id)]
    assert "told_by_direct_message" in events and "outcome_not_told" not in events
    flow.maintain(harness.bot.deps)
    assert len([c for c in harness.slack.of("chat.postMessage") if c.body["channel"] == dm]) == 1


def test_a_direct_message_whose_answer_was_lost_is_never_sent_again(harness: Harness) -> None:
    """The archived thread refuses the notice and the direct message's answer is lost on the way
    back: it may have reached the requester, so, as for a notice in the thread, the sweep never
    sends it again."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.conversations.archive(CHANNEL)
    harness.slack.fail_next("chat.postMessage", Failure(error="is_archived"))  # as Slack says
    harness.slack.fail_next("chat.postMessage", Failure(reset=True))  # then the DM's answer
    harness.reject(request, APPROVER)
    harness.wait_until(lambda: harness.slack.conversations.dm_with(REQUESTER) is not None)
    harness.settled()
    dm = harness.slack.conversations.dm_with(REQUESTER)

    def direct() -> list[Call]:
        return [c for c in harness.slack.of("chat.postMessage") if c.body["channel"] == dm]

    (sent,) = direct()
    assert sent.reply is None and sent.lost_reply and sent.lost_reply["ok"]
    harness.clock.advance(announce.NOTICE_RETRY_AFTER * 4)
    flow.maintain(harness.bot.deps)
    harness.settled()
    assert len(direct()) == 1 and len(in_thread(harness, request)) == 1


def test_a_requester_who_cannot_be_reached_at_all_is_recorded(harness: Harness) -> None:
    """Thread archived and the requester's account deactivated: Slack refuses both, and the
    audit trail says the requester was not told (never a retry loop)."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.conversations.archive(CHANNEL)
    harness.slack.conversations.disable_user(REQUESTER)
    harness.reject(request, APPROVER)
    harness.wait_until(
        lambda: (
            "outcome_not_told" in [e.event for e in harness.bot.store.audit_for_request(request.id)]
        )
    )
    (opened,) = harness.slack.of("conversations.open")
    assert opened.reply == {"ok": False, "error": "user_disabled"}

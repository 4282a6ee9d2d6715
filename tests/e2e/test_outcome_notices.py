"""The requester is told in the card's thread how their hold request ended — approved and done,
failed, rejected, withdrawn, expired — once, whatever the number of processes; a big request's
every order and outcome follows in the thread. Signed HTTP into the real app, the CartRover
sandbox, the local Slack and a real SQLite file."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from bot.dev.loopback.slack import Call, Failure
from bot.dev.sandbox import STALE_TEST_REF
from bot.holds import announce, flow
from bot.holds.notices import LIST_CHUNK
from bot.holds.reach import card_context
from bot.slack import ids
from bot.store.records import HoldRequest, ItemState, RequestState
from tests.harness import APPROVER, CHANNEL, REQUESTER, Harness


def in_thread(harness: Harness, request: HoldRequest) -> list[Call]:
    """The bot's replies in the request card's thread, in order (leaving out the list of its
    orders posted there while it waited, when the card could not show them all)."""
    return [
        call
        for call in harness.slack.of("chat.postMessage")
        if call.body.get("thread_ts") == request.message_ts
        and request.message_ts
        and ", waiting: orders" not in call.body.get("text", "")
    ]


def wait_told(harness: Harness, request: HoldRequest, count: int = 1) -> list[Call]:
    harness.wait_until(lambda: len(in_thread(harness, request)) >= count)
    return in_thread(harness, request)


def test_an_approved_hold_tells_the_requester_in_the_thread_once(harness: Harness) -> None:
    """Approving a hold ends with one reply in the card's thread that mentions the requester and
    says sending is canceled; a second approver's click tells nobody again."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    harness.wait_state(request.id, RequestState.DONE)
    (notice,) = wait_told(harness, request)
    assert notice.body["channel"] == CHANNEL
    opening = f"<@{REQUESTER}>: hold request #{request.id} is done"
    assert notice.body["text"].startswith(opening)
    assert f"sending to the WMS is stopped for `{STALE_TEST_REF}`" in notice.body["text"]
    harness.click(ids.APPROVE_HOLD, harness.request(request.id), APPROVER)
    harness.settled()
    flow.keep_up(harness.bot.deps)
    assert len(in_thread(harness, request)) == 1


@pytest.mark.parametrize(
    ("who", "words"),
    [
        (APPROVER, f"<@{REQUESTER}>: hold request #1 was rejected by <@{APPROVER}>"),
        (REQUESTER, "Hold request #1 was withdrawn"),
    ],
)
def test_a_rejected_or_withdrawn_request_tells_the_requester(
    harness: Harness, who: str, words: str
) -> None:
    """A rejection addresses the requester once and names who rejected; a withdrawal mentions
    nobody (its requester did it); both say no cancel was sent."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.reject(request, who)
    (notice,) = wait_told(harness, request)
    text = notice.body["text"]
    assert text.startswith(words)
    assert text.count(f"<@{REQUESTER}>") == (0 if who == REQUESTER else 1)
    assert "no cancel was sent to CartRover" in text
    assert harness.book.total_cancels() == 0


def test_a_rejection_s_reason_is_in_the_thread_notice_escaped(harness: Harness) -> None:
    """The words a rejection came with reach the requester in the notice, as one code span that
    cannot mention anyone; without words the notice has no reason block."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.reject(request, APPROVER, "not a test order <!channel> *really*")
    (notice,) = wait_told(harness, request)
    blocks = json.dumps(notice.body["blocks"])
    assert "Reason for rejecting" in blocks and "really" in blocks
    assert "<!channel>" not in blocks and "&lt;!channel&gt;" in blocks
    plain = harness.open_hold("TS-1002")
    harness.reject(plain, APPROVER)
    (bare,) = wait_told(harness, plain)
    assert "Reason for" not in json.dumps(bare.body["blocks"])


def test_an_expired_request_tells_the_requester_when_the_sweep_expires_it(
    harness: Harness,
) -> None:
    """Nobody decided in time: the maintenance sweep expires the request, takes its buttons and
    tells the requester in the thread."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.clock.advance(timedelta(hours=25))
    flow.keep_up(harness.bot.deps)
    assert harness.request(request.id).state is RequestState.EXPIRED
    (notice,) = in_thread(harness, request)
    assert f"<@{REQUESTER}>: hold request #{request.id} expired" in notice.body["text"]
    assert "within 24 hours" in notice.body["text"]
    assert "no cancel was sent to CartRover" in notice.body["text"]
    flow.keep_up(harness.bot.deps)
    assert len(in_thread(harness, request)) == 1


def test_two_processes_tell_the_outcome_once(harness: Harness) -> None:
    """Two bots on one database both notice the closed request at the same moment; Slack gets
    one notice."""
    request = harness.open_hold(STALE_TEST_REF)
    second = harness.start_bot()
    now = harness.clock.now()
    harness.bot.store.decide(request.id, to=RequestState.REJECTED, actor=APPROVER, at=now)
    closed = harness.request(request.id)
    barrier = threading.Barrier(2)

    def tell(deps: object) -> None:
        barrier.wait(5)
        flow._show(deps, closed)  # type: ignore[arg-type]

    threads = [threading.Thread(target=tell, args=(bot.deps,)) for bot in (harness.bot, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(in_thread(harness, request)) == 1


def test_a_notice_slack_failed_is_posted_by_a_later_sweep_and_a_lost_answer_is_not(
    harness: Harness,
) -> None:
    """Slack failing the notice leaves it to the sweep after the wait; a notice whose answer was
    lost may be in the thread, so it is never posted again."""
    failing = harness.open_hold(STALE_TEST_REF)
    harness.slack.fail_next("chat.postMessage", Failure(status=503, error="service_unavailable"))
    harness.reject(failing, APPROVER)
    harness.wait_state(failing.id, RequestState.REJECTED)
    harness.settled()
    assert in_thread(harness, failing)[0].reply == {"ok": False, "error": "service_unavailable"}
    flow.keep_up(harness.bot.deps)
    assert len(in_thread(harness, failing)) == 1  # too soon to try again
    harness.clock.advance(announce.NOTICE_RETRY_AFTER)
    flow.keep_up(harness.bot.deps)
    assert [c.reply["ok"] for c in in_thread(harness, failing) if c.reply] == [False, True]

    lost = harness.open_hold("TS-1002")
    harness.slack.fail_next("chat.postMessage", Failure(reset=True))
    harness.reject(lost, APPROVER)
    harness.wait_state(lost.id, RequestState.REJECTED)
    harness.settled()
    harness.clock.advance(announce.NOTICE_RETRY_AFTER * 4)
    flow.keep_up(harness.bot.deps)
    assert len(in_thread(harness, lost)) == 1


REFUSED = "CartRover refused: order is locked by the WMS; CartRover still shows New — will be sent"


def big_failed_request(harness: Harness, orders: int) -> HoldRequest:
    """A request of ``orders`` orders, posted and approved, where CartRover refused two orders in
    three and canceled the rest, recorded as the runner records them."""
    store, now = harness.bot.store, harness.clock.now()
    refs = [f"BULK-{n:04d}" for n in range(orders)]
    request = store.create_request(
        requester=REQUESTER,
        channel_id=CHANNEL,
        reason="stale test orders",
        cust_refs=refs,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        source="digest",
    )
    announce.post_card(
        harness.bot.deps.poster, store, harness.clock, request, card_context(harness.settings)
    )
    assert store.decide(request.id, to=RequestState.EXECUTING, actor=APPROVER, at=now)
    for number, ref in enumerate(refs):
        store.start_item(request.id, ref, now)
        state, detail = (
            (ItemState.FAILED, REFUSED)
            if number % 3
            else (ItemState.CANCELED, "New — sending canceled")
        )
        store.finish_item(
            request.id, ref, state=state, detail=detail, process_ids=["SBX-1"], at=now
        )
    failed = RequestState.FAILED
    assert store.decide(request.id, to=failed, actor=None, at=now, expect=RequestState.EXECUTING)
    done = store.get_request(request.id)
    assert done is not None
    return done


def test_a_big_request_lists_every_order_and_its_outcome_in_the_thread(
    harness: Harness,
) -> None:
    """500 orders, 333 of them failed: the card can list only a few, so the thread gets the
    notice and then every order with its outcome, failed ones first, 40 to a reply."""
    request = big_failed_request(harness, 500)
    failed = [i.cust_ref for i in request.items if i.state is ItemState.FAILED]
    assert len(failed) == 333
    flow._show(harness.bot.deps, request)
    card = json.dumps(harness.slack.of("chat.update")[-1].body)
    assert "Every order's outcome is in this message's thread." in card
    notice, *parts = in_thread(harness, request)
    assert "333 orders FAILED" in notice.body["text"] and "167 orders" in notice.body["text"]
    assert "Every order's outcome follows in this thread." in notice.body["text"]
    assert len(parts) == -(-500 // LIST_CHUNK)
    listed = "\n".join(
        block["text"]["text"]
        for part in parts
        for block in part.body["blocks"]
        if block["type"] == "section"
    )
    for ref in failed:
        assert f"`{ref}` — FAILED ❌" in listed
    assert listed.count("— FAILED ❌") == 333 and listed.count("— sending stopped ✅") == 167
    first = json.dumps(parts[0].body["blocks"], ensure_ascii=False)
    assert "orders 1–40 of 500" in first and "— sending stopped" not in first
    for part in parts:
        assert len(json.dumps(part.body["blocks"], ensure_ascii=False)) < 13_000
    assert harness.bot.store.untold(10, retry_before=harness.clock.now()) == []


def test_the_notice_is_recorded_as_posted(harness: Harness) -> None:
    """After the notice the store holds it as posted: no claim wins again."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.reject(request, APPROVER)
    wait_told(harness, request)
    later = harness.clock.now() + timedelta(days=1)
    assert not harness.bot.store.claim_notice(request.id, later, retry_before=later)
    deps = harness.bot.deps
    assert (
        announce.tell(deps.poster, deps.holds, harness.clock, harness.request(request.id)) is None
    )

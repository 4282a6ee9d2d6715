"""End to end: signed Slack requests into the real app over HTTP, the CartRover sandbox, a
recording fake Slack and a real SQLite file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.dev.loopback.slack import Failure
from bot.dev.loopback.webapi import MISSING_USERGROUP_ERRORS
from bot.dev.sandbox import AT_WMS_REF, SHIPPED_REF, STALE_PATTERN_TEST_REF, STALE_TEST_REF
from bot.holds.verdicts import RECHECK_AFTER
from bot.slack import ids
from bot.store.records import ItemState, RequestState
from bot.times import FrozenClock
from tests.e2e.conftest import MakeHarness
from tests.harness import (
    APPROVER,
    APPROVER_2,
    CHANNEL,
    GROUP,
    GROUP_MEMBER,
    REQUESTER,
    STRANGER,
    Harness,
)


def _actions(blocks: list[dict[str, object]]) -> list[dict[str, object]]:
    return [b for b in blocks if b.get("type") == "actions"]


def _text_of(call_body: dict[str, object]) -> str:
    return json.dumps(call_body)


# -- commands ---------------------------------------------------------------------------------


def test_help_is_answered_in_the_ack_from_the_registry(harness: Harness) -> None:
    """Empty text, `help` and an unknown subcommand all get the usage of every subcommand."""
    for text in ("", "help", "frobnicate"):
        response = harness.command(text)
        assert response.status_code == 200
        body = response.json()
        assert body["response_type"] == "ephemeral"
        for name in ("status", "hold", "pending", "history", "stale", "digest"):
            assert f"/cartrover {name}" in body["text"]
    assert "Unknown subcommand" in harness.command("frobnicate").json()["text"]


def test_status_describes_orders_in_plain_words(harness: Harness) -> None:
    """`status` answers through response_url with the status in words for each order."""
    assert harness.command(f"status {STALE_TEST_REF} {SHIPPED_REF}").status_code == 200
    reply = harness.wait_reply().body
    text = _text_of(reply)
    assert "New \\u2014 will be sent" in text or "New — will be sent" in text
    assert "Shipped" in text and "Tracking" in text
    assert reply["response_type"] == "ephemeral"


def test_status_of_unknown_order_says_not_found(harness: Harness) -> None:
    """An order CartRover does not know is reported as not found, with CartRover's words."""
    harness.command("status NOPE-404")
    assert "not found" in _text_of(harness.wait_reply().body)


def test_bad_order_reference_is_refused_before_any_cartrover_call(harness: Harness) -> None:
    """A reference outside the grammar gets a usage message and CartRover sees no request."""
    for text in ("status a/b", "status ..", "hold x?y", "history %2e%2e"):
        body = harness.command(text).json()
        assert "not an order reference" in body["text"]
        assert "Usage" in body["text"]
    assert harness.sandbox.requests == []


def test_command_text_containing_payload_still_works(harness: Harness) -> None:
    """`status payload-7` reaches the listener instead of bolt's empty-body 404 (R38)."""
    response = harness.command("status payload-7")
    assert response.status_code == 200
    assert "payload-7" in _text_of(harness.wait_reply().body)


def test_bad_signature_and_stale_timestamp_get_401_and_nothing_happens(harness: Harness) -> None:
    """Forged or replayed requests are refused before any listener runs (R8)."""
    body = harness.command_body(f"hold {STALE_TEST_REF}")
    assert harness.post(body, signature="v0=" + "0" * 64).status_code == 401
    assert harness.post(body, timestamp=int(time.time()) - 600).status_code == 401
    assert harness.post(body, signature="").status_code == 401
    time.sleep(0.3)
    assert [c.method for c in harness.slack.calls] == ["auth.test"]  # the start-up check only
    assert harness.sandbox.requests == []


def test_cartrover_down_gives_a_specific_message(harness: Harness) -> None:
    """When CartRover answers 503 to every try, the user is told CartRover did not answer about
    the order they asked for."""
    harness.sandbox.faults.fail_5xx = 50
    harness.command(f"status {STALE_TEST_REF}")
    text = _text_of(harness.wait_reply(timeout=20).body)
    assert f"CartRover did not answer about `{STALE_TEST_REF}`" in text
    assert "Try again in a few minutes" in text


def test_wrong_cartrover_credentials_give_a_specific_message(make_harness: MakeHarness) -> None:
    """A refused API key is reported as a credentials problem naming the variables."""
    h = make_harness(CARTROVER_API_KEY="wrong-key")
    h.command(f"status {STALE_TEST_REF}")
    text = _text_of(h.wait_reply().body)
    assert "CARTROVER_API_KEY" in text
    assert "wrong-key" not in text


def test_pending_and_history_list_what_the_bot_did(harness: Harness) -> None:
    """`pending` lists an open request with a link; `history` shows its audit trail."""
    request = harness.open_hold(f"{STALE_TEST_REF} cleanup")
    harness.command("pending")
    pending = _text_of(harness.wait_reply(2).body)
    assert f"#{request.id}" in pending and f"{request.message_ts}".replace(".", "") in pending
    harness.command(f"history {STALE_TEST_REF}")
    history = _text_of(harness.wait_reply(3).body)
    assert "requested" in history and REQUESTER in history


# -- the approval flow ------------------------------------------------------------------------


def test_hold_approved_by_a_second_person_cancels_sending_once(harness: Harness) -> None:
    """Happy path: request posted with buttons, approver clicks, one cancel, verified, audited."""
    request = harness.open_hold(f"{STALE_TEST_REF} test order left in New")
    post = harness.slack.of("chat.postMessage")[-1].body
    assert post["channel"] == CHANNEL
    (actions,) = _actions(post["blocks"])
    approve, reject = actions["elements"]
    assert approve["action_id"] == ids.APPROVE_HOLD and approve["style"] == "primary"
    assert "confirm" in approve
    assert reject["action_id"] == ids.REJECT_HOLD and reject["style"] == "danger"

    assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    done = harness.wait_state(request.id, RequestState.DONE)
    assert [i.state for i in done.items] == [ItemState.CANCELED]
    assert harness.book.cancel_count(STALE_TEST_REF) == 1
    assert harness.book.get(STALE_TEST_REF)["sending_canceled"] == "Y"
    harness.wait_until(
        lambda: "sending stopped" in _text_of(harness.slack.of("chat.update")[-1].body)
    )
    final = harness.slack.of("chat.update")[-1].body
    assert _actions(final["blocks"]) == []
    events = [e.event for e in harness.bot.store.audit_for_request(request.id)]
    assert events[:2] == ["requested", "approved"] and "outcome" in events
    outcome = next(
        e for e in harness.bot.store.audit_for_request(request.id) if e.event == "outcome"
    )
    assert outcome.process_id and outcome.process_id.startswith("SBX-")


def test_self_approval_and_non_approver_are_refused(make_harness: MakeHarness) -> None:
    """The requester and a stranger cannot approve; both are told why and audited (R2, R3)."""
    h = make_harness()
    request = h.open_hold(STALE_TEST_REF, user=APPROVER)
    h.click(ids.APPROVE_HOLD, request, APPROVER)
    assert "You asked for this hold" in _text_of(h.wait_reply(2).body)
    h.click(ids.APPROVE_HOLD, request, STRANGER)
    assert "not an approver" in _text_of(h.wait_reply(3).body)
    assert h.request(request.id).state is RequestState.PENDING
    assert h.book.cancel_count(STALE_TEST_REF) == 0
    refusals = [e for e in h.bot.store.audit_for_request(request.id) if e.event == "refused"]
    assert {e.actor for e in refusals} == {APPROVER, STRANGER}


def test_self_approval_allowed_when_configured(make_harness: MakeHarness) -> None:
    """With ALLOW_SELF_APPROVAL=true an approver may approve their own request."""
    h = make_harness(ALLOW_SELF_APPROVAL="true")
    request = h.open_hold(STALE_TEST_REF, user=APPROVER)
    h.click(ids.APPROVE_HOLD, request, APPROVER)
    h.wait_state(request.id, RequestState.DONE)


@pytest.mark.parametrize("missing_usergroup_error", MISSING_USERGROUP_ERRORS)
def test_user_group_member_may_approve(harness: Harness, missing_usergroup_error: str) -> None:
    """A member of a user group listed in APPROVERS approves through a signed click (R56): the
    bot asks usergroups.users.list with form arguments, as Slack documents it, and the local
    Slack, like Slack, would see a JSON body as no arguments at all (whichever error Slack then
    gives for the missing group)."""
    harness.slack.missing_usergroup_error = missing_usergroup_error
    request = harness.open_hold(STALE_TEST_REF)
    harness.click(ids.APPROVE_HOLD, request, GROUP_MEMBER)
    harness.wait_state(request.id, RequestState.DONE)
    assert harness.book.cancel_count(STALE_TEST_REF) == 1
    lookups = harness.slack.of("usergroups.users.list")
    assert lookups and all(call.args.get("usergroup") == GROUP for call in lookups)
    assert not any(call.json_ignored for call in lookups)
    approved = [e for e in harness.bot.store.audit_for_request(request.id) if e.event == "approved"]
    assert [e.actor for e in approved] == [GROUP_MEMBER]


def test_five_concurrent_approvals_cancel_exactly_once(harness: Harness) -> None:
    """Five Approve clicks at once from two approvers give one decision and one cancel (R1)."""
    request = harness.open_hold(STALE_TEST_REF)
    users = [APPROVER, APPROVER_2, APPROVER, GROUP_MEMBER, APPROVER_2]
    with ThreadPoolExecutor(5) as pool:
        codes = list(
            pool.map(lambda u: harness.click(ids.APPROVE_HOLD, request, u).status_code, users)
        )
    assert codes == [200] * 5
    harness.wait_state(request.id, RequestState.DONE)
    harness.wait_until(lambda: len(harness.replies()) >= 5)  # the hold confirmation + 4 losers
    assert harness.book.cancel_count(STALE_TEST_REF) == 1
    texts = [_text_of(c.body) for c in harness.replies()]
    assert sum("already" in t for t in texts) == 4, texts
    decisions = [
        e for e in harness.bot.store.audit_for_request(request.id) if e.event == "approved"
    ]
    assert len(decisions) == 1


def test_reject_by_approver_and_withdraw_by_requester(harness: Harness) -> None:
    """An approver's Reject and the requester's withdrawal both close the request with no cancel."""
    first = harness.open_hold(STALE_TEST_REF)
    harness.reject(first, APPROVER)
    harness.wait_state(first.id, RequestState.REJECTED)
    second = harness.open_hold(STALE_PATTERN_TEST_REF)
    harness.reject(second, REQUESTER)
    harness.wait_state(second.id, RequestState.REJECTED)
    harness.wait_until(lambda: "Withdrawn" in _text_of(harness.slack.of("chat.update")[-1].body))
    assert harness.book.total_cancels() == 0
    events = {e.event for e in harness.bot.store.audit_for_order(STALE_PATTERN_TEST_REF)}
    assert "withdrawn" in events


def test_stranger_cannot_reject_and_gets_no_reason_form(harness: Harness) -> None:
    """Someone who may neither reject nor withdraw is refused at the click: no reason form
    opens for them to fill in first."""
    request = harness.open_hold(STALE_TEST_REF)
    replies = len(harness.replies())
    assert harness.click(ids.REJECT_HOLD, request, STRANGER).status_code == 200
    told = harness.wait_reply(replies + 1)
    assert "Only an approver" in _text_of(told.body)
    assert harness.slack.of("views.open") == [] and harness.slack.views.modals() == []
    assert harness.request(request.id).state is RequestState.PENDING


def test_order_sent_to_wms_before_approval_is_left_alone(harness: Harness) -> None:
    """An order that went to the WMS between request and approval gets no cancel (R34)."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.clock.advance(timedelta(hours=5))  # past the sandbox's send delay
    assert harness.book.get(STALE_TEST_REF)["order_status"] == "at_wms"
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    done = harness.wait_state(request.id, RequestState.DONE)
    assert done.items[0].state is ItemState.SKIPPED
    assert done.items[0].detail == "went to the WMS — cancel it there"
    assert harness.book.cancel_count(STALE_TEST_REF) == 0


def test_hold_of_an_order_already_at_wms_is_refused(harness: Harness) -> None:
    """`hold` validates first: an At WMS order opens no request and posts nothing."""
    harness.command(f"hold {AT_WMS_REF}")
    text = _text_of(harness.wait_reply().body)
    assert "Nothing was requested" in text and "went to the WMS" in text
    assert harness.slack.of("chat.postMessage") == []


def test_restart_between_request_and_approval(harness: Harness) -> None:
    """A request survives a restart of the bot and is approved on the new process."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.restart()
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    harness.wait_state(request.id, RequestState.DONE)
    assert harness.book.cancel_count(STALE_TEST_REF) == 1


def test_expired_request_refuses_late_clicks_and_loses_its_buttons(harness: Harness) -> None:
    """Past the TTL the request expires, its buttons go and a late click is refused (R18)."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.clock.advance(timedelta(hours=25))
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    assert "expired" in _text_of(harness.wait_reply(2).body)
    assert harness.request(request.id).state is RequestState.EXPIRED
    harness.wait_until(lambda: bool(harness.slack.of("chat.update")))
    assert _actions(harness.slack.of("chat.update")[-1].body["blocks"]) == []
    assert harness.book.cancel_count(STALE_TEST_REF) == 0


def test_click_from_another_workspace_is_refused(harness: Harness) -> None:
    """A click whose team is not the bot token's workspace changes nothing, and is refused at
    the entry: audited, and not answered anywhere (R32, R65)."""
    request = harness.open_hold(STALE_TEST_REF)
    calls = len(harness.slack.calls)
    assert harness.click(ids.APPROVE_HOLD, request, APPROVER, team="T0EVIL").status_code == 200
    assert harness.request(request.id).state is RequestState.PENDING
    assert len(harness.slack.calls) == calls
    refusals = [e.detail for e in harness.bot.store.audit_for_request(request.id)]
    assert "a click of another workspace (T0EVIL, org none)" in refusals


def test_untrusted_text_arrives_escaped(harness: Harness) -> None:
    """`<!channel>` and `<http://x|y>` in a reason reach Slack escaped (R14)."""
    harness.open_hold(f"{STALE_TEST_REF} <!channel> see <http://x|y> & more")
    sent = harness.slack.everything_sent()
    assert "<!channel>" not in sent and "<http://x|y>" not in sent
    assert "&lt;!channel&gt;" in sent and "&lt;http://x|y&gt;" in sent and "&amp; more" in sent


def test_bot_not_in_channel_tells_the_requester_how_to_fix_it(harness: Harness) -> None:
    """`not_in_channel` on posting the request is reported as a setup step, not retried."""
    harness.slack.fail_next("chat.postMessage", Failure(error="not_in_channel"))
    harness.command(f"hold {STALE_TEST_REF}")
    assert "/invite" in _text_of(harness.wait_reply().body)
    assert len(harness.slack.of("chat.postMessage")) == 1
    assert harness.bot.store.requests_in_state(RequestState.PENDING) == []


def test_slack_rate_limit_is_waited_out_and_posts_once(harness: Harness) -> None:
    """A 429 with Retry-After on chat.postMessage is retried after the wait, posting once (R20)."""
    harness.slack.fail_next(
        "chat.postMessage", Failure(status=429, error="ratelimited", retry_after=1)
    )
    started = time.monotonic()
    request = harness.open_hold(STALE_TEST_REF)
    assert time.monotonic() - started >= 1.0
    assert request.message_ts is not None
    assert len(harness.slack.of("chat.postMessage")) == 2  # the refused one and the real one


def test_acks_stay_fast_while_cartrover_is_slow(harness: Harness) -> None:
    """With CartRover taking 3 s per call and 20 commands in flight, every ack is quick (R7)."""
    harness.sandbox.faults.latency = 3.0

    def timed(i: int) -> float:
        started = time.monotonic()
        assert harness.command(f"status {STALE_TEST_REF}").status_code == 200
        return time.monotonic() - started

    with ThreadPoolExecutor(20) as pool:
        durations = list(pool.map(timed, range(20)))
    assert max(durations) < 1.5, durations
    harness.sandbox.faults.latency = 0.0


# -- when the cancel call goes wrong ----------------------------------------------------------


@pytest.fixture
def quick_harness(tmp_path: Path, clock: FrozenClock) -> Iterator[Harness]:
    """A harness whose CartRover client gives up on a silent server within a second."""
    timeout = httpx.Timeout(connect=1.0, read=0.5, write=1.0, pool=1.0)
    h = Harness(tmp_path, clock, client={"timeout": timeout, "deadline": 2.0})
    yield h
    h.sandbox.faults.release()
    h.close()


@pytest.mark.parametrize("fault", ["hang_cancel", "reset_cancel"])
def test_cancel_without_an_answer_is_verified_never_resent(
    quick_harness: Harness, fault: str
) -> None:
    """A cancel CartRover applied but never answered is re-read, reported, and sent once (R5)."""
    h = quick_harness
    request = h.open_hold(STALE_TEST_REF)
    setattr(h.sandbox.faults, fault, 1)
    h.click(ids.APPROVE_HOLD, request, APPROVER)
    done = h.wait_state(request.id, RequestState.DONE, RequestState.UNKNOWN, timeout=15)
    assert done.state is RequestState.DONE
    (item,) = done.items
    assert item.state is ItemState.CANCELED
    assert "no clear answer" in item.detail
    assert len(h.sandbox.cancel_requests(STALE_TEST_REF)) == 1


def test_refused_cancel_is_reported_with_message_process_id_and_fallback(harness: Harness) -> None:
    """A refused cancel is 'failed' with CartRover's Process-ID and the manual way out."""
    harness.sandbox.faults.refuse_cancel = True
    request = harness.open_hold(STALE_TEST_REF)
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    done = harness.wait_state(request.id, RequestState.FAILED)
    (item,) = done.items
    assert item.state is ItemState.FAILED and item.process_ids
    harness.wait_until(lambda: "FAILED" in _text_of(harness.slack.of("chat.update")[-1].body))
    final = _text_of(harness.slack.of("chat.update")[-1].body)
    assert item.process_ids[0] in final
    assert "Cancel Sending to WMS" in final
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 1


def test_silent_no_op_cancel_is_reported_not_confirmed(harness: Harness) -> None:
    """A success answer that changes nothing is 'not confirmed', never 'done' (R41): after the
    first look the card says it is checking again, and a minute later the second look makes it
    final."""
    harness.sandbox.faults.cancel_noop = True
    request = harness.open_hold(STALE_TEST_REF)
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    harness.wait_until(
        lambda: (
            "checking again" in _text_of(harness.slack.of("chat.update")[-1].body)
            if harness.slack.of("chat.update")
            else False
        )
    )
    assert harness.request(request.id).items[0].state is ItemState.CHECKING
    harness.clock.advance(RECHECK_AFTER)
    harness.bot.takeover.look()  # what the bot's takeover does every few seconds
    done = harness.wait_state(request.id, RequestState.UNKNOWN)
    (item,) = done.items
    assert item.state is ItemState.NOT_CONFIRMED
    assert "still shows New — will be sent" in item.detail
    harness.wait_until(
        lambda: "NOT CONFIRMED" in _text_of(harness.slack.of("chat.update")[-1].body)
    )
    assert item.process_ids[0] in _text_of(harness.slack.of("chat.update")[-1].body)
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 1


def test_approval_channel_receives_every_request(make_harness: MakeHarness) -> None:
    """With APPROVAL_CHANNEL set, the request is posted there, not where the command was typed."""
    h = make_harness(APPROVAL_CHANNEL="C0APPROVE")
    request = h.open_hold(STALE_TEST_REF)
    assert request.channel_id == "C0APPROVE"
    assert h.slack.of("chat.postMessage")[-1].body["channel"] == "C0APPROVE"
    assert "C0APPROVE" in _text_of(h.wait_reply().body)
    h.click(ids.APPROVE_HOLD, request, APPROVER)
    h.wait_state(request.id, RequestState.DONE)


def test_nobody_may_approve_while_approvers_is_unset(make_harness: MakeHarness) -> None:
    """Without APPROVERS every Approve click is refused and nothing reaches CartRover (R2)."""
    h = make_harness(APPROVERS="")
    request = h.open_hold(STALE_TEST_REF)
    h.click(ids.APPROVE_HOLD, request, APPROVER)
    assert "APPROVERS is not set" in _text_of(h.wait_reply(2).body)
    assert h.request(request.id).state is RequestState.PENDING
    assert h.sandbox.cancel_requests() == []

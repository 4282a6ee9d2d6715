"""End to end, what the bot reports after a cancel, honestly, whatever CartRover did: an order
that moved on between the re-read and the cancel (refused, canceled as an order, or accepted
with nothing changed), a cancel the first verifying read does not show yet (a second look a
minute later, on the injected clock), and shadow mode (everything but the cancel itself)."""

from __future__ import annotations

import json

import pytest

from bot.dev.loopback.slack import Call
from bot.dev.sandbox import STALE_TEST_REF
from bot.holds.verdicts import RECHECK_AFTER
from bot.slack import ids
from bot.slack.blocks.text import render_blocks
from bot.store.records import HoldRequest, ItemState, RequestState
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER, REQUESTER, Harness


def card(harness: Harness, request: HoldRequest) -> str:
    """The card as it now reads (its last update)."""
    updates = [c for c in harness.slack.of("chat.update") if c.body["ts"] == request.message_ts]
    return render_blocks(updates[-1].body["blocks"]).text if updates else ""


def wait_card(harness: Harness, request: HoldRequest, words: str) -> str:
    harness.wait_until(lambda: words in card(harness, request))
    return card(harness, request)


def notices(harness: Harness, request: HoldRequest) -> list[Call]:
    return [
        c
        for c in harness.slack.of("chat.postMessage")
        if request.message_ts and c.body.get("thread_ts") == request.message_ts
    ]


def approved(harness: Harness) -> HoldRequest:
    request = harness.open_hold(STALE_TEST_REF)
    assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    return request


def second_look(harness: Harness) -> None:
    """About a minute passes; the bot's takeover, looking, resumes the unfinished hold."""
    harness.wait_until(lambda: harness.bot.deps.workers.busy == 0)
    harness.clock.advance(RECHECK_AFTER)
    harness.bot.takeover.look()


# -- an order that moved on between the re-read and the cancel (unknown #16) -----------------


def test_a_refused_cancel_of_an_order_that_moved_on_is_failed_and_says_why(
    harness: Harness,
) -> None:
    """The WMS took the order just before the cancel, which CartRover refused: FAILED at once,
    saying it reached the WMS first and must be canceled there; one cancel sent."""
    harness.sandbox.faults.send_before_cancel = 1
    harness.sandbox.faults.moved_on = "refuse"
    request = approved(harness)
    (item,) = harness.wait_state(request.id, RequestState.FAILED).items
    assert item.state is ItemState.FAILED
    assert "went on to At WMS before the cancel" in item.detail
    assert "cancel it in the WMS" in item.detail and "Order is already at the WMS" in item.detail
    assert "went on to At WMS" in wait_card(harness, request, "FAILED")
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 1


def test_an_order_canceled_by_the_cancel_is_not_reported_as_sending_canceled(
    harness: Harness,
) -> None:
    """Seen New just before the cancel and `canceled` after it: "order canceled in CartRover —
    check the cart" on the card and in the thread, never the words of a sending canceled."""
    harness.sandbox.faults.send_before_cancel = 1
    harness.sandbox.faults.moved_on = "cancel_order"
    request = approved(harness)
    done = harness.wait_state(request.id, RequestState.DONE)
    (item,) = done.items
    assert item.state is ItemState.ORDER_CANCELED
    shown = wait_card(harness, request, "order canceled in CartRover — check the cart")
    assert "sending canceled" not in shown
    harness.wait_until(lambda: bool(notices(harness, request)))
    told = notices(harness, request)[-1].body["text"]
    assert "order canceled in CartRover — check the cart" in told
    assert "sending to the WMS is canceled" not in told


def test_an_accepted_cancel_of_an_order_that_moved_on_is_checked_again_then_not_confirmed(
    harness: Harness,
) -> None:
    """CartRover took the cancel but the order is At WMS and stays so: checking again first,
    then NOT CONFIRMED, saying CartRover may have asked the WMS to cancel it (no guarantee)."""
    harness.sandbox.faults.send_before_cancel = 1
    harness.sandbox.faults.moved_on = "accept"
    request = approved(harness)
    wait_card(harness, request, "checking again")
    second_look(harness)
    done = harness.wait_state(request.id, RequestState.UNKNOWN)
    (item,) = done.items
    assert item.state is ItemState.NOT_CONFIRMED
    assert "now At WMS" in item.detail and "may have asked the WMS to cancel it" in item.detail
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 1


# -- a second look before "not confirmed" --------------------------------------------------------


def test_a_cancel_that_shows_late_is_confirmed_at_the_second_look(harness: Harness) -> None:
    """CartRover accepted, but the first verifying read shows nothing yet: the card says it is
    checking again; nothing is read before the minute is up; the cancel then shows, and the
    hold is done — with one cancel sent, never two."""
    harness.sandbox.faults.cancel_noop = True
    request = approved(harness)
    shown = wait_card(harness, request, "checking again")
    assert "Hold request approved: checking again" in shown
    assert "NOT CONFIRMED" not in shown
    assert harness.request(request.id).items[0].state is ItemState.CHECKING
    assert harness.bot.takeover.look() == []  # not due yet: nothing read
    harness.book.wms_cancel(STALE_TEST_REF)  # CartRover shows the cancel late
    second_look(harness)
    done = harness.wait_state(request.id, RequestState.DONE)
    (item,) = done.items
    assert item.state is ItemState.CANCELED and "read again a minute later" in item.detail
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 1
    events = [e.event for e in harness.bot.store.audit_for_request(request.id)]
    assert events.count("checking") == 1 and "outcome" in events


# -- shadow mode -------------------------------------------------------------------------------


def test_shadow_mode_runs_everything_but_the_cancel(make_harness: MakeHarness) -> None:
    """SHADOW_MODE=true: the request, the approval, the re-read, the card, the thread notice and
    the audit all happen; CartRover receives no cancel; card and notice say "shadow mode: would
    have canceled sending for `X`"."""
    h = make_harness(SHADOW_MODE="true")
    h.sandbox.clear_requests()
    request = h.open_hold(STALE_TEST_REF)
    assert h.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    done = h.wait_state(request.id, RequestState.DONE)
    assert done.items[0].state is ItemState.WOULD_CANCEL
    words = f"shadow mode: would have canceled sending for `{STALE_TEST_REF}`"
    assert words in wait_card(h, request, "Hold request done in shadow mode: nothing was stopped")
    h.wait_until(lambda: bool(notices(h, request)))
    assert words in notices(h, request)[-1].body["text"]
    assert h.sandbox.cancel_requests() == []
    assert h.book.total_cancels() == 0
    routes = {r.route for r in h.sandbox.requests}
    assert routes & {"M1", "M3"}  # the order was read, before and after the approval
    events = [e.event for e in h.bot.store.audit_for_request(request.id)]
    assert "shadow" in events and "approved" in events
    assert json.dumps(events).count("cancel_answer") == 0


@pytest.mark.parametrize(("shadow", "mode"), [("true", "shadow"), ("false", "live")])
def test_healthz_and_the_app_home_show_the_mode(
    make_harness: MakeHarness, shadow: str, mode: str
) -> None:
    """/healthz names the mode; the App Home says so in shadow mode, to everyone."""
    h = make_harness(SHADOW_MODE=shadow)
    assert h.http.get(f"{h.bot.url}/healthz").json()["mode"] == mode
    home = json.dumps(h.open_home(REQUESTER).view)
    assert ("Shadow mode" in home) == (mode == "shadow")


@pytest.mark.parametrize("shadow", [True, False])
def test_a_waiting_card_says_before_anyone_decides_whether_approving_cancels(
    make_harness: MakeHarness, shadow: bool
) -> None:
    """In shadow mode the waiting card and its Approve dialog say that nothing will be canceled,
    so an approver is never told "stop sending" by a bot that will not; in live mode they say
    the approval stops sending."""
    h = make_harness(SHADOW_MODE=str(shadow).lower())
    request = h.open_hold(STALE_TEST_REF)
    post = next(c for c in h.slack.of("chat.postMessage") if c.body.get("ts") is None)
    blocks = post.body["blocks"]
    text = render_blocks(blocks).text
    dialog = next(
        e["confirm"]["text"]["text"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.APPROVE_HOLD
    )
    assert ("Shadow mode:" in text) is shadow
    assert ("nothing will be canceled" in dialog) is shadow
    assert ("Approving stops" in text) is not shadow
    assert request.state is RequestState.PENDING

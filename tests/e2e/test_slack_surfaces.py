"""The Slack surfaces end to end: the App Home (``app_home_opened`` and decisions clicked there),
the shortcuts, the hold form and the reject form, through requests signed as Slack signs them,
into the real app behind ``serve``'s server, with the CartRover sandbox and the local Slack (which
keeps modals and Homes and applies each submission's answer). The main paths run on SQLite and on
PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from slack_bolt.request import BoltRequest

from bot.dev.loopback.slack import Failure
from bot.dev.sandbox import AT_WMS_REF, STALE_TEST_REF
from bot.holds import submit
from bot.holds.rules import RefusalReason
from bot.home import publishing
from bot.slack import ids
from bot.slack.blocks.text import render_blocks
from bot.store.records import RequestState
from tests.harness import APPROVER, APPROVER_2, CHANNEL, REQUESTER, STRANGER, Harness

STALE_2 = "TS-1002"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Every test here runs on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        return {"DATABASE_URL": request.getfixturevalue("postgres_schemas")()}
    return {}


def text_of(view: dict[str, Any]) -> str:
    """A view's text as a reader sees it (bold marks dropped)."""
    return render_blocks(view.get("blocks") or []).text.replace("*", "")


def actions_in(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element.get("value", ""))
        for block in view.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


# -- the App Home -------------------------------------------------------------------------------


def test_the_home_shows_open_and_own_requests_digests_and_health_to_whom_it_should(
    harness: Harness,
) -> None:
    """An approver's Home has every open request with the card's own buttons and a health line;
    the requester's has their own with Withdraw and never Approve, and their request's state;
    someone else's Home shows no one else's open request (private channels included). All show
    the subscribed channel and its last digest's counts. The reason arrives escaped."""
    request = harness.open_hold(f"{STALE_TEST_REF} <!channel> & co")
    assert harness.command("digest subscribe 09:00 Europe/Berlin").status_code == 200
    harness.wait_reply(2)
    assert harness.command("digest now").status_code == 200
    harness.wait_until(lambda: bool(harness.bot.store.last_digests()))

    approver_home = harness.open_home(APPROVER).view
    assert (ids.APPROVE_HOLD, str(request.id)) in actions_in(approver_home)
    assert (ids.REJECT_HOLD, str(request.id)) in actions_in(approver_home)
    shown = text_of(approver_home)
    assert "Open hold requests (1) · 1 you may decide" in shown
    assert "Health: CartRover answered" in shown and "calls left this minute" in shown
    assert f"<#{CHANNEL}> at 09:00 Europe/Berlin" in json.dumps(approver_home)
    assert "1 stale test order" in shown or "stale test orders" in shown
    assert "(s)" not in shown
    published = json.dumps(approver_home)
    assert "&lt;!channel&gt; &amp; co" in published and "<!channel>" not in published

    requester_home = harness.open_home(REQUESTER).view
    assert actions_in(requester_home) == [
        (ids.OPEN_HOLD_FORM, "form"),
        (ids.REJECT_HOLD, str(request.id)),
    ]
    assert "Withdraw" in json.dumps(requester_home) and "Approve" not in json.dumps(requester_home)
    mine = text_of(requester_home)
    assert "Health:" not in mine and "you may decide" not in mine
    assert "Your open hold requests (1)" in mine
    assert f"#{request.id}" in mine and "waiting for an approver" in mine
    assert len(requester_home["blocks"]) <= 100

    stranger_home = harness.open_home(STRANGER).view
    assert actions_in(stranger_home) == [(ids.OPEN_HOLD_FORM, "form")]
    theirs = text_of(stranger_home)
    assert "Your open hold requests (0)" in theirs and STALE_TEST_REF not in theirs


def test_a_redelivered_event_is_handled_once_across_processes(harness: Harness) -> None:
    """One event id delivered four times (Slack's retries 1–3), to two bot processes on one
    database, and once more over Socket Mode: acked every time, handled once (R23). A retry whose
    original never arrived is handled."""
    second = harness.start_bot()
    body = harness.requests.home_opened(user=APPROVER, event_id="Ev0REDELIVER")
    for retry, bot in ((None, harness.bot), (1, second), (2, harness.bot), (3, second)):
        started = time.monotonic()
        response = harness.event(body, retry=retry, bot=bot)
        assert response.status_code == 200 and time.monotonic() - started < 3.0
    socket = BoltRequest(body=json.loads(body), mode="socket_mode")
    assert second.app.dispatch(socket).status == 200
    harness.settled()
    assert len(harness.slack.of("views.publish")) == 1

    lost = harness.requests.home_opened(user=APPROVER_2, event_id="Ev0ORIGINALLOST")
    assert harness.event(lost, retry=1).status_code == 200
    harness.slack.wait_for("views.publish", 2)
    harness.settled()
    assert harness.slack.views.home(APPROVER_2) is not None


@pytest.mark.parametrize("surface", ["shortcut", "message_shortcut", "view_submission"])
def test_unsigned_interactions_open_nothing(harness: Harness, surface: str) -> None:
    """A shortcut or a submission with a wrong signature gets 401 and no Slack call (R44)."""
    requests = harness.requests
    body = {
        "shortcut": lambda: requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER),
        "message_shortcut": lambda: requests.message_shortcut(
            ids.HOLD_MESSAGE_SHORTCUT, user=REQUESTER, channel=CHANNEL, text=STALE_TEST_REF
        ),
        "view_submission": lambda: requests.view_submission(
            {"id": "V1", "callback_id": ids.HOLD_FORM, "state": {"values": {}}}, user=REQUESTER
        ),
    }[surface]()
    calls = len(harness.slack.calls)
    assert harness.post(body, signature="v0=" + "0" * 64).status_code == 401
    harness.settled()
    assert len(harness.slack.calls) == calls and harness.sandbox.requests == []


def test_an_unsigned_event_reaches_nothing(harness: Harness) -> None:
    """A delivery with a wrong signature gets 401: no claim, no Home, no Slack call (R44)."""
    body = harness.requests.home_opened(user=APPROVER, event_id="Ev0FORGED")
    calls = len(harness.slack.calls)
    response = harness.post(body, content_type="application/json", signature="v0=" + "0" * 64)
    assert response.status_code == 401
    harness.settled()
    assert len(harness.slack.calls) == calls
    assert harness.bot.store.home_view(APPROVER) is None
    assert harness.bot.store.claim_event("Ev0FORGED", harness.clock.now(), harness.clock.now())


def test_an_event_of_another_workspace_or_tab_publishes_nothing(harness: Harness) -> None:
    """Only this workspace's Home tab is answered: another team's event, the Messages tab and a
    user id that is not one are acknowledged and left alone."""
    requests = harness.requests
    for body in (
        requests.home_opened(user=APPROVER, team="T0OTHER"),
        requests.home_opened(user=APPROVER, tab="messages"),
        requests.home_opened(user="<!channel>"),
    ):
        assert harness.event(body).status_code == 200
    harness.settled()
    assert harness.slack.of("views.publish") == []
    assert harness.bot.store.home_view(APPROVER) is None


def test_an_approval_on_the_home_decides_once_and_every_view_converges(harness: Harness) -> None:
    """Approve clicked on the Home goes through the card's flow: one cancel, the card updated,
    and the Homes that showed the request re-published without its buttons."""
    request = harness.open_hold(STALE_TEST_REF)
    home = harness.open_home(APPROVER)
    harness.open_home(REQUESTER)
    view = harness.slack.views.submitted(home.id)
    body = harness.requests.view_click(ids.APPROVE_HOLD, str(request.id), user=APPROVER, view=view)
    assert harness.post(body).status_code == 200
    harness.wait_state(request.id, RequestState.DONE)
    harness.settled()
    assert harness.book.cancel_count(STALE_TEST_REF) == 1
    card = harness.slack.of("chat.update")[-1].body
    assert card["ts"] == request.message_ts and "Approved by" in json.dumps(card)
    for user in (APPROVER, REQUESTER):
        latest = harness.slack.views.home(user)
        assert latest is not None and latest.versions >= 2
        assert (ids.APPROVE_HOLD, str(request.id)) not in actions_in(latest.view)
    requester_home = harness.slack.views.home(REQUESTER)
    assert requester_home is not None and "done" in text_of(requester_home.view)
    assert [e.event for e in harness.bot.store.audit_for_request(request.id)].count("approved") == 1


def test_a_click_claiming_to_come_from_someone_else_s_home_is_refused(harness: Harness) -> None:
    """A Home click must come from the view last published to the clicker: another user's view
    id, or one never published, decides nothing; the refusal is audited and explained on the
    clicker's Home."""
    request = harness.open_hold(STALE_TEST_REF)
    other = harness.open_home(APPROVER_2)
    harness.open_home(APPROVER)
    view = harness.slack.views.submitted(other.id)  # APPROVER_2's Home, clicked by APPROVER
    body = harness.requests.view_click(ids.APPROVE_HOLD, str(request.id), user=APPROVER, view=view)
    publishes = len(harness.slack.of("views.publish"))
    assert harness.post(body).status_code == 200
    harness.slack.wait_for("views.publish", publishes + 1)
    harness.settled()
    assert harness.request(request.id).state is RequestState.PENDING
    assert harness.book.cancel_count(STALE_TEST_REF) == 0
    refused = [e for e in harness.bot.store.audit_for_request(request.id) if e.event == "refused"]
    assert [e.detail for e in refused] == [RefusalReason.WRONG_VIEW.value]
    mine = harness.slack.views.home(APPROVER)
    assert mine is not None and "older App Home" in text_of(mine.view)


def test_a_card_click_on_another_message_is_still_refused(harness: Harness) -> None:
    """The Home's way in does not open the card's: a button on a message other than the
    request's card is refused as before."""
    request = harness.open_hold(STALE_TEST_REF)
    body = harness.click_body(
        ids.APPROVE_HOLD, str(request.id), APPROVER, channel=CHANNEL, ts="1700000000.999999"
    )
    assert harness.post(body).status_code == 200
    harness.wait_reply(2)
    harness.settled()
    assert harness.request(request.id).state is RequestState.PENDING
    assert harness.book.cancel_count(STALE_TEST_REF) == 0


# -- Reject with a reason ---------------------------------------------------------------------


def test_reject_on_the_card_asks_for_a_reason_and_keeps_it(harness: Harness) -> None:
    """Reject opens the optional-reason form; its reason is kept on the request, shown on the
    card (escaped, in a block of its own) and written to the audit trail."""
    request = harness.open_hold(STALE_TEST_REF)
    response = harness.reject(request, APPROVER, reason="not ours <@U0BOSS> *Approved*")
    assert response.status_code == 200 and not response.content  # the form closes
    rejected = harness.wait_state(request.id, RequestState.REJECTED)
    assert rejected.decision_reason == "not ours <@U0BOSS> *Approved*"
    harness.settled()
    card = json.dumps(harness.slack.of("chat.update")[-1].body)
    assert "Reason for rejecting:* `not ours &lt;@U0BOSS&gt; *Approved*`" in card
    entries = harness.bot.store.audit_for_request(request.id)
    assert [e.detail for e in entries if e.event == "rejected"] == [
        "reason: not ours <@U0BOSS> *Approved*"
    ]
    assert harness.book.total_cancels() == 0


def test_reject_on_the_home_goes_through_the_same_form_and_flow(harness: Harness) -> None:
    """A Reject on the Home opens the same form; the submission rejects through the one flow
    and the Home converges."""
    request = harness.open_hold(STALE_TEST_REF)
    home = harness.open_home(APPROVER)
    view = harness.slack.views.submitted(home.id)
    body = harness.requests.view_click(ids.REJECT_HOLD, str(request.id), user=APPROVER, view=view)
    assert harness.post(body).status_code == 200
    modal = harness.wait_modal()
    assert modal.view["callback_id"] == ids.REJECT_FORM
    harness.submit_view(modal.id, APPROVER, {ids.REJECT_REASON_FIELD: "duplicate"})
    assert harness.wait_state(request.id, RequestState.REJECTED).decision_reason == "duplicate"
    harness.settled()
    latest = harness.slack.views.home(APPROVER)
    assert latest is not None and actions_in(latest.view) == [(ids.OPEN_HOLD_FORM, "form")]


def test_a_reject_whose_form_cannot_open_rejects_at_once(harness: Harness) -> None:
    """When Slack refuses to open the form (the trigger expired), the Reject still counts."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.fail_next("views.open", Failure(error="expired_trigger_id"))
    assert harness.click(ids.REJECT_HOLD, request, APPROVER).status_code == 200
    rejected = harness.wait_state(request.id, RequestState.REJECTED)
    assert rejected.decision_reason == ""


def test_a_stranger_s_reject_form_changes_nothing(harness: Harness) -> None:
    """The form opens only for someone who may reject or withdraw, and a submission still
    applies the rules: one that comes back as someone else's changes nothing."""
    request = harness.open_hold(STALE_TEST_REF)
    assert harness.click(ids.REJECT_HOLD, request, APPROVER).status_code == 200
    modal = harness.wait_modal(1)
    harness.submit_view(modal.id, STRANGER, {ids.REJECT_REASON_FIELD: "mine now"})
    (told,) = harness.slack.wait_for("chat.postEphemeral")
    assert told.body["user"] == STRANGER and "Only an approver" in json.dumps(told.body)
    assert harness.request(request.id).state is RequestState.PENDING


# -- the hold form ------------------------------------------------------------------------------


def modal_of(harness: Harness, view_id: str) -> dict[str, Any]:
    shown = harness.slack.views.get(view_id)
    assert shown is not None
    return shown.view


def _open_form(harness: Harness, body: str) -> str:
    modals = len(harness.slack.views.modals())
    assert harness.post(body).status_code == 200
    modal = harness.wait_modal(modals + 1)
    assert modal.view["callback_id"] == ids.HOLD_FORM
    return modal.id


def test_the_global_shortcut_s_form_opens_the_same_request_as_the_command(
    harness: Harness,
) -> None:
    """ "Hold test orders" opens the form; submitted with good orders, it posts the request in the
    chosen channel, by the submitter, with the reason, and the form shows the outcome."""
    view_id = _open_form(harness, harness.requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER))
    values = {
        ids.ORDERS_FIELD: f"{STALE_TEST_REF},\n{STALE_2}",
        ids.REASON_FIELD: "test orders",
        ids.CHANNEL_FIELD: CHANNEL,
    }
    response = harness.submit_view(view_id, REQUESTER, values)
    assert response.json()["response_action"] == "update"
    request = harness.newest_request(1)
    assert (request.requester, request.channel_id, request.reason) == (
        REQUESTER,
        CHANNEL,
        "test orders",
    )
    assert request.cust_refs == [STALE_TEST_REF, STALE_2]
    harness.wait_until(lambda: "is posted in" in json.dumps(modal_of(harness, view_id)))
    harness.settled()


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({ids.ORDERS_FIELD: "TS-1001 ../etc"}, ids.ORDERS_FIELD, "is not an order reference"),
        ({ids.ORDERS_FIELD: AT_WMS_REF}, ids.ORDERS_FIELD, "went to the WMS"),
        ({ids.ORDERS_FIELD: "TS-9999"}, ids.ORDERS_FIELD, "is not known to CartRover"),
        ({ids.ORDERS_FIELD: STALE_TEST_REF, ids.REASON_FIELD: "x" * 501}, ids.REASON_FIELD, "500"),
        ({ids.ORDERS_FIELD: STALE_TEST_REF, ids.CHANNEL_FIELD: ""}, ids.CHANNEL_FIELD, "channel"),
    ],
)
def test_form_errors_appear_on_their_field_and_request_nothing(
    harness: Harness, values: dict[str, str], field: str, words: str
) -> None:
    """A reference outside the grammar, an order that is not New or unknown, a reason too long
    and no channel are answered on the field (response_action: errors); the form stays open and
    nothing is requested. A reference outside the grammar reaches no CartRover call at all."""
    view_id = _open_form(harness, harness.requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER))
    before = len(harness.sandbox.requests)
    response = harness.submit_view(view_id, REQUESTER, {ids.CHANNEL_FIELD: CHANNEL, **values})
    answer = response.json()
    assert answer["response_action"] == "errors" and words in answer["errors"][field]
    modal = harness.slack.views.get(view_id)
    assert modal is not None and not modal.closed and field in modal.errors
    harness.settled()
    assert harness.bot.store.requests_in_state(RequestState.PENDING) == []
    if "../" in values[ids.ORDERS_FIELD]:
        assert len(harness.sandbox.requests) == before


def test_a_slow_check_turns_the_form_into_checking_then_into_its_outcome(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When CartRover takes longer than Slack waits, the form shows "checking", and the outcome
    replaces it: the form again with the problem under Orders, or the request's outcome."""
    monkeypatch.setattr(submit, "FORM_CHECK_SECONDS", 0.05)
    harness.sandbox.faults.latency = 0.3
    view_id = _open_form(harness, harness.requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER))
    values = {ids.ORDERS_FIELD: AT_WMS_REF, ids.CHANNEL_FIELD: CHANNEL}
    assert "Checking 1 order" in json.dumps(harness.submit_view(view_id, REQUESTER, values).json())
    update = harness.slack.wait_for("views.update")[0].body
    assert update["view"]["callback_id"] == ids.HOLD_FORM
    assert "went to the WMS" in json.dumps(update)

    values[ids.ORDERS_FIELD] = STALE_TEST_REF
    harness.submit_view(view_id, REQUESTER, values)
    harness.slack.wait_for("views.update", 2)
    harness.settled()
    outcome = harness.slack.views.get(view_id)
    assert outcome is not None and "is posted in" in json.dumps(outcome.view)
    assert harness.newest_request(1).cust_refs == [STALE_TEST_REF]


def test_a_submission_is_answered_within_slack_s_three_seconds_however_slow_cartrover_is(
    harness: Harness,
) -> None:
    """With the default wait and CartRover slower than Slack waits, the answer (a "checking"
    view) still leaves in under three seconds (R7)."""
    harness.sandbox.faults.latency = submit.FORM_CHECK_SECONDS + 0.5
    view_id = _open_form(harness, harness.requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER))
    values = {ids.ORDERS_FIELD: STALE_TEST_REF, ids.CHANNEL_FIELD: CHANNEL}
    started = time.monotonic()
    response = harness.submit_view(view_id, REQUESTER, values)
    assert time.monotonic() - started < 3.0
    assert "Checking 1 order" in json.dumps(response.json())
    harness.slack.wait_for("views.update")
    harness.settled()
    assert harness.newest_request(1).cust_refs == [STALE_TEST_REF]


def test_the_message_shortcut_fills_in_the_orders_found_in_the_message(harness: Harness) -> None:
    """Every order reference in the message's text, and nothing else, is filled in; a message
    with none says so."""
    hidden = STALE_TEST_REF[:5] + "\u200b" + STALE_TEST_REF[5:]  # a zero-width space inside
    text = f"<@{APPROVER}> (U024BE7LH) please hold {hidden}, *{STALE_2}* and TS-10\u00e901 by 10:30"
    body = harness.requests.message_shortcut(
        ids.HOLD_MESSAGE_SHORTCUT, user=REQUESTER, channel=CHANNEL, text=text
    )
    view_id = _open_form(harness, body)
    shown = harness.slack.views.submitted(view_id)["state"]["values"]
    assert shown[ids.ORDERS_FIELD][ids.ORDERS_FIELD]["value"] == f"{STALE_TEST_REF}\n{STALE_2}"
    assert shown[ids.CHANNEL_FIELD][ids.CHANNEL_FIELD]["selected_conversation"] == CHANNEL

    none = harness.requests.message_shortcut(
        ids.HOLD_MESSAGE_SHORTCUT, user=REQUESTER, channel=CHANNEL, text="lunch at noon?"
    )
    empty = harness.slack.views.get(_open_form(harness, none))
    assert empty is not None and "found no order reference" in json.dumps(empty.view)


def test_cartrover_hold_with_no_order_opens_the_form_for_the_channel(harness: Harness) -> None:
    """``/cartrover hold`` alone opens the hold form with the command's channel chosen."""
    view_id = _open_form(harness, harness.command_body("hold"))
    shown = harness.slack.views.submitted(view_id)["state"]["values"]
    assert shown[ids.CHANNEL_FIELD][ids.CHANNEL_FIELD]["selected_conversation"] == CHANNEL
    harness.settled()
    assert harness.replies() == []


# -- Homes converge, bounded --------------------------------------------------------------------


def test_a_change_refreshes_at_most_the_bound_of_recent_homes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the most recent viewers' Homes are re-published after a change."""
    monkeypatch.setattr(publishing, "REFRESH_USERS", 2)
    for user in ("UVIEW0001", "UVIEW0002", "UVIEW0003"):
        harness.open_home(user)
        harness.clock.advance(timedelta(minutes=1))
    harness.settled()
    before = len(harness.slack.of("views.publish"))
    harness.open_hold(STALE_TEST_REF)
    harness.settled()
    refreshed = [c.body["user_id"] for c in harness.slack.of("views.publish")[before:]]
    assert sorted(refreshed) == ["UVIEW0002", "UVIEW0003"]


def test_a_publish_based_on_an_older_view_reads_the_store_again(harness: Harness) -> None:
    """Another process published meanwhile (Slack's hash moved on): the stale publish is refused
    and the next attempt, built from a fresh read, lands."""
    harness.open_home(APPROVER)
    harness.settled()
    harness.slack.views.publish({"user_id": APPROVER, "view": {"type": "home", "blocks": []}})
    request = harness.open_hold(STALE_TEST_REF)
    harness.settled()
    errors = [c.reply.get("error") for c in harness.slack.of("views.publish") if c.reply]
    assert "hash_conflict" in errors
    home = harness.slack.views.home(APPROVER)
    assert home is not None and (ids.APPROVE_HOLD, str(request.id)) in actions_in(home.view)


def test_the_maintenance_job_forgets_deliveries_too_old_to_be_retried(harness: Harness) -> None:
    """Event ids are swept by the scheduler's maintenance, not by the listener: a claim older
    than its memory is gone after one maintenance run, a fresh one stays."""
    from bot.holds import flow
    from bot.slack import events

    store, clock = harness.bot.store, harness.clock
    assert store.claim_event("Ev0OLD", clock.now(), clock.now() + events.EVENT_MEMORY)
    clock.advance(events.EVENT_MEMORY + timedelta(seconds=1))
    assert store.claim_event("Ev0NEW", clock.now(), clock.now() + events.EVENT_MEMORY)
    flow.maintain(harness.bot.deps)
    assert store.forget_events(clock.now() + events.EVENT_MEMORY) == 1  # only the new one

"""A request's Slack card converges to its stored state: failed updates are tried again, the
maintenance sweep re-renders what still lags, and a post whose answer was lost is neither reported
as a failure nor left unusable. Signed HTTP into the real app, the CartRover sandbox, the local
Slack failing on cue and a real SQLite file."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from bot.dev.loopback.slack import Call, Failure
from bot.dev.sandbox import STALE_TEST_REF
from bot.holds import announce, flow
from bot.holds.reach import card_context
from bot.slack import ids
from bot.slack.webapi import Poster
from bot.store.records import HoldRequest, RequestState
from tests.harness import APPROVER, CHANNEL, REQUESTER, STRANGER, Harness

UNAVAILABLE = Failure(status=503, error="service_unavailable")


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(announce, "UPDATE_RETRY_DELAYS", (0.01, 0.01))  # keep the tests quick


def buttons(call: Call) -> list[dict[str, Any]]:
    return [b for b in call.body["blocks"] if b.get("type") == "actions"]


def shown(harness: Harness) -> Call:
    """The last update Slack accepted for a card."""
    accepted = [c for c in harness.slack.of("chat.update") if (c.reply or {}).get("ok")]
    assert accepted, "no chat.update was accepted"
    return accepted[-1]


def reply(harness: Harness, count: int) -> str:
    return json.dumps(harness.wait_reply(count).body)


# -- chat.update failing -------------------------------------------------------------------------


def test_a_failed_update_is_tried_again_and_the_card_loses_its_buttons(harness: Harness) -> None:
    """A 503 on the update after a rejection is retried; the card ends without buttons and the
    store knows it shows the rejection."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.fail_next("chat.update", UNAVAILABLE)
    harness.reject(request, APPROVER)
    harness.wait_state(request.id, RequestState.REJECTED)
    harness.settled()
    assert len(harness.slack.of("chat.update")) == 2
    assert buttons(shown(harness)) == [] and "rejected" in shown(harness).body["text"]
    assert harness.request(request.id).rendered_state is RequestState.REJECTED
    assert harness.bot.store.lagging_cards() == []


def test_the_sweep_rerenders_a_card_slack_kept_refusing(harness: Harness) -> None:
    """When every retry fails the card keeps its buttons for now; the store knows it lags, and
    the next maintenance run replaces it."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.fail_next("chat.update", UNAVAILABLE, times=3)
    harness.reject(request, APPROVER)
    harness.wait_state(request.id, RequestState.REJECTED)
    harness.settled()
    assert len(harness.slack.of("chat.update")) == 3  # bounded: three tries, then it waits
    assert [r.id for r in harness.bot.store.lagging_cards()] == [request.id]

    flow.maintain(harness.bot.deps)
    assert buttons(shown(harness)) == [] and shown(harness).body["ts"] == request.message_ts
    assert harness.bot.store.lagging_cards() == []
    flow.maintain(harness.bot.deps)
    assert len(harness.slack.of("chat.update")) == 4  # nothing more to do


def test_a_rate_limited_update_waits_for_the_sweep(harness: Harness) -> None:
    """Still rate limited once slack_sdk has waited out Retry-After: the card is left to the next
    sweep rather than pressed at once."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.fail_next("chat.update", Failure(error="ratelimited"))
    harness.reject(request, APPROVER)
    harness.wait_state(request.id, RequestState.REJECTED)
    harness.settled()
    assert len(harness.slack.of("chat.update")) == 1
    assert [r.id for r in harness.bot.store.lagging_cards()] == [request.id]
    flow.maintain(harness.bot.deps)
    assert buttons(shown(harness)) == [] and harness.bot.store.lagging_cards() == []


def test_an_expiry_missed_by_slack_is_caught_up_by_a_later_sweep(harness: Harness) -> None:
    """The sweep that expires a request cannot reach Slack; the next one takes the buttons away
    and stops at the first card Slack still refuses, leaving the rest for later."""
    first = harness.open_hold(STALE_TEST_REF)
    second = harness.open_hold("TS-1002")
    harness.clock.advance(timedelta(hours=25))
    harness.slack.fail_next("chat.update", UNAVAILABLE, times=3)
    assert [r.id for r in flow.keep_up(harness.bot.deps)] == [first.id, second.id]
    assert len(harness.slack.of("chat.update")) == 3  # the second card was not tried
    assert [r.id for r in harness.bot.store.lagging_cards()] == [first.id, second.id]

    harness.slack.fail_next("chat.update", UNAVAILABLE, times=3)
    assert _converge(harness) == []
    assert len(harness.slack.of("chat.update")) == 6
    assert _converge(harness) == [first.id, second.id]
    assert harness.bot.store.lagging_cards() == []
    last_two = harness.slack.of("chat.update")[-2:]
    assert all(buttons(call) == [] and "expired" in call.body["text"] for call in last_two)


def test_a_card_whose_message_is_gone_is_given_up_once(harness: Harness) -> None:
    """A deleted message cannot be updated: that is recorded once, not retried every minute."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.slack.fail_next("chat.update", Failure(error="message_not_found"))
    harness.reject(request, APPROVER)
    harness.wait_state(request.id, RequestState.REJECTED)
    harness.settled()
    flow.maintain(harness.bot.deps)
    assert len(harness.slack.of("chat.update")) == 1
    events = [e.event for e in harness.bot.store.audit_for_request(request.id)]
    assert "card_update_failed" in events


class _DecideDuringFirstUpdate:
    """The real poster, but a decision lands while the first card update is on its way."""

    def __init__(self, poster: Poster, decide: Any) -> None:
        self._poster, self._decide = poster, decide

    def post(
        self,
        channel: str,
        text: str,
        blocks: Sequence[dict[str, Any]],
        *,
        thread_ts: str | None = None,
    ) -> str:
        return self._poster.post(channel, text, blocks, thread_ts=thread_ts)

    def update(self, channel: str, ts: str, text: str, blocks: Sequence[dict[str, Any]]) -> None:
        self._poster.update(channel, ts, text, blocks)
        decide, self._decide = self._decide, None
        if decide is not None:
            decide()

    def ephemeral(self, channel: str, user: str, text: str, blocks: Any = ()) -> None:
        self._poster.ephemeral(channel, user, text, blocks)


def test_a_state_that_moves_on_during_an_update_is_rendered_too(harness: Harness) -> None:
    """A refresh that rendered a state which changed meanwhile renders the new one as well, so
    the card never settles on an older state than the store's."""
    request = harness.open_hold(STALE_TEST_REF)
    store, now = harness.bot.store, harness.clock.now()
    assert store.decide(request.id, to=RequestState.EXECUTING, actor=APPROVER, at=now)
    executing = harness.request(request.id)

    def finish() -> None:
        assert store.decide(
            request.id, to=RequestState.FAILED, actor=None, at=now, expect=RequestState.EXECUTING
        )

    deps = dataclasses.replace(
        harness.bot.deps, poster=_DecideDuringFirstUpdate(harness.bot.deps.poster, finish)
    )
    assert (
        announce.show(deps.poster, deps.holds, deps.clock, executing, card_context(deps.settings))
        is announce.Rendered.SHOWN
    )
    texts = [call.body["text"] for call in harness.slack.of("chat.update")]
    assert ["(approved: stopping sending…)" in texts[0], "(failed: " in texts[1]] == [True, True]
    assert harness.request(request.id).rendered_state is RequestState.FAILED
    assert store.lagging_cards() == []


# -- chat.postMessage whose answer was lost --------------------------------------------------------


def lost_post(harness: Harness) -> tuple[HoldRequest, str]:
    """Ask for a hold whose post Slack carries out but never answers; the request and the ts
    its card got."""
    harness.slack.fail_next("chat.postMessage", Failure(reset=True))
    harness.command(f"hold {STALE_TEST_REF}")
    answer = reply(harness, 1)
    (request,) = harness.bot.store.requests_in_state(RequestState.PENDING)
    (call,) = harness.slack.of("chat.postMessage")
    assert call.lost_reply is not None
    return request, answer.replace("\\n", "\n") + "\n" + str(call.lost_reply["ts"])


def test_a_lost_post_answer_is_not_reported_as_a_failure(harness: Harness) -> None:
    """The requester is told the request may be in the channel and to check; the request stays
    pending without a message, still holding its order, and nothing was posted twice."""
    request, answer = lost_post(harness)
    assert "could not post" not in answer
    assert f"hold request #{request.id}" in answer and "may have been posted" in answer
    assert f"<#{CHANNEL}>" in answer and "Check the channel" in answer
    assert request.message_ts is None
    events = [e.event for e in harness.bot.store.audit_for_request(request.id)]
    assert events == ["requested", "post_unconfirmed"]
    harness.command(f"hold {STALE_TEST_REF}", user=STRANGER)
    assert f"already in hold request #{request.id} (pending)" in reply(harness, 2)
    assert len(harness.slack.of("chat.postMessage")) == 1


def test_the_card_of_a_lost_post_works_from_its_first_click(harness: Harness) -> None:
    """The first click on the card that did get posted ties it to the request; approving it
    cancels once and the card shows the outcome."""
    request, answer = lost_post(harness)
    ts = answer.rsplit("\n", 1)[-1]
    body = harness.click_body(ids.APPROVE_HOLD, str(request.id), APPROVER, channel=CHANNEL, ts=ts)
    assert harness.post(body).status_code == 200
    harness.wait_state(request.id, RequestState.DONE)
    harness.settled()
    assert harness.request(request.id).message_ts == ts
    assert harness.book.cancel_count(STALE_TEST_REF) == 1
    assert shown(harness).body["ts"] == ts and buttons(shown(harness)) == []
    assert harness.bot.store.lagging_cards() == []


def test_a_click_from_elsewhere_cannot_claim_a_lost_post(harness: Harness) -> None:
    """A button in another channel does not become the request's message."""
    request, _ = lost_post(harness)
    body = harness.click_body(
        ids.APPROVE_HOLD, str(request.id), APPROVER, channel="C0ELSEWHERE", ts="1700000000.5"
    )
    harness.post(body)
    assert "does not belong" in reply(harness, 2)
    assert harness.request(request.id).message_ts is None
    assert harness.request(request.id).state is RequestState.PENDING


def test_an_unconfirmed_request_expires_and_frees_its_order(harness: Harness) -> None:
    """Unclicked, the request expires as usual; no update is tried without a message, and the
    order can be requested again."""
    request, _ = lost_post(harness)
    harness.clock.advance(timedelta(hours=25))
    flow.maintain(harness.bot.deps)
    assert harness.request(request.id).state is RequestState.EXPIRED
    assert harness.slack.of("chat.update") == []
    now = harness.clock.now()
    again = harness.bot.store.create_request(
        requester=REQUESTER,
        channel_id=CHANNEL,
        reason="",
        cust_refs=[STALE_TEST_REF],
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    assert again.id != request.id


def _converge(harness: Harness) -> list[int]:
    deps = harness.bot.deps
    return announce.converge(deps.poster, deps.holds, deps.clock, card_context(deps.settings))

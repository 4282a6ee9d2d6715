"""A RateLimit answer to a cancel means CartRover did nothing (R66): the order waits for the rate
limit (the card says so) and its cancel is sent again when the pacing allows, within two
minutes, never counted as failed; an ambiguous answer is still never sent again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.holds import execution
from bot.slack import ids
from bot.store.records import ItemState, RequestState
from tests.harness import APPROVER, Harness


def _approved(harness: Harness) -> int:
    request = harness.open_hold(STALE_TEST_REF)
    assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    return request.id


@pytest.mark.parametrize("http_429", [False, True])
def test_a_rate_limited_cancel_is_sent_again_and_is_no_failure(
    harness: Harness, http_429: bool
) -> None:
    """RateLimit twice (with HTTP 200, or 429 and Retry-After), then the cancel goes through:
    canceled, CartRover applied one cancel, and no outcome was ever "failed"."""
    harness.sandbox.faults.rate_limit_http_429 = http_429
    harness.sandbox.faults.rate_limit_cancel = 2
    request_id = _approved(harness)
    done = harness.wait_state(request_id, RequestState.DONE, RequestState.FAILED, timeout=20)
    assert done.state is RequestState.DONE
    assert done.items[0].state is ItemState.CANCELED
    assert harness.book.cancel_count(STALE_TEST_REF) == 1
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 3
    trail = harness.bot.store.audit_for_request(request_id)
    answers = [e.detail.split(":")[0] for e in trail if e.event == "cancel_answer"]
    assert answers == ["accepted"]
    limited = [e.detail for e in trail if e.event == "cartrover_error"]
    assert len(limited) == 2
    assert all(d.startswith("cancel sending: ") and "error_code=RateLimit" in d for d in limited)
    assert [e.detail.split(":")[0] for e in trail if e.event == "outcome"] == ["canceled"]
    cards = json.dumps([c.body for c in harness.slack.of("chat.update")], ensure_ascii=False)
    assert "waiting: for CartRover's rate limit" in cards  # what the card said meanwhile


def test_a_cancel_still_rate_limited_after_two_minutes_waits_for_a_later_run(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tries are bounded in time: past the patience the order is left queued, waiting for
    the rate limit (not failed), and the request stays executing for a later run."""
    harness.sandbox.faults.rate_limit_cancel = 1000
    request = harness.open_hold(STALE_TEST_REF)
    deps = harness.bot.deps
    now_at = deps.clock.now()
    lease = {"runner": "test/run", "lease_until": now_at + timedelta(hours=1)}
    # this test's own runner holds it, so no takeover meddles
    assert deps.holds.decide(
        request.id, to=RequestState.EXECUTING, actor=APPROVER, at=now_at, **lease
    )
    now = [0.0]
    monkeypatch.setattr(execution, "RATE_LIMIT_PATIENCE", 10.0)
    left = execution.execute(
        deps.cartrover,
        deps.holds,
        deps.clock,
        request.id,
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        monotonic=lambda: now[0],
    )
    assert left is not None and left.state is RequestState.EXECUTING
    item = left.items[0]
    assert (item.state, item.detail) == (ItemState.QUEUED, execution.RATE_LIMIT_WAIT)
    assert now[0] <= 10.0
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 1 + 10  # paced, bounded
    assert harness.book.cancel_count(STALE_TEST_REF) == 0
    assert not [e for e in harness.bot.store.audit_for_request(request.id) if e.event == "outcome"]

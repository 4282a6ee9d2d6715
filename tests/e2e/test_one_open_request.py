"""One open hold request per order, end to end: simultaneous `hold` commands and "Request hold for
all" clicks through signed HTTP, the CartRover sandbox, the recording Slack and a real SQLite file.
The store's claim on each order decides; the loser is told which request holds the order."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.dev.sandbox import STALE_TEST_REF
from bot.slack import ids
from bot.store.records import RequestState
from tests.e2e.test_digest_in_slack import SEEDED_STALE_TEST, TEST_ENV, hold_all_value
from tests.harness import APPROVER, APPROVER_2, CHANNEL, REQUESTER, STRANGER, Harness


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


def replies(harness: Harness, count: int) -> list[str]:
    harness.wait_reply(count)
    return [json.dumps(call.body) for call in harness.replies()]


def test_two_holds_at_once_open_one_request_and_one_cancel(harness: Harness) -> None:
    """Two people sending `hold X` at the same moment get one request; the other is told which
    request holds X; approving it sends CartRover one cancel."""
    with ThreadPoolExecutor(2) as pool:
        hold = f"hold {STALE_TEST_REF}"
        sent = list(pool.map(lambda user: harness.command(hold, user=user), [REQUESTER, STRANGER]))
    assert [response.status_code for response in sent] == [200, 200]
    answers = replies(harness, 2)
    (request,) = harness.bot.store.requests_in_state(RequestState.PENDING)
    assert len(harness.slack.of("chat.postMessage")) == 1
    told = [a for a in answers if f"already in hold request #{request.id} (pending)" in a]
    posted = [a for a in answers if f"Hold request #{request.id} for 1 order is posted" in a]
    assert (len(told), len(posted)) == (1, 1)
    assert f"`{STALE_TEST_REF}`" in told[0] and "Nothing was requested" in told[0]

    harness.wait_until(lambda: harness.request(request.id).message_ts is not None)
    harness.click(ids.APPROVE_HOLD, harness.request(request.id), APPROVER)
    harness.wait_state(request.id, RequestState.DONE)
    assert harness.book.cancel_count(STALE_TEST_REF) == 1
    assert len(harness.sandbox.cancel_requests(STALE_TEST_REF)) == 1


def test_two_hold_all_clicks_at_once_open_one_request(harness: Harness) -> None:
    """Two "Request hold for all" clicks at the same moment open one bulk request; the other
    clicker is told the orders are in it, and nothing more is posted."""
    harness.command("stale")
    value = hold_all_value(harness.wait_reply(1).body["blocks"])
    bodies = [
        harness.click_body(ids.REQUEST_HOLD_ALL, value, user, channel=CHANNEL, ts="1700000000.9")
        for user in (REQUESTER, APPROVER_2)
    ]
    with ThreadPoolExecutor(2) as pool:
        assert [r.status_code for r in pool.map(harness.post, bodies)] == [200, 200]
    answers = replies(harness, 3)[1:]
    (request,) = harness.bot.store.requests_in_state(RequestState.PENDING)
    assert request.cust_refs == SEEDED_STALE_TEST
    assert len(harness.slack.of("chat.postMessage")) == 1
    (told,) = [a for a in answers if "Nothing was requested" in a]
    # One line for the seven orders, not seven lines of "already open".
    named = ", ".join(f"`{ref}`" for ref in SEEDED_STALE_TEST[:5])
    more = len(SEEDED_STALE_TEST) - 5
    line = f"{named} and {more} more: each is already in hold request #{request.id} (pending)"
    assert line in told and told.count("already in hold request") == 2  # text and section


def test_hold_all_leaves_out_orders_already_requested_and_names_them(harness: Harness) -> None:
    """A bulk request skips the orders an open request holds, and says which request that is."""
    harness.command("stale")
    value = hold_all_value(harness.wait_reply(1).body["blocks"])
    single = harness.open_hold(STALE_TEST_REF)
    body = harness.click_body(ids.REQUEST_HOLD_ALL, value, APPROVER_2, channel=CHANNEL, ts="1.2")
    assert harness.post(body).status_code == 200
    bulk = harness.newest_request(2)
    assert bulk.cust_refs == [ref for ref in SEEDED_STALE_TEST if ref != STALE_TEST_REF]
    answer = replies(harness, 3)[-1]
    assert "Left out (1)" in answer
    assert f"`{STALE_TEST_REF}` is already in hold request #{single.id} (pending)" in answer


def test_a_rejected_request_frees_its_order_for_a_new_one(harness: Harness) -> None:
    """Once a request is rejected, the same order can be requested again."""
    first = harness.open_hold(STALE_TEST_REF)
    harness.command(f"hold {STALE_TEST_REF}", user=STRANGER)
    assert f"already in hold request #{first.id} (pending)" in replies(harness, 2)[-1]
    harness.reject(first, APPROVER)
    harness.wait_state(first.id, RequestState.REJECTED)
    second = harness.open_hold(STALE_TEST_REF, user=STRANGER)
    assert second.id != first.id and second.cust_refs == [STALE_TEST_REF]

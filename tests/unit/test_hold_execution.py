"""Running an approved request (``bot.holds.execution``) on a fresh SQLite store with CartRover's
orders in memory, without HTTP: the cancel-once rule (re-read, mark ``sending`` before the call,
never resend after an answer that may hide an action, verify) and what each outcome records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cartrover.errors import ConnectionFailed
from bot.holds import execution, requests
from bot.holds.verdicts import RECHECK_AFTER
from bot.store import Store, open_store
from bot.store.records import HoldRequest, ItemState, RequestState
from bot.times import FrozenClock
from tests.fakes import HeldOrders

REQUESTER, APPROVER = "U0REQ", "U0APPROVE"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'holds.db'}")
    yield opened
    opened.close()


@pytest.fixture
def orders(clock: FrozenClock) -> HeldOrders:
    created = clock.now() - timedelta(hours=30)
    return HeldOrders(*(HeldOrders.new(f"TS-{n}", created) for n in range(1, 4)))


def opened(store: Store, clock: FrozenClock, *refs: str) -> HoldRequest:
    """A request for ``refs``, waiting for an approver."""
    return requests.open_request(
        store,
        clock,
        ttl=timedelta(hours=24),
        requester=REQUESTER,
        channel_id="C0HOLDS",
        reason="test orders",
        refs=refs,
        source="command",
    )


def approved(store: Store, clock: FrozenClock, *refs: str) -> HoldRequest:
    request = opened(store, clock, *refs)
    assert store.decide(request.id, to=RequestState.EXECUTING, actor=APPROVER, at=clock.now())
    return request


def item_states(request: HoldRequest | None) -> dict[str, ItemState]:
    assert request is not None
    return {item.cust_ref: item.state for item in request.items}


def second_look(
    orders: HeldOrders, store: Store, clock: FrozenClock, request: HoldRequest, *refs: str
) -> HoldRequest | None:
    """The first run left ``refs`` checking, the request executing; a minute later the next run
    reads them again (and nothing before that)."""
    first = store.get_request(request.id)
    assert first is not None and first.state is RequestState.EXECUTING
    assert {ref for ref, state in item_states(first).items() if state is ItemState.CHECKING} == {
        *refs
    }
    reads = len(orders.reads)
    assert execution.execute(orders, store, clock, request.id) == first  # not due: no read
    assert len(orders.reads) == reads
    clock.advance(RECHECK_AFTER)
    return execution.execute(orders, store, clock, request.id)


def test_each_order_is_re_read_marked_sending_canceled_once_and_verified(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    request = approved(store, clock, "TS-1", "TS-2")
    seen: dict[str, ItemState] = {}

    def at_the_call(ref: str) -> None:  # what the store says while the cancel is in flight
        seen[ref] = item_states(store.get_request(request.id))[ref]

    orders.on_cancel = at_the_call
    done = execution.execute(orders, store, clock, request.id)
    assert seen == {"TS-1": ItemState.SENDING, "TS-2": ItemState.SENDING}
    assert orders.cancels == ["TS-1", "TS-2"]
    assert orders.reads == ["TS-1", "TS-2", "TS-1", "TS-2"]  # one re-read each, then verified
    assert done is not None and done.state is RequestState.DONE
    assert set(item_states(done).values()) == {ItemState.CANCELED}
    answers = [e for e in store.audit_for_request(request.id) if e.event == "cancel_answer"]
    assert [a.cust_ref for a in answers] == ["TS-1", "TS-2"]
    assert answers[0].detail.startswith("accepted: {") and answers[0].process_id == "PID-1"


def test_an_order_no_longer_new_is_skipped_without_a_cancel(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    request = approved(store, clock, "TS-1", "TS-2")
    orders.orders["TS-2"] = HeldOrders.new("TS-2", clock.now(), order_status="at_wms")
    done = execution.execute(orders, store, clock, request.id)
    assert orders.cancels == ["TS-1"]
    assert item_states(done) == {"TS-1": ItemState.CANCELED, "TS-2": ItemState.SKIPPED}
    assert done is not None and done.state is RequestState.DONE


def test_a_clear_refusal_that_left_the_order_unchanged_fails(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    request = approved(store, clock, "TS-1")
    orders.answers["TS-1"] = "refused"
    done = execution.execute(orders, store, clock, request.id)
    assert orders.cancel_count("TS-1") == 1
    assert item_states(done) == {"TS-1": ItemState.FAILED}
    assert done is not None and done.state is RequestState.FAILED
    assert "CartRover refused: Order cannot be canceled" in done.items[0].detail


@pytest.mark.parametrize("acted", [True, False], ids=["acted", "did-not-act"])
def test_a_cancel_without_a_clear_answer_is_never_resent_and_the_read_decides(
    store: Store, clock: FrozenClock, orders: HeldOrders, acted: bool
) -> None:
    """The call may have left: whatever CartRover did, the cancel is not sent again, neither in
    this run nor when the request is run again; the verifying read says what happened."""
    request = approved(store, clock, "TS-1")
    orders.answers["TS-1"] = ConnectionFailed("read timed out", request_sent=True)
    orders.acts["TS-1"] = acted
    done = execution.execute(orders, store, clock, request.id)
    if not acted:
        done = second_look(orders, store, clock, request, "TS-1")
    expected = ItemState.CANCELED if acted else ItemState.NOT_CONFIRMED
    assert item_states(done) == {"TS-1": expected}
    assert done is not None
    assert done.state is (RequestState.DONE if acted else RequestState.UNKNOWN)
    assert "the cancel call got no clear answer" in done.items[0].detail
    execution.execute(orders, store, clock, request.id)  # finished: nothing to do again
    assert orders.cancel_count("TS-1") == 1


def test_an_unreadable_answer_is_not_confirmed_unless_the_order_shows_it(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    request = approved(store, clock, "TS-1", "TS-2")
    orders.answers.update({"TS-1": "unclear", "TS-2": "unclear"})
    orders.acts["TS-2"] = True
    execution.execute(orders, store, clock, request.id)
    done = second_look(orders, store, clock, request, "TS-1")
    assert item_states(done) == {"TS-1": ItemState.NOT_CONFIRMED, "TS-2": ItemState.CANCELED}
    assert orders.cancels == ["TS-1", "TS-2"]


def test_an_order_left_sending_by_a_stopped_runner_is_only_re_read(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    """A runner marked TS-1 ``sending`` and stopped: its cancel may have left. The next run
    looks at the order and never sends again."""
    request = approved(store, clock, "TS-1", "TS-2")
    assert store.start_item(request.id, "TS-1", clock.now())
    execution.execute(orders, store, clock, request.id)
    done = second_look(orders, store, clock, request, "TS-1")
    assert orders.cancels == ["TS-2"]
    assert item_states(done) == {"TS-1": ItemState.NOT_CONFIRMED, "TS-2": ItemState.CANCELED}
    assert done is not None
    assert "restarted while this cancel was in flight" in done.items[0].detail


def test_a_runner_that_lost_its_lease_stops_before_the_next_cancel(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    request = approved(store, clock, "TS-1", "TS-2")
    answers = iter([True, False])  # still mine for the first order only
    left = execution.execute(orders, store, clock, request.id, still_mine=lambda: next(answers))
    assert orders.cancels == ["TS-1"]
    assert left is not None and left.state is RequestState.EXECUTING
    assert item_states(left) == {"TS-1": ItemState.SENDING, "TS-2": ItemState.QUEUED}


def test_a_failed_re_read_sends_nothing_and_a_failed_verify_is_not_confirmed(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    unread = approved(store, clock, "TS-1")
    orders.unreadable.add("TS-1")
    assert item_states(execution.execute(orders, store, clock, unread.id)) == {
        "TS-1": ItemState.FAILED
    }
    assert orders.cancels == []
    unverified = approved(store, clock, "TS-2")
    orders.on_cancel = orders.unreadable.add  # CartRover stops answering reads after the cancel
    execution.execute(orders, store, clock, unverified.id)
    done = second_look(orders, store, clock, unverified, "TS-2")
    assert orders.cancels == ["TS-2"]
    assert item_states(done) == {"TS-2": ItemState.NOT_CONFIRMED}
    assert done is not None and done.state is RequestState.UNKNOWN


def test_only_an_executing_request_runs(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    pending = opened(store, clock, "TS-1")
    assert execution.execute(orders, store, clock, pending.id) == pending
    assert execution.execute(orders, store, clock, 999) is None
    assert orders.cancels == [] and orders.reads == []


def test_shadow_mode_reads_everything_and_cancels_nothing(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    """In shadow mode each order is re-read as usual; one that would be canceled is
    ``would_cancel`` (audited), one that moved on is left alone; no cancel is sent."""
    request = approved(store, clock, "TS-1", "TS-2")
    orders.orders["TS-2"] = HeldOrders.new("TS-2", clock.now(), order_status="at_wms")
    done = execution.execute(orders, store, clock, request.id, shadow=True)
    assert orders.cancels == [] and orders.reads == ["TS-1", "TS-2"]
    assert item_states(done) == {"TS-1": ItemState.WOULD_CANCEL, "TS-2": ItemState.SKIPPED}
    assert done is not None and done.state is RequestState.DONE
    assert done.items[0].detail == "shadow mode: would have canceled sending"
    assert [e.cust_ref for e in store.audit_for_request(request.id) if e.event == "shadow"] == [
        "TS-1"
    ]


def test_a_process_that_starts_stopping_before_the_cancel_leaves_sends_nothing(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    """The stop comes after the re-read, while the cancel waits to leave (for the rate limit):
    asked again at the last moment, ``may_send`` says no, so no cancel is sent and the order
    stays queued, never ``sending``; the runner that takes the request over sends it once."""
    request = approved(store, clock, "TS-1")
    answers = iter([True])  # yes at the re-read, no from then on: the signal came meanwhile
    stopped = execution.execute(
        orders, store, clock, request.id, may_send=lambda: next(answers, False)
    )
    assert orders.cancels == [] and orders.reads == ["TS-1"]
    assert item_states(stopped) == {"TS-1": ItemState.QUEUED}
    assert stopped is not None and stopped.state is RequestState.EXECUTING
    done = execution.execute(orders, store, clock, request.id)
    assert orders.cancels == ["TS-1"] and item_states(done) == {"TS-1": ItemState.CANCELED}


def test_a_cancel_retried_after_the_stop_goes_back_to_the_queue_unsent(
    store: Store, clock: FrozenClock, orders: HeldOrders
) -> None:
    """The client asks ``go_ahead`` before each attempt: the first (which marks the order
    ``sending``) surely never left (a refused connection), and before the retry the process
    began stopping; nothing was sent, so the order goes back to ``queued``, saying why."""
    request = approved(store, clock, "TS-1")
    stopping = [False]
    send = orders.cancel_sending

    def first_attempt_refused_then_retried(ref: str, *, go_ahead: Any = None) -> Any:
        assert go_ahead is not None and go_ahead()  # first attempt: marked sending, then refused
        assert item_states(store.get_request(request.id)) == {"TS-1": ItemState.SENDING}
        stopping[0] = True  # SIGTERM before the retry
        return send(ref, go_ahead=go_ahead)

    orders.cancel_sending = first_attempt_refused_then_retried  # type: ignore[method-assign]
    stopped = execution.execute(orders, store, clock, request.id, may_send=lambda: not stopping[0])
    assert orders.cancels == []
    assert stopped is not None and stopped.items[0].state is ItemState.QUEUED
    assert stopped.items[0].detail == execution.STOPPED_UNSENT
    orders.cancel_sending = send  # type: ignore[method-assign]
    done = execution.execute(orders, store, clock, request.id)
    assert orders.cancels == ["TS-1"] and item_states(done) == {"TS-1": ItemState.CANCELED}

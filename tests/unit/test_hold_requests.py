"""Request decisions (``bot.holds.requests``) on a fresh SQLite store, without HTTP: who may
decide, one winner per request, the TTL, which click names which request, and the audit trail
each leaves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.holds import requests
from bot.holds.approvers import Approvers
from bot.holds.requests import Click, Refusal, RefusalReason, Surface
from bot.store import Store, open_store
from bot.store.records import HoldRequest, OrdersAlreadyOpen, RequestState
from bot.times import FrozenClock
from tests.fakes import HeldOrders

REQUESTER, APPROVER, APPROVER_2, STRANGER = "U0REQ", "U0APPROVE", "U0APPROVE2", "U0STRANGER"
TEAM, CHANNEL, CARD_TS = "T0TEAM", "C0HOLDS", "1700000000.000100"
TTL = timedelta(hours=24)
APPROVERS = Approvers([APPROVER, APPROVER_2])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'holds.db'}")
    yield opened
    opened.close()


def open_hold(store: Store, clock: FrozenClock, *refs: str, card: bool = True) -> HoldRequest:
    request = requests.open_request(
        store,
        clock,
        ttl=TTL,
        requester=REQUESTER,
        channel_id=CHANNEL,
        reason="test orders",
        refs=refs or ("TS-1",),
        source="command",
    )
    if card:
        store.set_message(request.id, CHANNEL, CARD_TS)
    return store.get_request(request.id) or request


def card_click(request: HoldRequest, user: str, **changes: object) -> Click:
    fields: dict[str, object] = {
        "user": user,
        "team": TEAM,
        "request_id": request.id,
        "channel_id": CHANNEL,
        "message_ts": CARD_TS,
        **changes,
    }
    return Click(**fields)  # type: ignore[arg-type]


def events(store: Store, request: HoldRequest) -> list[tuple[str, str | None]]:
    return [(entry.event, entry.actor) for entry in store.audit_for_request(request.id)]


def test_an_approver_approves_once_and_a_second_click_is_told_who_won(
    store: Store, clock: FrozenClock
) -> None:
    request = open_hold(store, clock)
    decided = requests.approve(store, clock, APPROVERS, request, APPROVER)
    assert isinstance(decided, HoldRequest) and decided.state is RequestState.EXECUTING
    assert decided.decided_by == APPROVER and decided.decided_at == clock.now()
    again = requests.approve(store, clock, APPROVERS, request, APPROVER_2)
    assert isinstance(again, Refusal) and again.reason is RefusalReason.ALREADY_DECIDED
    assert again.request is not None and again.request.decided_by == APPROVER
    assert events(store, request) == [
        ("requested", REQUESTER),
        ("approved", APPROVER),
        ("duplicate_click", APPROVER_2),
    ]


def test_a_late_reject_loses_to_the_approval(store: Store, clock: FrozenClock) -> None:
    request = open_hold(store, clock)
    assert isinstance(requests.approve(store, clock, APPROVERS, request, APPROVER), HoldRequest)
    refused = requests.reject(store, clock, APPROVERS, request, APPROVER_2, "no")
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.ALREADY_DECIDED
    assert store.get_request(request.id).state is RequestState.EXECUTING  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("approvers", "user", "reason"),
    [
        (Approvers([]), APPROVER, RefusalReason.NO_APPROVERS),
        (APPROVERS, STRANGER, RefusalReason.NOT_APPROVER),
        (Approvers([APPROVER, REQUESTER]), REQUESTER, RefusalReason.OWN_REQUEST),
    ],
)
def test_who_may_not_approve_changes_nothing_and_is_audited(
    store: Store, clock: FrozenClock, approvers: Approvers, user: str, reason: RefusalReason
) -> None:
    request = open_hold(store, clock)
    refused = requests.approve(store, clock, approvers, request, user)
    assert refused == Refusal(reason, request)
    assert store.get_request(request.id).state is RequestState.PENDING  # type: ignore[union-attr]
    (entry,) = [e for e in store.audit_for_request(request.id) if e.event == "refused"]
    assert (entry.actor, entry.detail) == (user, reason.value)


def test_self_approval_when_allowed(store: Store, clock: FrozenClock) -> None:
    request = open_hold(store, clock)
    approvers = Approvers([REQUESTER], allow_self_approval=True)
    decided = requests.approve(store, clock, approvers, request, REQUESTER)
    assert isinstance(decided, HoldRequest) and decided.state is RequestState.EXECUTING


def test_the_requester_withdraws_and_an_approver_rejects_with_a_reason(
    store: Store, clock: FrozenClock
) -> None:
    withdrawn = open_hold(store, clock, "TS-1")
    rejected = open_hold(store, clock, "TS-2")
    assert isinstance(requests.reject(store, clock, APPROVERS, withdrawn, REQUESTER), HoldRequest)
    done = requests.reject(store, clock, APPROVERS, rejected, APPROVER, "not a test order")
    assert isinstance(done, HoldRequest) and done.state is RequestState.REJECTED
    assert done.decision_reason == "not a test order"
    assert events(store, withdrawn)[-1] == ("withdrawn", REQUESTER)
    (entry,) = [e for e in store.audit_for_request(rejected.id) if e.event == "rejected"]
    assert (entry.actor, entry.detail) == (APPROVER, "reason: not a test order")


def test_a_stranger_may_not_reject(store: Store, clock: FrozenClock) -> None:
    request = open_hold(store, clock)
    refused = requests.reject(store, clock, APPROVERS, request, STRANGER)
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.MAY_NOT_REJECT
    assert store.get_request(request.id).state is RequestState.PENDING  # type: ignore[union-attr]


def test_an_approval_after_the_ttl_expires_the_request_instead(
    store: Store, clock: FrozenClock
) -> None:
    request = open_hold(store, clock)
    clock.advance(TTL)
    refused = requests.approve(store, clock, APPROVERS, request, APPROVER)
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.EXPIRED
    assert refused.request is not None and refused.request.state is RequestState.EXPIRED
    assert [e for e, _ in events(store, request)] == ["requested", "expired", "refused"]
    assert requests.expire_due(store, clock) == []  # already expired: not again


def test_expire_due_expires_only_the_overdue_and_audits_each_once(
    store: Store, clock: FrozenClock
) -> None:
    old = open_hold(store, clock, "TS-1")
    clock.advance(timedelta(hours=1))
    young = open_hold(store, clock, "TS-2")
    clock.advance(TTL - timedelta(minutes=30))
    assert [r.id for r in requests.expire_due(store, clock)] == [old.id]
    assert requests.expire_due(store, clock) == []
    assert store.get_request(young.id).state is RequestState.PENDING  # type: ignore[union-attr]
    assert [e for e, _ in events(store, old)].count("expired") == 1


def test_a_second_request_for_an_open_order_is_refused_whole(
    store: Store, clock: FrozenClock
) -> None:
    first = open_hold(store, clock, "TS-1")
    with pytest.raises(OrdersAlreadyOpen) as taken:
        open_hold(store, clock, "TS-2", "TS-1")
    assert [(c.cust_ref, c.request_id) for c in taken.value.claims] == [("TS-1", first.id)]
    assert store.open_requests_for("TS-2") == []


def test_check_orders_sorts_the_holdable_from_the_rest(clock: FrozenClock) -> None:
    created = clock.now() - timedelta(hours=30)
    orders = HeldOrders(
        HeldOrders.new("TS-1", created),
        HeldOrders.new("TS-2", created, order_status="at_wms"),
        HeldOrders.new("TS-3", created, sending_canceled="Y"),
    )
    checked = requests.check_orders(orders, ["TS-1", "TS-2", "TS-3", "TS-404"])
    assert [order.cust_ref for order in checked.holdable] == ["TS-1"]
    assert checked.created == {"TS-1": created}
    why = dict(checked.refused)
    assert set(why) == {"TS-2", "TS-3", "TS-404"}
    assert "went to the WMS" in why["TS-2"] and "already stopped" in why["TS-3"]
    assert "is not known to CartRover" in why["TS-404"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"team": "T0OTHER"}, RefusalReason.OTHER_WORKSPACE),
        ({"request_id": None}, RefusalReason.BAD_VALUE),
        ({"request_id": 999}, RefusalReason.NO_SUCH_REQUEST),
        ({"message_ts": "1700000000.999999"}, RefusalReason.WRONG_MESSAGE),
        ({"channel_id": "C0ELSEWHERE"}, RefusalReason.WRONG_MESSAGE),
        ({"surface": Surface.HOME, "view_id": "V0OLD"}, RefusalReason.WRONG_VIEW),
    ],
)
def test_a_click_that_does_not_name_its_own_request_is_refused(
    store: Store, clock: FrozenClock, changes: dict[str, object], reason: RefusalReason
) -> None:
    request = open_hold(store, clock)
    store.home_opened(APPROVER, clock.now())
    store.home_published(APPROVER, "V0CURRENT", "hash-1", clock.now())
    click = card_click(request, APPROVER, **changes)
    found = requests.find_clicked(store, store, clock, click, team_id=TEAM)
    assert isinstance(found, Refusal) and found.reason is reason


def test_a_click_on_the_card_or_the_current_home_finds_the_request(
    store: Store, clock: FrozenClock
) -> None:
    request = open_hold(store, clock)
    store.home_opened(APPROVER, clock.now())
    store.home_published(APPROVER, "V0CURRENT", "hash-1", clock.now())
    on_card = card_click(request, APPROVER)
    on_home = card_click(request, APPROVER, surface=Surface.HOME, view_id="V0CURRENT")
    assert requests.find_clicked(store, store, clock, on_card, team_id=TEAM) == request
    assert requests.find_clicked(store, store, clock, on_home, team_id=TEAM) == request


def test_a_card_whose_post_went_unanswered_is_adopted_by_its_first_click(
    store: Store, clock: FrozenClock
) -> None:
    request = open_hold(store, clock, card=False)
    elsewhere = card_click(request, APPROVER, channel_id="C0ELSEWHERE")
    assert isinstance(requests.find_clicked(store, store, clock, elsewhere, team_id=TEAM), Refusal)
    found = requests.find_clicked(store, store, clock, card_click(request, APPROVER), team_id=TEAM)
    assert isinstance(found, HoldRequest) and found.message_ts == CARD_TS
    assert found.rendered_state is RequestState.PENDING
    assert "card_found" in [e for e, _ in events(store, request)]

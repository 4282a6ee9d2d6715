"""The store contract: one suite every backend passes unchanged.

A backend's test class subclasses :class:`StoreContract` and provides one fixture,
``new_database``: a factory returning the URL of a fresh, empty database each time it is called
(cleaned up at teardown). Everything else — the single-winner races across threads and processes
(decisions, items, digest claims and the one open request per order), the R28 stress test and the
R36 state machine — is written once here.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from typing import Any, TypeVar

import pytest

from bot.store import (
    AuditEntry,
    DigestSubscription,
    HoldRequest,
    ItemState,
    RequestState,
    ScanMark,
    Snapshot,
    Store,
    StoreError,
    open_store,
)
from bot.store.records import OpenOrder, OrdersAlreadyOpen

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = date(2026, 3, 2)
PENDING, EXECUTING = RequestState.PENDING, RequestState.EXECUTING

NewDatabase = Callable[[], str]
R = TypeVar("R")


def make_request(
    store: Store,
    cust_refs: Sequence[str] = ("A100", "B200", "C300"),
    *,
    created_at: datetime = T0,
    ttl: timedelta = HOUR,
    requester: str = "UREQ",
) -> HoldRequest:
    return store.create_request(
        requester=requester,
        channel_id="CHOLDS",
        reason="customer called",
        cust_refs=cust_refs,
        created_at=created_at,
        expires_at=created_at + ttl,
    )


def race(attempt: Callable[[int], R], *, threads: int = 8, attempts: int = 4) -> list[R]:
    """Every thread calls ``attempt`` ``attempts`` times, all starting together; all results."""
    barrier = threading.Barrier(threads)

    def worker(index: int) -> list[R]:
        barrier.wait(timeout=30)
        return [attempt(index) for _ in range(attempts)]

    with ThreadPoolExecutor(threads) as pool:
        return [won for results in pool.map(worker, range(threads)) for won in results]


def ignoring_index(call: Callable[[], R]) -> Callable[[int], R]:
    return lambda _: call()


def race_in_process(url: str, request_id: int, start: Any, results: Any) -> None:
    """One contender of the multi-process race: decide, start an item, claim a digest."""
    store = open_store(url, migrate=False)
    try:
        start.wait(60)
        decided = store.decide(request_id, to=EXECUTING, actor="UPROC", at=T0)
        start.wait(60)
        started = store.start_item(request_id, "A100", T0)
        start.wait(60)
        claimed = store.claim_digest("CDIGEST", DAY, T0)
        results.put((decided, started, claimed))
    finally:
        store.close()


def create_in_process(url: str, refs: list[str], start: Any, results: Any) -> None:
    """One contender of the multi-process race for orders: open a request for ``refs``."""
    store = open_store(url, migrate=False)
    try:
        start.wait(60)
        try:
            created = make_request(store, refs)
        except OrdersAlreadyOpen as taken:
            results.put(("taken", [(c.cust_ref, c.request_id) for c in taken.claims]))
        else:
            results.put(("created", created.id))
    finally:
        store.close()


def try_request(store: Store, refs: Sequence[str]) -> HoldRequest | OrdersAlreadyOpen:
    try:
        return make_request(store, refs)
    except OrdersAlreadyOpen as taken:
        return taken


def check_one_winner_per_order(
    store: Store, attempts: dict[int, Sequence[str]], outcomes: dict[int, object]
) -> list[HoldRequest]:
    """Every order went to at most one created request, and every loser was told of a winner
    that holds one of its orders."""
    won = [o for o in outcomes.values() if isinstance(o, HoldRequest)]
    holders = Counter(ref for request in won for ref in request.cust_refs)
    assert all(count == 1 for count in holders.values()), holders
    by_id = {request.id: request for request in won}
    for index, outcome in outcomes.items():
        if isinstance(outcome, OrdersAlreadyOpen):
            assert outcome.claims
            for claim in outcome.claims:
                assert claim.cust_ref in attempts[index]
                assert claim.state is PENDING
                assert claim.cust_ref in by_id[claim.request_id].cust_refs
        else:
            assert isinstance(outcome, HoldRequest), outcome
    assert sorted(r.id for r in store.requests_in_state(PENDING)) == sorted(by_id)
    return won


Execute = Callable[[str, Sequence[object]], None]

# A database from before one open request per order: requests 1 and 2 both hold A1 open.
LEGACY_REQUESTS = (
    (1, "pending", ["A1", "B1"], "1700000000.000001"),
    (2, "pending", ["A1"], "1700000000.000002"),
    (3, "rejected", ["A1"], "1700000000.000003"),
    (4, "executing", ["C1"], "1700000000.000004"),
    (5, "pending", ["D1"], None),
)


def seed_legacy_database(execute: Execute, time_in: Callable[[datetime], object]) -> None:
    """Fill a database at schema version 1 with :data:`LEGACY_REQUESTS`."""
    for request_id, state, refs, ts in LEGACY_REQUESTS:
        decided = (None, None) if state == "pending" else ("UAPP", time_in(T0))
        execute(
            "INSERT INTO hold_requests (requester, channel_id, reason, state, message_ts, "
            "decided_by, decided_at, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("UREQ", "CHOLDS", "", state, ts, *decided, time_in(T0), time_in(T0 + HOUR)),
        )
        for position, ref in enumerate(refs):
            execute(
                "INSERT INTO hold_items (request_id, cust_ref, position, state) "
                "VALUES (?, ?, ?, 'queued')",
                (request_id, ref, position),
            )


def check_upgraded_legacy_database(store: Store) -> None:
    """After migrating: the oldest open request holds each order, the younger duplicate stays
    open and decidable, and posted cards count as showing their stored state."""
    with pytest.raises(OrdersAlreadyOpen) as caught:
        make_request(store, ["D1", "C1", "B1", "A1"])
    assert caught.value.claims == (
        OpenOrder("D1", 5, PENDING),
        OpenOrder("C1", 4, EXECUTING),
        OpenOrder("B1", 1, PENDING),
        OpenOrder("A1", 1, PENDING),
    )
    duplicate = store.get_request(2)
    assert duplicate is not None and duplicate.state is PENDING
    assert store.lagging_cards() == []
    assert [(r.id, r.rendered_state) for r in store.requests_in_state(PENDING)] == [
        (1, PENDING),
        (2, PENDING),
        (5, None),
    ]
    assert store.decide(1, to=RequestState.REJECTED, actor="UAPP", at=T0)
    assert store.decide(2, to=EXECUTING, actor="UAPP", at=T0)
    assert [r.id for r in store.lagging_cards()] == [1, 2]
    assert make_request(store, ["B1"]).state is PENDING


class StoreContract:
    """What every store does; subclasses provide ``new_database``."""

    machine_examples = 20  # Hypothesis examples for the R36 state machine

    @pytest.fixture
    def store_url(self, new_database: NewDatabase) -> str:
        return new_database()

    @pytest.fixture
    def opened(self) -> Iterator[list[Store]]:
        stores: list[Store] = []
        yield stores
        for store in stores:
            store.close()

    @pytest.fixture
    def store(self, store_url: str, opened: list[Store]) -> Store:
        opened.append(open_store(store_url))
        return opened[-1]

    # -- hold requests
    def test_create_request_keeps_the_order_of_items(self, store: Store) -> None:
        """A new request is pending with one queued item per order, in the order given."""
        created = make_request(store, ["Z9", "A1", "M5"])
        assert created.state is PENDING
        assert created.cust_refs == ["Z9", "A1", "M5"]
        assert store.get_request(created.id) == created
        assert [item.state for item in created.items] == [ItemState.QUEUED] * 3

    def test_get_request_returns_none_for_an_unknown_id(self, store: Store) -> None:
        """Looking up an id that was never created gives None."""
        assert store.get_request(424242) is None

    def test_create_request_refuses_repeated_or_no_orders(self, store: Store) -> None:
        """A request naming an order twice, or none, is a caller error."""
        with pytest.raises(ValueError, match="distinct"):
            make_request(store, ["A1", "A1"])
        with pytest.raises(ValueError, match="distinct"):
            make_request(store, [])

    def test_naive_datetimes_are_refused(self, store: Store) -> None:
        """A datetime without a zone is refused rather than guessed."""
        with pytest.raises(ValueError, match="timezone-aware"):
            make_request(store, created_at=datetime(2026, 3, 2, 12, 0))

    def test_datetimes_round_trip_as_aware_utc(self, store: Store) -> None:
        """Times given in any zone come back as the same instant in UTC, to the microsecond."""
        plus_five = timezone(timedelta(hours=5))
        created = datetime(2026, 3, 2, 17, 0, 0, 123456, tzinfo=plus_five)
        request = make_request(store, created_at=created)
        stored = store.get_request(request.id)
        assert stored is not None
        assert stored.created_at == created
        assert stored.created_at.utcoffset() == timedelta(0)
        assert stored.expires_at == created + HOUR

    def test_set_message_records_where_the_request_was_posted(self, store: Store) -> None:
        """The channel and ts of the request message are kept."""
        request = make_request(store)
        store.set_message(request.id, "CAPPROVE", "1700000000.000100")
        stored = store.get_request(request.id)
        assert stored is not None
        assert (stored.channel_id, stored.message_ts) == ("CAPPROVE", "1700000000.000100")

    def test_requests_in_state_lists_oldest_first(self, store: Store) -> None:
        """Requests in one state come oldest first, with their items."""
        later = make_request(store, ["L1"], created_at=T0 + HOUR)
        earlier = make_request(store, ["E1", "E2"], created_at=T0)
        decided = make_request(store, ["D1"], created_at=T0 - HOUR)
        assert store.decide(decided.id, to=EXECUTING, actor="UAPP", at=T0 - HOUR)
        assert store.requests_in_state(PENDING) == [earlier, later]
        assert [r.id for r in store.requests_in_state(EXECUTING)] == [decided.id]

    def test_open_requests_lists_pending_then_executing_each_oldest_first(
        self, store: Store
    ) -> None:
        """Every open request with its items: the pending ones oldest first, then the executing
        ones oldest first, whatever their ages across the two states; closed ones are left out."""
        late_pending = make_request(store, ["P2"], created_at=T0 + HOUR)
        late_running = make_request(store, ["X2", "X3"], created_at=T0 + 2 * HOUR)
        early_pending = make_request(store, ["P1", "P0"], created_at=T0)
        early_running = make_request(store, ["X1"], created_at=T0 - HOUR)
        rejected = make_request(store, ["R1"], created_at=T0 - 2 * HOUR)
        twin = make_request(store, ["P3"], created_at=T0)  # same age: the lower id first
        for running in (late_running, early_running):
            assert store.decide(running.id, to=EXECUTING, actor="UAPP", at=running.created_at)
        rejecting = rejected.created_at
        assert store.decide(rejected.id, to=RequestState.REJECTED, actor="UAPP", at=rejecting)
        found = store.open_requests()
        assert [r.id for r in found] == [
            early_pending.id, twin.id, late_pending.id, early_running.id, late_running.id,
        ]  # fmt: skip
        assert found == store.requests_in_state(PENDING) + store.requests_in_state(EXECUTING)
        assert found[0] == early_pending
        assert found[-1].cust_refs == ["X2", "X3"]

    def test_open_requests_for_lists_pending_and_executing_requests(self, store: Store) -> None:
        """Only unfinished requests that include the order are returned."""
        rejected = make_request(store, ["X1"])
        assert store.decide(rejected.id, to=RequestState.REJECTED, actor="UAPP", at=T0)
        pending = make_request(store, ["X1", "Y1"])
        done = make_request(store, ["X2"])
        assert store.decide(done.id, to=EXECUTING, actor="UAPP", at=T0)
        assert store.decide(done.id, to=RequestState.DONE, actor=None, at=T0, expect=EXECUTING)
        executing = make_request(store, ["X2"], created_at=T0 + HOUR)
        assert store.decide(executing.id, to=EXECUTING, actor="UAPP", at=T0 + HOUR)
        assert [r.id for r in store.open_requests_for("X1")] == [pending.id]
        assert [r.id for r in store.open_requests_for("X2")] == [executing.id]
        assert store.open_requests_for("Z9") == []

    # -- one open request per order
    def test_an_order_in_an_open_request_refuses_a_second_request(self, store: Store) -> None:
        """A request naming an order that an open request holds creates nothing and says which
        orders are held by which request; its other orders stay free."""
        first = make_request(store, ["A1", "B1"])
        with pytest.raises(OrdersAlreadyOpen) as caught:
            make_request(store, ["C1", "B1", "A1"])
        assert caught.value.claims == (
            OpenOrder("B1", first.id, PENDING),
            OpenOrder("A1", first.id, PENDING),
        )
        assert caught.value.cust_refs == ["B1", "A1"]
        assert "#" in str(caught.value)
        assert store.requests_in_state(PENDING) == [first]
        assert store.open_requests_for("C1") == []
        assert make_request(store, ["C1"]).cust_refs == ["C1"]

    def test_an_executing_request_still_holds_its_orders(self, store: Store) -> None:
        """Approval does not release the orders: they are held until the request finishes."""
        request = make_request(store, ["A1"])
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        with pytest.raises(OrdersAlreadyOpen) as caught:
            make_request(store, ["A1"])
        assert caught.value.claims == (OpenOrder("A1", request.id, EXECUTING),)

    @pytest.mark.parametrize(
        "close",
        ["rejected", "expired", "expire_due", "done", "failed", "unknown"],
    )
    def test_every_final_state_releases_the_orders(self, store: Store, close: str) -> None:
        """Rejected or withdrawn, expired (by a click or the sweep), done, failed or unknown:
        each frees the request's orders for a new request."""
        request = make_request(store, ["A1", "B1"])
        if close in ("rejected", "expired"):
            to = RequestState(close)
            assert store.decide(request.id, to=to, actor=None, at=T0)
        elif close == "expire_due":
            assert [r.id for r in store.expire_due(T0 + HOUR)] == [request.id]
        else:
            assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
            with pytest.raises(OrdersAlreadyOpen):
                make_request(store, ["B1"])
            final = RequestState(close)
            assert store.decide(request.id, to=final, actor=None, at=T0, expect=EXECUTING)
        again = make_request(store, ["B1", "A1"])
        assert again.state is PENDING
        with pytest.raises(OrdersAlreadyOpen) as caught:
            make_request(store, ["A1"])
        assert caught.value.claims == (OpenOrder("A1", again.id, PENDING),)

    def test_threads_racing_for_overlapping_orders_get_one_request_per_order(
        self, store: Store
    ) -> None:
        """Eight threads at once, each asking for two orders of a ring of eight (each order
        wanted by two threads), then all for one shared order: every order goes to one request,
        and every loser is told which request holds its order."""
        for round_ in range(6):
            ring = {i: [f"R{round_}-{i}", f"R{round_}-{(i + 1) % 8}"] for i in range(8)}
            shared = {i: [f"S{round_}", f"S{round_}-own{i}"] for i in range(8)}
            for attempts in (ring, shared):
                outcomes = dict(
                    enumerate(race(lambda i, a=attempts: try_request(store, a[i]), attempts=1))
                )
                won = check_one_winner_per_order(store, attempts, outcomes)
                assert won
                if attempts is shared:
                    assert len(won) == 1
                for request in won:
                    assert store.decide(request.id, to=RequestState.REJECTED, actor=None, at=T0)

    def test_processes_racing_for_one_order_get_one_request(
        self, store: Store, store_url: str
    ) -> None:
        """Four processes opening a request for the same order at once create exactly one; the
        others are told its id."""
        context = multiprocessing.get_context("spawn")
        start, results = context.Barrier(4), context.Queue()
        workers = [
            context.Process(
                target=create_in_process,
                args=(store_url, ["SHARED", f"OWN-{index}"], start, results),
            )
            for index in range(4)
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=90) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert [worker.exitcode for worker in workers] == [0] * 4
        created = [value for kind, value in outcomes if kind == "created"]
        assert len(created) == 1
        assert sorted(kind for kind, _ in outcomes) == ["created"] + ["taken"] * 3
        assert all(value == [("SHARED", created[0])] for kind, value in outcomes if kind == "taken")
        (winner,) = store.requests_in_state(PENDING)
        assert winner.id == created[0] and winner.cust_refs[0] == "SHARED"

    # -- cards
    def test_a_card_lags_until_its_state_is_rendered(self, store: Store) -> None:
        """A posted request's card lags its stored state until it is marked rendered in that
        state; requests without a message never lag, and the oldest come first."""
        unposted = make_request(store, ["U1"])
        posted = make_request(store, ["P1"])
        store.set_message(posted.id, "CHOLDS", "1700000000.000001")
        assert [r.id for r in store.lagging_cards()] == [posted.id]
        store.mark_rendered(posted.id, PENDING, T0)
        assert store.lagging_cards() == []
        stored = store.get_request(posted.id)
        assert stored is not None and stored.rendered_state is PENDING
        assert store.decide(posted.id, to=RequestState.REJECTED, actor="UAPP", at=T0)
        later = make_request(store, ["P2"])
        store.set_message(later.id, "CHOLDS", "1700000000.000002")
        lagging = store.lagging_cards()
        assert [(r.id, r.state, r.rendered_state) for r in lagging] == [
            (posted.id, RequestState.REJECTED, PENDING),
            (later.id, PENDING, None),
        ]
        assert lagging[0].cust_refs == ["P1"]
        assert [r.id for r in store.lagging_cards(limit=1)] == [posted.id]
        store.mark_rendered(posted.id, RequestState.REJECTED, T0 + HOUR)
        assert [r.id for r in store.lagging_cards()] == [later.id]
        assert store.get_request(unposted.id) == unposted

    def test_a_message_is_adopted_only_once_and_only_in_its_channel(self, store: Store) -> None:
        """A request whose post went unanswered takes the ts of its message once, from its own
        channel; a request with a message keeps it."""
        request = make_request(store)
        assert not store.adopt_message(request.id, "COTHER", "1700000000.000009")
        assert store.adopt_message(request.id, "CHOLDS", "1700000000.000001")
        assert not store.adopt_message(request.id, "CHOLDS", "1700000000.000002")
        stored = store.get_request(request.id)
        assert stored is not None and stored.message_ts == "1700000000.000001"

    # -- decisions
    def test_decide_has_one_winner(self, store: Store) -> None:
        """A pending request is decided once; the decider and time are recorded."""
        request = make_request(store)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0 + timedelta(minutes=5))
        assert not store.decide(request.id, to=EXECUTING, actor="UOTHER", at=T0)
        assert not store.decide(request.id, to=RequestState.REJECTED, actor="UOTHER", at=T0)
        stored = store.get_request(request.id)
        assert stored is not None
        assert (stored.state, stored.decided_by) == (EXECUTING, "UAPP")
        assert stored.decided_at == T0 + timedelta(minutes=5)

    @pytest.mark.parametrize("to", [EXECUTING, RequestState.REJECTED])
    def test_decide_refuses_once_the_ttl_has_passed(self, store: Store, to: RequestState) -> None:
        """Approving or rejecting at or after ``expires_at`` never wins against the TTL."""
        request = make_request(store)
        assert not store.decide(request.id, to=to, actor="UAPP", at=T0 + HOUR)
        assert not store.decide(request.id, to=to, actor="UAPP", at=T0 + 2 * HOUR)
        assert store.get_request(request.id) == request

    def test_decide_advances_an_executing_request_with_expect(self, store: Store) -> None:
        """Executing moves to a final state once, keeping the original decider."""
        request = make_request(store)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        later = T0 + 3 * HOUR
        assert store.decide(
            request.id, to=RequestState.DONE, actor=None, at=later, expect=EXECUTING
        )
        assert not store.decide(
            request.id, to=RequestState.FAILED, actor=None, at=later, expect=EXECUTING
        )
        stored = store.get_request(request.id)
        assert stored is not None
        assert (stored.state, stored.decided_by, stored.decided_at) == (
            RequestState.DONE,
            "UAPP",
            T0,
        )

    @pytest.mark.parametrize(
        ("expect", "to"),
        [
            (PENDING, RequestState.FAILED),
            (EXECUTING, RequestState.REJECTED),
            (RequestState.DONE, RequestState.FAILED),
            (RequestState.EXPIRED, EXECUTING),
        ],
    )
    def test_decide_refuses_moves_outside_the_diagram(
        self, store: Store, expect: RequestState, to: RequestState
    ) -> None:
        """A move the state diagram does not have is a caller error, so final states stay final."""
        request = make_request(store)
        with pytest.raises(ValueError, match="cannot move"):
            store.decide(request.id, to=to, actor="UAPP", at=T0, expect=expect)

    def test_expire_due_expires_each_request_once(self, store: Store) -> None:
        """Only overdue pending requests expire, and only the first sweep returns them."""
        due = make_request(store, ["D1"], ttl=HOUR)
        later = make_request(store, ["L1"], ttl=3 * HOUR)
        approved = make_request(store, ["A1"], ttl=HOUR)
        assert store.decide(approved.id, to=EXECUTING, actor="UAPP", at=T0)
        expired = store.expire_due(T0 + HOUR)
        assert [(r.id, r.state, r.cust_refs) for r in expired] == [
            (due.id, RequestState.EXPIRED, ["D1"])
        ]
        assert store.expire_due(T0 + HOUR) == []
        assert not store.decide(due.id, to=EXECUTING, actor="UAPP", at=T0)
        assert [r.id for r in store.requests_in_state(PENDING)] == [later.id]

    # -- items
    def test_start_item_needs_an_executing_request(self, store: Store) -> None:
        """No order is sent for a request that has not been approved."""
        request = make_request(store)
        assert not store.start_item(request.id, "A100", T0)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        assert store.start_item(request.id, "A100", T0 + HOUR)
        stored = store.get_request(request.id)
        assert stored is not None
        assert stored.items[0].state is ItemState.SENDING
        assert stored.items[0].updated_at == T0 + HOUR

    def test_start_item_has_one_winner(self, store: Store) -> None:
        """An item moves to sending once, and never for an unknown order."""
        request = make_request(store)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        assert store.start_item(request.id, "B200", T0)
        assert not store.start_item(request.id, "B200", T0)
        assert not store.start_item(request.id, "NOPE", T0)

    def test_finish_item_records_the_outcome_once(self, store: Store) -> None:
        """A queued or sending item reaches one final state with its detail and Process-IDs."""
        request = make_request(store)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        assert store.start_item(request.id, "A100", T0)
        finish = partial(
            store.finish_item, detail="canceled", process_ids=["p-1", "p-2"], at=T0 + HOUR
        )
        assert finish(request.id, "A100", state=ItemState.CANCELED)
        assert not finish(request.id, "A100", state=ItemState.FAILED)
        assert finish(request.id, "B200", state=ItemState.SKIPPED)
        assert not store.start_item(request.id, "B200", T0)
        stored = store.get_request(request.id)
        assert stored is not None
        first = stored.items[0]
        assert (first.state, first.detail, first.process_ids) == (
            ItemState.CANCELED,
            "canceled",
            ("p-1", "p-2"),
        )
        assert [item.state for item in stored.items[1:]] == [ItemState.SKIPPED, ItemState.QUEUED]

    def test_finish_item_with_expect_changes_only_from_that_state(self, store: Store) -> None:
        """With ``expect=queued`` an item that another runner is already sending is left alone."""
        request = make_request(store)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        assert store.start_item(request.id, "A100", T0)
        skip = partial(store.finish_item, detail="", process_ids=[], at=T0, expect=ItemState.QUEUED)
        assert not skip(request.id, "A100", state=ItemState.SKIPPED)
        assert skip(request.id, "B200", state=ItemState.SKIPPED)
        stored = store.get_request(request.id)
        assert stored is not None
        assert [i.state for i in stored.items][:2] == [ItemState.SENDING, ItemState.SKIPPED]

    def test_look_again_moves_only_a_sending_item_to_checking(self, store: Store) -> None:
        """sending → checking once, keeping the first look's words, Process-IDs and time; a
        checking item finishes only from that state, with ``expect``."""
        request = make_request(store)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        look = partial(store.look_again, detail="still New", process_ids=["p-1"], at=T0 + HOUR)
        assert not look(request.id, "A100")  # queued: nothing was sent yet
        assert store.start_item(request.id, "A100", T0)
        assert look(request.id, "A100")
        assert not look(request.id, "A100")
        stored = store.get_request(request.id)
        assert stored is not None
        first = stored.items[0]
        assert (first.state, first.detail, first.process_ids, first.updated_at) == (
            ItemState.CHECKING,
            "still New",
            ("p-1",),
            T0 + HOUR,
        )
        assert not first.state.is_final and not store.start_item(request.id, "A100", T0)
        finish = partial(store.finish_item, detail="", process_ids=[], at=T0 + 2 * HOUR)
        assert not finish(request.id, "A100", state=ItemState.NOT_CONFIRMED)
        assert finish(request.id, "A100", state=ItemState.CANCELED, expect=ItemState.CHECKING)

    @pytest.mark.parametrize("state", [ItemState.ORDER_CANCELED, ItemState.WOULD_CANCEL])
    def test_the_first_contact_final_states_are_kept(self, store: Store, state: ItemState) -> None:
        """An order canceled in CartRover, and a cancel shadow mode did not send, are final
        states like the others."""
        request = make_request(store, ["A100"])
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        assert store.finish_item(request.id, "A100", state=state, detail="x", process_ids=[], at=T0)
        stored = store.get_request(request.id)
        assert stored is not None and stored.items[0].state is state and state.is_final

    def test_finish_item_refuses_a_state_that_is_not_final(self, store: Store) -> None:
        """Finishing into queued or sending is a caller error."""
        request = make_request(store)
        with pytest.raises(ValueError, match="not a final"):
            store.finish_item(
                request.id, "A100", state=ItemState.SENDING, detail="", process_ids=[], at=T0
            )

    # -- audit trail
    def test_audit_for_request_lists_oldest_first(self, store: Store) -> None:
        """A request's entries come back in time order with every field kept."""
        request = make_request(store)
        second = AuditEntry(T0 + HOUR, "approved", "UAPP", request.id, None, "ok", None)
        first = AuditEntry(T0, "requested", "UREQ", request.id, "A100", "3 orders", "pid-9")
        store.audit(second)
        store.audit(first)
        store.audit(AuditEntry(T0, "requested", "UREQ", request.id + 1))
        found = store.audit_for_request(request.id)
        assert [entry.event for entry in found] == ["requested", "approved"]
        assert found[0] == AuditEntry(
            T0, "requested", "UREQ", request.id, "A100", "3 orders", "pid-9", id=found[0].id
        )
        assert all(entry.id is not None for entry in found)

    def test_audit_for_order_covers_the_order_and_its_requests(self, store: Store) -> None:
        """An order's history has its own entries and its requests' request-level entries,
        newest first, but not other orders' outcomes."""
        request = make_request(store, ["A100", "B200"])
        other = make_request(store, ["Z1"])
        store.audit(AuditEntry(T0, "requested", "UREQ", request.id))
        store.audit(AuditEntry(T0 + HOUR, "outcome", None, request.id, "A100", "canceled"))
        store.audit(AuditEntry(T0 + HOUR, "outcome", None, request.id, "B200", "skipped"))
        store.audit(AuditEntry(T0 + 2 * HOUR, "refused", "UX", None, "A100", "unauthorised"))
        store.audit(AuditEntry(T0, "requested", "UREQ", other.id))
        found = store.audit_for_order("A100")
        assert [(e.event, e.cust_ref) for e in found] == [
            ("refused", "A100"),
            ("outcome", "A100"),
            ("requested", None),
        ]
        assert [e.event for e in store.audit_for_order("A100", limit=2)] == ["refused", "outcome"]
        assert store.audit_for_order("NEVER") == []

    # -- digest subscriptions and claims
    def test_subscribe_creates_and_replaces(self, store: Store) -> None:
        """A channel has one subscription, which subscribing again replaces."""
        first = DigestSubscription("CDIG", "08:30", "Europe/Berlin", "UADM", T0)
        store.subscribe(first)
        assert store.subscription("CDIG") == first
        second = DigestSubscription("CDIG", "09:00", "America/New_York")
        store.subscribe(second)
        assert store.subscription("CDIG") == second
        assert store.subscription("COTHER") is None

    def test_subscriptions_lists_every_channel(self, store: Store) -> None:
        """All subscriptions are listed by channel id."""
        store.subscribe(DigestSubscription("CB", "08:00", "UTC"))
        store.subscribe(DigestSubscription("CA", "07:00", "UTC"))
        assert [s.channel_id for s in store.subscriptions()] == ["CA", "CB"]

    def test_unsubscribe_says_whether_there_was_one(self, store: Store) -> None:
        """Unsubscribing removes the subscription once."""
        store.subscribe(DigestSubscription("CDIG", "08:00", "UTC"))
        assert store.unsubscribe("CDIG")
        assert not store.unsubscribe("CDIG")
        assert store.subscriptions() == []

    def test_claim_digest_has_one_winner(self, store: Store) -> None:
        """A channel's digest for one local date is claimed once; other dates and channels
        are separate claims."""
        assert store.claim_digest("CDIG", DAY, T0)
        assert not store.claim_digest("CDIG", DAY, T0 + HOUR)
        assert store.claim_digest("CDIG", DAY + timedelta(days=1), T0)
        assert store.claim_digest("COTHER", DAY, T0)
        claim = store.digest_claim("CDIG", DAY)
        assert claim is not None
        assert (claim.state, claim.local_date, claim.claimed_at) == ("claimed", DAY, T0)
        assert store.digest_claim("CDIG", DAY - timedelta(days=1)) is None

    def test_a_failed_claim_can_be_claimed_again_once(self, store: Store) -> None:
        """After a failure the date is claimable again, by one caller."""
        assert store.claim_digest("CDIG", DAY, T0)
        store.digest_failed("CDIG", DAY)
        claim = store.digest_claim("CDIG", DAY)
        assert claim is not None
        assert claim.state == "failed"
        assert store.claim_digest("CDIG", DAY, T0 + HOUR)
        assert not store.claim_digest("CDIG", DAY, T0 + HOUR)
        claim = store.digest_claim("CDIG", DAY)
        assert claim is not None
        assert (claim.state, claim.claimed_at) == ("claimed", T0 + HOUR)

    def test_a_posted_digest_keeps_its_ts_and_stays_claimed(self, store: Store) -> None:
        """Once posted, the claim records the message ts and cannot be failed or reclaimed."""
        assert store.claim_digest("CDIG", DAY, T0)
        store.digest_posted("CDIG", DAY, "1700000000.000200")
        store.digest_failed("CDIG", DAY)
        assert not store.claim_digest("CDIG", DAY, T0)
        claim = store.digest_claim("CDIG", DAY)
        assert claim is not None
        assert (claim.state, claim.message_ts) == ("posted", "1700000000.000200")

    # -- leases: who runs an executing request
    def _executing(self, store: Store) -> HoldRequest:
        request = make_request(store)
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        return request

    def test_one_runner_wins_a_lease_however_many_race(self, store: Store) -> None:
        """Eight threads taking one request's lease at once: exactly one wins."""
        request = self._executing(store)
        until = T0 + HOUR
        won = race(lambda i: store.take_lease(request.id, f"R{i}", until, T0), attempts=1)
        assert won.count(True) == 1

    def test_a_live_lease_is_not_taken_again_even_by_its_own_runner(self, store: Store) -> None:
        """Two threads of one process (a click and a resume) cannot both run a request: the
        runner's name does not let it take its own live lease a second time."""
        request = self._executing(store)
        assert store.take_lease(request.id, "A", T0 + HOUR, T0)
        assert not store.take_lease(request.id, "A", T0 + HOUR, T0)
        assert store.take_lease(request.id, "A", T0 + 2 * HOUR, T0 + HOUR)  # once it lapsed

    def test_a_lease_is_taken_over_only_once_it_lapses(self, store: Store) -> None:
        """A live lease keeps others out and shows in soonest_lease_end; a lapsed one is free,
        and its old holder can no longer renew it."""
        request = self._executing(store)
        assert [r.id for r in store.resumable(T0)] == [request.id]
        assert store.take_lease(request.id, "A", T0 + HOUR, T0)
        assert store.resumable(T0) == []
        assert store.soonest_lease_end(T0) == T0 + HOUR
        assert not store.take_lease(request.id, "B", T0 + 2 * HOUR, T0)
        assert store.renew_lease(request.id, "A", T0 + 2 * HOUR, T0)
        assert [r.id for r in store.resumable(T0 + 2 * HOUR)] == [request.id]
        assert store.take_lease(request.id, "B", T0 + 3 * HOUR, T0 + 2 * HOUR)
        assert not store.renew_lease(request.id, "A", T0 + 4 * HOUR, T0 + 2 * HOUR)

    def test_releasing_gives_a_processs_requests_back_at_once(self, store: Store) -> None:
        """A clean stop releases the leases of every runner of the process (``A`` or ``A/…``),
        and only those: not another process's, not one whose name merely starts alike."""
        mine, theirs = self._executing(store), self._executing_other(store)
        alike = self._executing_other(store, ["Z901"])
        assert store.take_lease(mine.id, "A/run1", T0 + HOUR, T0)
        assert store.take_lease(theirs.id, "B/run1", T0 + HOUR, T0)
        assert store.take_lease(alike.id, "AB/run1", T0 + HOUR, T0)
        assert store.release_leases("A") == 1
        assert [r.id for r in store.resumable(T0)] == [mine.id]

    def test_releasing_counts_only_requests_still_executing(self, store: Store) -> None:
        """A request its runner finished keeps that runner's name, but a clean stop neither
        releases nor counts it: the count is of holds actually handed over."""
        done, running = self._executing(store), self._executing_other(store)
        assert store.take_lease(done.id, "A/run1", T0 + HOUR, T0)
        assert store.take_lease(running.id, "A/run2", T0 + HOUR, T0)
        assert store.decide(done.id, to=RequestState.DONE, actor=None, at=T0, expect=EXECUTING)
        assert store.release_leases("A") == 1
        assert store.release_leases("A") == 0

    def test_one_runner_gives_its_lease_up_and_no_one_elses(self, store: Store) -> None:
        """A runner stopping early releases its own lease; another runner of the same process
        cannot release (or renew) a lease that is not its own."""
        request = self._executing(store)
        assert store.take_lease(request.id, "A/run1", T0 + HOUR, T0)
        assert not store.release_lease(request.id, "A/run2")
        assert not store.renew_lease(request.id, "A/run2", T0 + HOUR, T0)
        assert not store.take_lease(request.id, "A/run2", T0 + HOUR, T0)
        assert store.release_lease(request.id, "A/run1")
        assert [r.id for r in store.resumable(T0)] == [request.id]

    def test_an_approval_can_take_the_lease_in_the_same_statement(self, store: Store) -> None:
        """Approved with a runner, a request is that runner's at once: nobody can resume it
        while the lease lives, and only that runner renews it."""
        request = make_request(store)
        assert store.decide(
            request.id, to=EXECUTING, actor="UAPP", at=T0, runner="A/run1", lease_until=T0 + HOUR
        )
        assert store.get_request(request.id).state is EXECUTING  # type: ignore[union-attr]
        assert store.resumable(T0) == []
        assert not store.take_lease(request.id, "B/run1", T0 + HOUR, T0)
        assert store.renew_lease(request.id, "A/run1", T0 + 2 * HOUR, T0)
        assert store.soonest_lease_end(T0) == T0 + 2 * HOUR

    def test_an_approval_that_loses_takes_no_lease(self, store: Store) -> None:
        """A second approval (already decided) changes nothing, its lease included; a lease
        comes only with an approval."""
        request, other = make_request(store), make_request(store, ["Z902"])
        first = partial(store.decide, to=EXECUTING, at=T0, runner="A/run1", lease_until=T0 + HOUR)
        second = partial(store.decide, to=EXECUTING, at=T0, runner="B/run1", lease_until=T0)
        assert first(request.id, actor="UAPP")
        assert not second(request.id, actor="UAPP2")
        assert store.soonest_lease_end(T0) == T0 + HOUR
        with pytest.raises(ValueError, match="approval"):
            store.decide(
                other.id,
                to=RequestState.REJECTED,
                actor="U",
                at=T0,
                runner="A/run1",
                lease_until=T0 + HOUR,
            )

    def test_a_rate_limited_cancel_goes_back_to_queued(self, store: Store) -> None:
        """Only an order being sent can be put back in the queue, with why; it can then be
        started again, once."""
        request = self._executing(store)
        ref = request.cust_refs[0]
        assert not store.requeue_item(request.id, ref, detail="rate limit", at=T0)  # queued
        assert store.start_item(request.id, ref, T0)
        assert store.requeue_item(request.id, ref, detail="waiting for the rate limit", at=T0)
        item = store.get_request(request.id).items[0]  # type: ignore[union-attr]
        assert (item.state, item.detail) == (ItemState.QUEUED, "waiting for the rate limit")
        assert store.start_item(request.id, ref, T0)
        assert not store.start_item(request.id, ref, T0)

    def test_only_executing_requests_are_resumable_or_leased(self, store: Store) -> None:
        """A pending or finished request is never resumable and takes no lease."""
        pending = make_request(store)
        assert not store.take_lease(pending.id, "A", T0 + HOUR, T0)
        assert store.resumable(T0) == []
        assert store.soonest_lease_end(T0) is None

    def test_lease_counts_say_who_runs_the_executing_requests(self, store: Store) -> None:
        """Live leases of this runner, of others, and executing requests nobody runs (never
        leased, released, or lapsed); pending requests are not counted."""
        executing = []
        for refs in (["L1"], ["L2"], ["L3"], ["L4"]):
            request = make_request(store, refs)
            assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
            executing.append(request)
        make_request(store, ["L5"])  # pending
        mine, theirs, lapsing, _never = executing
        assert store.lease_counts("A", T0) == (0, 0, 4)
        assert store.take_lease(mine.id, "A/run-1", T0 + HOUR, T0)  # a run of process A
        assert store.take_lease(theirs.id, "B", T0 + HOUR, T0)
        assert store.take_lease(lapsing.id, "AB/run-2", T0 + HOUR / 2, T0)  # not A's
        assert store.lease_counts("A", T0) == (1, 2, 1)
        assert store.lease_counts("B", T0) == (1, 2, 1)
        assert store.lease_counts("A", T0 + HOUR / 2) == (1, 1, 2)  # AB's has lapsed
        assert store.release_leases("A") == 1
        assert store.lease_counts("A", T0) == (0, 2, 2)

    def _executing_other(self, store: Store, refs: Sequence[str] = ("Z900",)) -> HoldRequest:
        request = make_request(store, list(refs))
        assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
        return request

    # -- the last scan's mark
    def test_the_scan_mark_is_kept_and_replaced(self, store: Store) -> None:
        """No mark at first; a kept mark round-trips (aware UTC); the next one replaces it."""
        assert store.scan_mark() is None
        first = ScanMark(clear_before=T0 - 30 * HOUR, full_at=T0, scanned_at=T0)
        store.keep_scan_mark(first)
        assert store.scan_mark() == first
        later = ScanMark(clear_before=T0 - 2 * HOUR, full_at=T0, scanned_at=T0 + HOUR)
        store.keep_scan_mark(later)
        assert store.scan_mark() == later

    # -- snapshots
    def test_snapshots_round_trip(self, store: Store) -> None:
        """A saved snapshot returns its orders in order with their known creation times (in
        UTC); an unknown id gives None."""
        berlin = timezone(timedelta(hours=1))
        created = {"T-3": datetime(2026, 2, 27, 13, 0, tzinfo=berlin), "T-2": T0 - 3 * HOUR}
        first = store.save_snapshot("CDIG", ["T-3", "T-1", "T-2"], T0, created)
        second = store.save_snapshot("CDIG", [], T0)
        assert first != second
        found = store.snapshot(first)
        assert found is not None and found.cust_refs == ["T-3", "T-1", "T-2"]
        assert found.order_created == created
        assert all(when.utcoffset() == timedelta(0) for when in found.order_created.values())
        assert store.snapshot(second) == Snapshot([])
        assert store.snapshot(max(first, second) + 1) is None

    def test_a_request_keeps_its_orders_creation_times(self, store: Store) -> None:
        """Creation times given for some orders come back on their items; the others have
        none."""
        created = {"B200": T0 - 30 * HOUR}
        request = store.create_request(
            requester="UREQ",
            channel_id="CHOLDS",
            reason="",
            cust_refs=["A100", "B200"],
            created_at=T0,
            expires_at=T0 + HOUR,
            order_created=created,
        )
        for found in (request, store.get_request(request.id)):
            assert found is not None
            assert [item.order_created_at for item in found.items] == [None, created["B200"]]

    # -- lifecycle
    def test_migrations_run_again_without_harm(
        self, store: Store, store_url: str, opened: list[Store]
    ) -> None:
        """Migrating twice, and from a second store on the same database, keeps the data."""
        request = make_request(store)
        store.migrate()
        opened.append(open_store(store_url))
        again = opened[-1]
        again.migrate()
        assert again.get_request(request.id) == request
        assert store.get_request(request.id) == request

    def test_concurrent_first_migrations_all_succeed(self, new_database: NewDatabase) -> None:
        """Several stores migrating one fresh database at once all succeed, and it works."""
        url = new_database()

        def migrate_once(index: int) -> bool:
            store = open_store(url)
            try:
                return make_request(store, [f"M{index}"]).state is PENDING
            finally:
                store.close()

        assert race(migrate_once, threads=4, attempts=1) == [True] * 4

    def test_ping_answers_and_a_closed_store_raises_store_error(self, store: Store) -> None:
        """A live store answers ping; after close every call raises StoreError."""
        store.ping()
        store.close()
        with pytest.raises(StoreError):
            store.get_request(1)
        with pytest.raises(StoreError):
            store.ping()

    # -- races (R1, R27, R28)
    def test_decide_has_one_winner_among_threads(self, store: Store) -> None:
        """Eight threads approving and rejecting one request many times give one decision."""
        for n in range(6):
            request = make_request(store, [f"A{n}", f"B{n}"])

            def attempt(index: int, request_id: int = request.id) -> bool:
                to = EXECUTING if index % 2 else RequestState.REJECTED
                return store.decide(request_id, to=to, actor=f"U{index}", at=T0)

            assert race(attempt).count(True) == 1

    def test_start_item_has_one_winner_among_threads(self, store: Store) -> None:
        """Eight threads starting one item many times give one sender."""
        for n in range(6):
            request = make_request(store, [f"A{n}", f"B{n}"])
            assert store.decide(request.id, to=EXECUTING, actor="UAPP", at=T0)
            start = partial(store.start_item, request.id, f"B{n}", T0)
            assert race(ignoring_index(start)).count(True) == 1

    def test_claim_digest_has_one_winner_among_threads(self, store: Store) -> None:
        """Eight threads claiming one digest, then reclaiming it after a failure, give one
        winner each time."""
        for offset in range(4):
            day = DAY + timedelta(days=offset)
            claim = partial(store.claim_digest, "CDIG", day, T0)
            assert race(ignoring_index(claim)).count(True) == 1
            store.digest_failed("CDIG", day)
            assert race(ignoring_index(claim)).count(True) == 1

    def test_processes_racing_get_one_winner_each(self, store: Store, store_url: str) -> None:
        """Four processes deciding, starting an item and claiming a digest at once get exactly
        one winner for each."""
        request = make_request(store)
        context = multiprocessing.get_context("spawn")
        start, results = context.Barrier(4), context.Queue()
        args = (store_url, request.id, start, results)
        workers = [context.Process(target=race_in_process, args=args) for _ in range(4)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=90) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert [worker.exitcode for worker in workers] == [0] * 4
        assert [sum(column) for column in zip(*outcomes, strict=True)] == [1, 1, 1]
        stored = store.get_request(request.id)
        assert stored is not None
        assert (stored.state, stored.items[0].state) == (EXECUTING, ItemState.SENDING)

    def test_two_threads_of_mixed_writes_never_fail(self, store: Store) -> None:
        """Two threads writing every kind of row at once raise nothing (no locked database,
        no cross-thread connection error)."""

        def writer(index: int) -> int:
            for step in range(25):
                at = T0 + timedelta(minutes=step)
                shared = f"SHARED-{index}"
                request = make_request(store, [f"W{index}-{step}", shared], created_at=at)
                store.audit(AuditEntry(at, "requested", f"U{index}", request.id))
                store.decide(request.id, to=EXECUTING, actor=f"U{index}", at=at)
                store.start_item(request.id, shared, at)
                store.finish_item(
                    request.id, shared, state=ItemState.CANCELED, detail="", process_ids=[], at=at
                )
                store.decide(request.id, to=RequestState.DONE, actor=None, at=at, expect=EXECUTING)
                store.set_message(request.id, "CHOLDS", f"1700000000.{step:06d}")
                store.mark_rendered(request.id, RequestState.DONE, at)
                store.lagging_cards()
                store.claim_digest(f"C{step % 3}", DAY + timedelta(days=step), at)
                store.subscribe(DigestSubscription(f"C{index}", "08:00", "UTC"))
                store.save_snapshot(f"C{index}", ["SHARED"], at)
                store.expire_due(at)
                store.open_requests_for(shared)
            return step + 1

        assert race(writer, threads=2, attempts=1) == [25, 25]
        assert len(store.audit_for_order("SHARED-0", limit=100)) == 25
        assert len(store.audit_for_order("SHARED-1", limit=100)) == 25

    def test_random_sequences_keep_the_invariants(self, new_database: NewDatabase) -> None:
        """Any sequence of decisions, expiry, item steps and restarts keeps one decision per
        request, one send per item and final states final (R36)."""
        run_store_machine(new_database, max_examples=self.machine_examples)


def run_store_machine(new_database: NewDatabase, *, max_examples: int) -> None:
    """R36: random sequences of decisions, expiry, item steps and restarts keep the invariants,
    and no order is ever in two open requests."""
    from hypothesis import HealthCheck, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import (
        Bundle,
        RuleBasedStateMachine,
        invariant,
        multiple,
        rule,
        run_state_machine_as_test,
    )

    moves = [(PENDING, to) for to in (EXECUTING, RequestState.REJECTED, RequestState.EXPIRED)]
    moves += [(EXECUTING, to) for to in (RequestState.DONE, RequestState.FAILED)]
    finals = [state for state in ItemState if state.is_final]

    class Model:
        def __init__(self, request: HoldRequest) -> None:
            self.state = request.state
            self.expires_at = request.expires_at
            self.refs = request.cust_refs
            self.items = dict.fromkeys(self.refs, ItemState.QUEUED)
            self.decided: tuple[str | None, datetime | None] = (None, None)

    class StoreMachine(RuleBasedStateMachine):
        requests = Bundle("requests")

        def __init__(self) -> None:
            super().__init__()
            self.url = new_database()
            self.store = open_store(self.url)
            self.now = T0
            self.model: dict[int, Model] = {}
            self.sent: Counter[tuple[int, str]] = Counter()

        @rule(
            target=requests,
            refs=st.lists(
                st.sampled_from(["A", "B", "C", "D"]), min_size=1, max_size=3, unique=True
            ),
            ttl=st.integers(1, 120),
        )
        def create(self, refs: list[str], ttl: int) -> object:
            held = {
                ref: (rid, m.state)
                for rid, m in self.model.items()
                if m.state in (PENDING, EXECUTING)
                for ref in m.refs
            }
            expected = [OpenOrder(ref, *held[ref]) for ref in refs if ref in held]
            if expected:
                with pytest.raises(OrdersAlreadyOpen) as taken:
                    make_request(self.store, refs, created_at=self.now)
                assert list(taken.value.claims) == expected
                return multiple()
            request = make_request(
                self.store, refs, created_at=self.now, ttl=timedelta(minutes=ttl)
            )
            self.model[request.id] = Model(request)
            return request.id

        @rule(minutes=st.integers(1, 90))
        def wait(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)

        @rule(request_id=requests, move=st.sampled_from(moves), actor=st.sampled_from(["U1", "U2"]))
        def decide(
            self, request_id: int, move: tuple[RequestState, RequestState], actor: str
        ) -> None:
            expect, to = move
            model = self.model[request_id]
            in_time = to is RequestState.EXPIRED or model.expires_at > self.now
            allowed = model.state is expect and (expect is not PENDING or in_time)
            won = self.store.decide(request_id, to=to, actor=actor, at=self.now, expect=expect)
            assert won == allowed
            if won:
                model.state = to
                if expect is PENDING:
                    model.decided = (actor, self.now)

        @rule()
        def expire(self) -> None:
            due = {
                rid
                for rid, m in self.model.items()
                if m.state is PENDING and m.expires_at <= self.now
            }
            assert {r.id for r in self.store.expire_due(self.now)} == due
            for rid in due:
                self.model[rid].state = RequestState.EXPIRED
                self.model[rid].decided = (None, self.now)

        @rule(request_id=requests, index=st.integers(0, 2))
        def start_item(self, request_id: int, index: int) -> None:
            model = self.model[request_id]
            ref = model.refs[index % len(model.refs)]
            allowed = model.state is EXECUTING and model.items[ref] is ItemState.QUEUED
            won = self.store.start_item(request_id, ref, self.now)
            assert won == allowed
            if won:
                model.items[ref] = ItemState.SENDING
                self.sent[(request_id, ref)] += 1

        @rule(request_id=requests, index=st.integers(0, 2), state=st.sampled_from(finals))
        def finish_item(self, request_id: int, index: int, state: ItemState) -> None:
            model = self.model[request_id]
            ref = model.refs[index % len(model.refs)]
            allowed = not model.items[ref].is_final
            won = self.store.finish_item(
                request_id, ref, state=state, detail="d", process_ids=["p"], at=self.now
            )
            assert won == allowed
            if won:
                model.items[ref] = state

        @rule()
        def restart(self) -> None:
            self.store.close()
            self.store = open_store(self.url)

        @invariant()
        def store_matches_the_model(self) -> None:
            assert all(count <= 1 for count in self.sent.values())
            open_refs = Counter(
                ref
                for m in self.model.values()
                if m.state in (PENDING, EXECUTING)
                for ref in m.refs
            )
            assert all(count == 1 for count in open_refs.values())
            for request_id, model in self.model.items():
                stored = self.store.get_request(request_id)
                assert stored is not None
                assert stored.state is model.state
                assert (stored.decided_by, stored.decided_at) == model.decided
                assert {item.cust_ref: item.state for item in stored.items} == model.items

        def teardown(self) -> None:
            self.store.close()

    run_state_machine_as_test(
        StoreMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

"""The store contract for what the Slack surfaces keep (migration 6): a rejection's reason, a
requester's requests, handled event ids, App Home views, digest counts and heartbeats. Mixed into
the backend test classes beside :class:`tests.store_contract.StoreContract`, so it runs
unchanged on SQLite and PostgreSQL (those provide the ``store`` and ``store_url`` fixtures)."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from typing import Any

from bot.store import DigestPost, HomeView, RequestState, Store, open_store
from tests.store_contract import HOUR, T0, ignoring_index, make_request, race

EVENT = "Ev0123ABCD"


def claim_in_process(url: str, event_id: str, start: Any, results: Any) -> None:
    """One contender of the multi-process event claim."""
    store = open_store(url)
    try:
        start.wait(30)
        results.put(store.claim_event(event_id, T0, T0 + HOUR))
    finally:
        store.close()


class SurfaceStoreContract:
    # -- a decision's reason, a requester's requests
    def test_a_rejection_keeps_its_reason_with_the_decision(self, store: Store) -> None:
        """The reason is written by the deciding statement and read back with the request; a
        losing decision writes nothing."""
        request = make_request(store)
        assert store.decide(
            request.id, to=RequestState.REJECTED, actor="UAPP", at=T0, reason="not a test"
        )
        assert not store.decide(
            request.id, to=RequestState.REJECTED, actor="UOTHER", at=T0, reason="mine"
        )
        stored = store.get_request(request.id)
        assert stored is not None
        assert (stored.decided_by, stored.decision_reason) == ("UAPP", "not a test")
        assert store.requests_in_state(RequestState.REJECTED)[0].decision_reason == "not a test"

    def test_a_request_without_a_decision_has_no_reason(self, store: Store) -> None:
        """Pending, expired and approved requests read back with an empty reason."""
        pending = make_request(store, ["P1"])
        expiring = make_request(store, ["E1"])
        store.decide(expiring.id, to=RequestState.EXPIRED, actor=None, at=T0)
        for request_id in (pending.id, expiring.id):
            stored = store.get_request(request_id)
            assert stored is not None and stored.decision_reason == ""

    def test_requests_by_lists_a_requester_s_newest_first_with_a_limit(self, store: Store) -> None:
        """Only that requester's requests, newest first, at most ``limit``, with their items."""
        for n in range(4):
            make_request(store, [f"A{n}", f"B{n}"], created_at=T0 + n * HOUR, requester="UME")
        make_request(store, ["OTHER"], requester="UYOU")
        found = store.requests_by("UME", 3)
        assert [r.cust_refs for r in found] == [["A3", "B3"], ["A2", "B2"], ["A1", "B1"]]
        assert store.requests_by("UNOBODY") == []

    # -- Events API deliveries
    def test_an_event_id_is_claimed_once(self, store: Store) -> None:
        """The first claim wins; a repeat while the claim lasts does not."""
        assert store.claim_event(EVENT, T0, T0 + HOUR)
        assert not store.claim_event(EVENT, T0 + timedelta(minutes=5), T0 + 2 * HOUR)
        assert store.claim_event("Ev0OTHER", T0, T0 + HOUR)

    def test_an_expired_claim_is_taken_over_even_before_the_sweep(self, store: Store) -> None:
        """Once its memory has expired an event id can be claimed again, swept or not."""
        assert store.claim_event(EVENT, T0, T0 + HOUR)
        assert store.claim_event(EVENT, T0 + HOUR, T0 + 2 * HOUR)
        assert not store.claim_event(EVENT, T0 + HOUR, T0 + 3 * HOUR)

    def test_the_sweep_forgets_only_expired_claims(self, store: Store) -> None:
        """forget_events deletes claims expired at or before now and keeps the rest."""
        store.claim_event("Ev0OLD", T0, T0 + HOUR)
        store.claim_event("Ev0NEW", T0, T0 + 3 * HOUR)
        assert store.forget_events(T0 + HOUR) == 1
        assert store.claim_event("Ev0OLD", T0, T0 + HOUR)  # forgotten: a new claim
        assert not store.claim_event("Ev0NEW", T0 + HOUR, T0 + 4 * HOUR)

    def test_one_winner_per_event_across_threads(self, store_url: str, store: Store) -> None:
        """Eight threads claiming one event id four times each: exactly one claim wins."""
        won = race(ignoring_index(lambda: store.claim_event(EVENT, T0, T0 + HOUR)))
        assert won.count(True) == 1

    def test_one_winner_per_event_across_processes(self, store_url: str, store: Store) -> None:
        """Four processes claiming one event id at once: exactly one wins (R23)."""
        context = multiprocessing.get_context("spawn")
        start, results = context.Event(), context.Queue()
        processes = [
            context.Process(target=claim_in_process, args=(store_url, EVENT, start, results))
            for _ in range(4)
        ]
        for process in processes:
            process.start()
        start.set()
        outcomes = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(30)
        assert sorted(outcomes) == [False, False, False, True]

    # -- the App Home
    def test_home_views_keep_when_opened_and_what_was_published(self, store: Store) -> None:
        """Opening records the time; a publish records the view and its hash; opening again
        keeps the view."""
        assert store.home_view("UME") is None
        store.home_opened("UME", T0)
        assert store.home_view("UME") == HomeView("UME", T0)
        store.home_published("UME", "V1", "h1", T0 + HOUR)
        store.home_opened("UME", T0 + 2 * HOUR)
        assert store.home_view("UME") == HomeView("UME", T0 + 2 * HOUR, "V1", "h1", T0 + HOUR)

    def test_home_viewers_are_the_recent_ones_most_recent_first(self, store: Store) -> None:
        """Viewers who opened at or after ``since``, newest first, at most ``limit``."""
        for n, user in enumerate(["U1", "U2", "U3", "U4"]):
            store.home_opened(user, T0 + n * HOUR)
        assert store.home_viewers(T0 + HOUR, 2) == ["U4", "U3"]
        assert store.home_viewers(T0 + HOUR, 10) == ["U4", "U3", "U2"]
        assert store.home_viewers(T0 + 9 * HOUR, 10) == []

    # -- digests, heartbeats
    def test_each_channel_keeps_its_last_digest(self, store: Store) -> None:
        """A newer post replaces the channel's last one; other channels keep theirs."""
        store.record_digest(DigestPost("C1", T0, "1.1", 3, 1))
        store.record_digest(DigestPost("C2", T0, "1.2", 0, None))
        store.record_digest(DigestPost("C1", T0 + HOUR, "1.3", 5, 0))
        assert store.last_digests() == {
            "C1": DigestPost("C1", T0 + HOUR, "1.3", 5, 0),
            "C2": DigestPost("C2", T0, "1.2", 0, None),
        }

    def test_a_heartbeat_keeps_the_last_beat(self, store: Store) -> None:
        """beat records the latest time per name; an unknown name has none."""
        assert store.heartbeat("maintenance") is None
        store.beat("maintenance", T0)
        store.beat("maintenance", T0 + HOUR)
        assert store.heartbeat("maintenance") == T0 + HOUR

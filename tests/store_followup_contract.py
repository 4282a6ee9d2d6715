"""The store contract for following waiting requests up (migration 9): each order's facts kept
for the card, the approvers reminded once, the orders' last re-read, a card marked outdated, and
the bot's own ending of a request whose orders all moved on. Mixed into the backend test classes
beside :class:`tests.store_contract.StoreContract`, so it runs on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.store import ItemState, RequestState, Store
from bot.store.facts import OrderFacts
from tests.store_contract import HOUR, T0, ignoring_index, make_request, race

FACTS = OrderFacts("Shopify", "San Antonio", "TX", 3, None)


class FollowUpStoreContract:
    def test_each_order_keeps_the_facts_its_card_shows(self, store: Store) -> None:
        """Facts given when the request is opened come back with each item, as given; an order
        given none has none."""
        test = OrderFacts("Test Store", "Reno", "NV", 1, "source Test Store")
        request = store.create_request(
            requester="UREQ",
            channel_id="CHOLDS",
            reason="",
            cust_refs=["SHOP-1", "TS-1", "X-1"],
            created_at=T0,
            expires_at=T0 + HOUR,
            order_facts={"SHOP-1": FACTS, "TS-1": test, "NOT-MINE": test},
        )
        stored = store.get_request(request.id)
        assert stored is not None
        assert [item.facts for item in stored.items] == [FACTS, test, None]
        assert [item.facts for item in request.items] == [FACTS, test, None]
        assert stored.items[0].facts is not None and not stored.items[0].facts.is_test

    def test_a_reminder_is_claimed_once_and_only_while_pending(self, store: Store) -> None:
        """However many threads try, one claims the reminder; a decided request has none."""
        request = make_request(store)
        won = race(ignoring_index(lambda: store.claim_reminder(request.id, T0)))
        assert won.count(True) == 1
        stored = store.get_request(request.id)
        assert stored is not None and stored.reminded_at == T0
        decided = make_request(store, ["D400"])
        assert store.decide(decided.id, to=RequestState.REJECTED, actor="UAPP", at=T0)
        assert not store.claim_reminder(decided.id, T0)

    def test_a_follow_up_is_recorded_and_an_outdated_card_lags(self, store: Store) -> None:
        """The last re-read is kept; a card marked outdated is found by the sweep until it is
        rendered again."""
        request = make_request(store)
        store.set_message(request.id, "CHOLDS", "1.000001")
        store.mark_rendered(request.id, RequestState.PENDING, T0)
        assert store.lagging_cards() == []
        store.mark_followed(request.id, T0 + HOUR)
        store.card_outdated(request.id)
        (lagging,) = store.lagging_cards()
        assert lagging.followed_at == T0 + HOUR and lagging.rendered_state is None
        store.mark_rendered(request.id, RequestState.PENDING, T0 + HOUR)
        assert store.lagging_cards() == []

    def test_the_bot_ends_a_request_whose_orders_all_moved_on(self, store: Store) -> None:
        """A pending request's orders can be set aside while it waits; the bot then ends it as
        done, by nobody, and its orders may be requested again."""
        request = make_request(store, ["A100"])
        assert store.finish_item(
            request.id, "A100", state=ItemState.SKIPPED, detail="went to the WMS",
            process_ids=(), at=T0, expect=ItemState.QUEUED,
        )  # fmt: skip
        assert store.decide(request.id, to=RequestState.DONE, actor=None, at=T0 + HOUR)
        stored = store.get_request(request.id)
        assert stored is not None
        assert (stored.state, stored.decided_by, stored.decided_at) == (
            RequestState.DONE,
            None,
            T0 + HOUR,
        )
        assert make_request(store, ["A100"]).state is RequestState.PENDING

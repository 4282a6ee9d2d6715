"""Migration 5 on SQLite and PostgreSQL: the notice of a request's outcome in its card's thread is
claimed by one caller, and a digest subscription knows whether configuration or a person made it.

One suite (:class:`NoticesContract`) runs unchanged on a real SQLite file and on PostgreSQL, like
the main store contract; the upgrade tests build a database at migration 4 first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.store import DigestSubscription, RequestState, Store, open_store
from bot.store.migrations import MIGRATIONS, SCHEMA_MIGRATIONS, apply
from bot.store.records import Notice
from bot.store.sqlite import TIME_FORMAT
from tests.store_contract import HOUR, T0, make_request, race

NewDatabase = Callable[[], str]
Execute = Callable[[str, tuple[object, ...]], Any]
BEFORE_5 = [m for m in MIGRATIONS if m.version < 5]


def closed_with_card(store: Store, refs: tuple[str, ...] = ("A100",)) -> int:
    """A request that was posted and then rejected: its outcome is to be told."""
    request = make_request(store, refs)
    store.set_message(request.id, "CHOLDS", f"1700000000.{request.id:06d}")
    assert store.decide(request.id, to=RequestState.REJECTED, actor="UAPP", at=T0)
    return request.id


class NoticesContract:
    """What every store does with outcome notices and subscription origins."""

    @pytest.fixture
    def store(self, new_database: NewDatabase) -> Iterator[Store]:
        store = open_store(new_database())
        yield store
        store.close()

    def legacy_database(self, new_database: NewDatabase) -> tuple[str, Execute]:
        """A fresh database at migration 4, and a way to run statements on it."""
        raise NotImplementedError

    def instant(self, when: datetime) -> object:
        """``when`` as this database keeps it."""
        raise NotImplementedError

    # -- outcome notices
    def test_only_a_closed_request_with_a_card_can_have_its_notice_claimed(
        self, store: Store
    ) -> None:
        """A pending request, or a closed one that never had a card, has no thread to tell in."""
        pending = make_request(store, ["P1"])
        store.set_message(pending.id, "CHOLDS", "1700000000.000001")
        assert not store.claim_notice(pending.id, T0, retry_before=T0)
        no_card = make_request(store, ["N1"])
        store.decide(no_card.id, to=RequestState.REJECTED, actor=None, at=T0)
        assert not store.claim_notice(no_card.id, T0, retry_before=T0)
        closed = closed_with_card(store, ("C1",))
        assert store.claim_notice(closed, T0, retry_before=T0)

    def test_one_caller_among_threads_claims_a_notice(self, store: Store) -> None:
        """However many threads try at once, exactly one gets to post the notice."""
        request_id = closed_with_card(store)
        won = race(lambda _: store.claim_notice(request_id, T0, retry_before=T0 - HOUR))
        assert won.count(True) == 1

    def test_a_posted_notice_is_never_claimed_again(self, store: Store) -> None:
        """Once posted, no later claim (even long after) wins."""
        request_id = closed_with_card(store)
        assert store.claim_notice(request_id, T0, retry_before=T0)
        store.notice_done(request_id, Notice.POSTED, T0)
        later = T0 + 100 * HOUR
        assert not store.claim_notice(request_id, later, retry_before=later)
        assert store.untold(10, retry_before=later) == []

    def test_a_failed_notice_is_claimed_again_only_after_the_wait(self, store: Store) -> None:
        """A notice Slack failed to take comes back once its failure is older than the cutoff;
        one Slack refused for good never does."""
        failed, refused = closed_with_card(store, ("F1",)), closed_with_card(store, ("R1",))
        for request_id, how in ((failed, Notice.FAILED), (refused, Notice.REFUSED)):
            assert store.claim_notice(request_id, T0, retry_before=T0)
            store.notice_done(request_id, how, T0)
        assert store.untold(10, retry_before=T0 - HOUR) == []
        assert not store.claim_notice(failed, T0, retry_before=T0 - HOUR)
        assert [r.id for r in store.untold(10, retry_before=T0)] == [failed]
        assert store.claim_notice(failed, T0 + HOUR, retry_before=T0)
        assert not store.claim_notice(refused, T0 + HOUR, retry_before=T0 + HOUR)

    def test_untold_lists_closed_requests_oldest_first_within_the_limit(self, store: Store) -> None:
        """The sweep's list: closed, carded, untold requests, oldest first, at most ``limit``."""
        first, second, third = (closed_with_card(store, (f"U{i}",)) for i in range(3))
        make_request(store, ["OPEN1"])
        assert [r.id for r in store.untold(2, retry_before=T0)] == [first, second]
        store.claim_notice(first, T0, retry_before=T0)
        assert [r.id for r in store.untold(5, retry_before=T0)] == [second, third]

    # -- who made a subscription
    def test_a_subscription_keeps_who_made_it_and_the_configuration_seen(
        self, store: Store
    ) -> None:
        """from_config and config_value round-trip; a person's change keeps the configuration
        last seen, and saw_config records a new one."""
        made = DigestSubscription(
            "CDIG", "09:00", "UTC", created_at=T0, from_config=True, config_value="09:00 UTC"
        )
        store.subscribe(made)
        assert store.subscription("CDIG") == made
        changed = DigestSubscription("CDIG", "08:00", "Europe/Berlin", "UPERSON", T0 + HOUR)
        store.subscribe(changed)
        found = store.subscription("CDIG")
        assert found is not None and not found.from_config
        assert (found.local_time, found.created_by, found.config_value) == (
            "08:00",
            "UPERSON",
            "09:00 UTC",
        )
        store.saw_config("CDIG", "10:00 UTC")
        assert store.subscriptions()[0].config_value == "10:00 UTC"

    # -- upgrading to migration 5
    def test_upgrading_tells_nothing_about_requests_closed_before(
        self, new_database: NewDatabase
    ) -> None:
        """Requests closed before migration 5 get no notice after it; open ones still will, and
        a subscription without a person is known to come from configuration."""
        url, execute = self.legacy_database(new_database)
        # Rows as the bot of migration 4 wrote them (today's store writes columns added later).
        at, later = self.instant(T0), self.instant(T0 + HOUR)
        insert = (
            "INSERT INTO hold_requests (requester, channel_id, reason, state, message_ts,"
            " decided_by, decided_at, created_at, expires_at) VALUES (?, 'CHOLDS', 'r', ?, ?, ?, ?,"
            " ?, ?)"
        )
        execute(insert, ("UREQ", "rejected", "1700000000.000001", "UAPP", at, at, later))
        execute(insert, ("UREQ", "pending", "1700000000.000099", None, None, at, later))
        closed, still_open_id = 1, 2
        execute("INSERT INTO digest_subscriptions VALUES ('CCFG', '09:00', 'UTC', NULL, NULL)", ())
        execute("INSERT INTO digest_subscriptions VALUES ('CPPL', '08:00', 'UTC', 'U1', NULL)", ())
        store = open_store(url)
        try:
            assert store.untold(10, retry_before=T0) == []
            assert not store.claim_notice(closed, T0, retry_before=T0)
            assert store.decide(still_open_id, to=RequestState.EXPIRED, actor=None, at=T0)
            assert [r.id for r in store.untold(10, retry_before=T0)] == [still_open_id]
            origins = {s.channel_id: s.from_config for s in store.subscriptions()}
            assert origins == {"CCFG": True, "CPPL": False}
        finally:
            store.close()

    def test_a_store_not_yet_migrated_still_reads_subscriptions(
        self, new_database: NewDatabase
    ) -> None:
        """``check`` reads without migrating: a database at migration 4 still answers."""
        url, execute = self.legacy_database(new_database)
        execute("INSERT INTO digest_subscriptions VALUES ('CCFG', '09:00', 'UTC', NULL, NULL)", ())
        store = open_store(url, migrate=False)
        try:
            found = store.subscription("CCFG")
            assert found is not None and found.from_config and found.config_value is None
        finally:
            store.close()


class TestSqliteNotices(NoticesContract):
    @pytest.fixture
    def new_database(self, tmp_path: Path) -> NewDatabase:
        numbers = itertools.count()
        return lambda: f"sqlite:///{tmp_path / f'store-{next(numbers)}.db'}"

    def legacy_database(self, new_database: NewDatabase) -> tuple[str, Execute]:
        import sqlite3

        url = new_database()
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute(SCHEMA_MIGRATIONS)
            apply("sqlite", conn.execute, (), BEFORE_5)

        def execute(statement: str, params: tuple[object, ...]) -> None:
            with sqlite3.connect(path) as conn:
                conn.execute(statement, params)

        return url, execute

    def instant(self, when: datetime) -> object:
        return when.astimezone(UTC).strftime(TIME_FORMAT)


@pytest.mark.postgres
class TestPostgresNotices(NoticesContract):
    @pytest.fixture
    def new_database(self, postgres_schemas: NewDatabase) -> NewDatabase:
        return postgres_schemas

    def legacy_database(self, new_database: NewDatabase) -> tuple[str, Execute]:
        import psycopg

        from bot.store.relational import pg

        url = new_database()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA_MIGRATIONS)
            apply("postgres", conn.execute, (), BEFORE_5)

        def execute(statement: str, params: tuple[object, ...]) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(pg(statement), params)

        return url, execute

    def instant(self, when: datetime) -> object:
        return when

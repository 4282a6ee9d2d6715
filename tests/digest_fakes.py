"""Small fakes for the digest's scheduling tests: a recording poster, an in-memory listing, and a
``Deps`` bundle around a real SQLite file."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cartrover.models import CancelReply, Order
from bot.cartrover.service import OrderService
from bot.deps import Deps
from bot.holds.approvers import Approvers
from bot.home.publishing import Refresher
from bot.settings import Settings
from bot.slack.webapi import SlackFailed
from bot.store import open_store
from bot.store.base import Store
from bot.times import FrozenClock
from bot.workers import Workers


class RecordingPoster:
    """A Poster that records posts; ``fail_next`` scripts Slack errors for a channel's posts."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, list[dict[str, Any]], datetime | None]] = []
        self.clock: FrozenClock | None = None
        self._failures: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def fail_next(self, channel: str, *errors: str) -> None:
        with self._lock:
            self._failures.setdefault(channel, []).extend(errors)

    def post(
        self,
        channel: str,
        text: str,
        blocks: Sequence[dict[str, Any]],
        *,
        thread_ts: str | None = None,
    ) -> str:
        with self._lock:
            if self._failures.get(channel):
                raise SlackFailed("chat.postMessage", self._failures[channel].pop(0))
            when = self.clock.now() if self.clock else None
            self.posts.append((channel, text, list(blocks), when))
            return f"1700000000.{len(self.posts):06d}"

    def update(self, channel: str, ts: str, text: str, blocks: Sequence[dict[str, Any]]) -> None:
        return None

    def direct(self, user: str, text: str, blocks: Sequence[dict[str, Any]]) -> str:
        return self.post(f"D-{user}", text, blocks)

    def ephemeral(
        self, channel: str, user: str, text: str, blocks: Sequence[dict[str, Any]] = ()
    ) -> None:
        return None

    def channels(self) -> list[str]:
        with self._lock:
            return [post[0] for post in self.posts]


class StaleOrders:
    """CartRover's listing over a fixed list of stale New orders, counting listings."""

    def __init__(self, now: datetime, test_orders: int = 3, non_test: int = 1) -> None:
        created = (now - timedelta(hours=48)).isoformat()
        records = [
            {"cust_ref": f"TS-{n}", "order_source": "Test Store", "cust_po_no": str(n)}
            for n in range(test_orders)
        ] + [{"cust_ref": f"SHOP-{n}", "order_source": "Shopify"} for n in range(non_test)]
        self.orders = [
            Order.from_api(
                {**r, "order_status": "new", "sending_canceled": "N", "created_date_time": created}
            )
            for r in records
        ]
        self.listings = 0
        self.failing = 0
        self.rendezvous: threading.Barrier | None = None  # hold listings until all arrive
        self.gate: threading.Event | None = None  # hold listings until it is set

    def iter_orders(self, status: str = "new", **query: Any) -> list[Order]:
        from bot.cartrover.errors import Unavailable

        self.listings += 1
        if self.rendezvous is not None:
            self.rendezvous.wait(5)
        if self.gate is not None:
            self.gate.wait(5)
        if self.failing:
            self.failing -= 1
            raise Unavailable("CartRover answered 503")
        return list(self.orders)

    def get_order(self, ref: str) -> Order:
        raise AssertionError("the digest never reads single orders")

    def cancel_sending(self, ref: str) -> CancelReply:
        raise AssertionError("the digest never cancels")


def make_deps(
    db: Path,
    clock: FrozenClock,
    *,
    poster: RecordingPoster | None = None,
    cartrover: OrderService | None = None,
    store: Store | None = None,
    **env: str,
) -> Deps:
    settings = Settings.load(
        {"DATABASE_URL": f"sqlite:///{db}", "TEST_ORDER_SOURCES": "Test Store", **env}
    )
    poster = poster or RecordingPoster()
    poster.clock = clock
    return Deps(
        settings=settings,
        clock=clock,
        cartrover=cartrover or StaleOrders(clock.now()),
        store=store or open_store(settings.database_url),
        poster=poster,
        approvers=Approvers(()),
        workers=Workers(2),
        home=Refresher(),
    )

"""The fakes for tests that run the use cases without HTTP: a recording Slack poster, CartRover's
orders in memory (a stale listing for the digest; orders and their cancel call for holds), and a
``Deps`` bundle around a real SQLite file. The end-to-end tests use the real loopback servers
instead (``tests/harness.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cartrover.errors import CartRoverError, OrderNotFound, Unavailable, Withheld
from bot.cartrover.models import CancelOutcome, CancelReply, Order
from bot.cartrover.service import OrderService
from bot.deps import Deps
from bot.holds.approvers import Approvers
from bot.home.publishing import Refresher
from bot.settings import Settings
from bot.slack.webapi import SlackFailed
from bot.store import open_store
from bot.store.contracts import Store
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

    def cancel_sending(
        self, ref: str, *, go_ahead: Callable[[], bool] | None = None
    ) -> CancelReply:
        raise AssertionError("the digest never cancels")


class HeldOrders:
    """CartRover's orders and its cancel-sending call (``wms_cancel``) as ``docs/cartrover.md``
    describes them, implementing :class:`~bot.cartrover.service.OrderService`: reads answer what
    the orders are now; an accepted cancel sets ``sending_canceled`` to ``"Y"``. What is unknown or
    goes wrong is a switch, per order:

    - ``answers[ref]``: "accepted" (the default), "refused", "unclear", or a ``CartRoverError``
      that the call raises instead of answering;
    - ``acts[ref]``: whether CartRover acted on the cancel; by default only when it accepted (an
      unclear answer or a lost connection may hide either);
    - ``unreadable``: orders whose reads fail (CartRover answers 503);
    - ``on_cancel``: called with the order's reference as each cancel arrives, before it acts.
    """

    def __init__(self, *orders: Order) -> None:
        self.orders = {order.cust_ref: order for order in orders}
        self.answers: dict[str, str | CartRoverError] = {}
        self.acts: dict[str, bool] = {}
        self.unreadable: set[str] = set()
        self.on_cancel: Callable[[str], None] | None = None
        self.cancels: list[str] = []
        self.reads: list[str] = []

    @staticmethod
    def new(ref: str, created: datetime, **fields: str) -> Order:
        """A New order whose sending is not canceled (``fields`` override the API's record)."""
        record = {"cust_ref": ref, "order_status": "new", "sending_canceled": "N", **fields}
        return Order.from_api({**record, "created_date_time": created.isoformat()})

    def get_order(self, ref: str) -> Order:
        self.reads.append(ref)
        if ref in self.unreadable:
            raise Unavailable("CartRover answered 503", http_status=503)
        if ref not in self.orders:
            raise OrderNotFound(f"Order {ref} not found")
        return self.orders[ref]

    def get_orders(
        self, refs: Sequence[str], created: Mapping[str, datetime] | None = None
    ) -> Mapping[str, Order | CartRoverError]:
        found: dict[str, Order | CartRoverError] = {}
        for ref in refs:
            try:
                found[ref] = self.get_order(ref)
            except CartRoverError as exc:
                found[ref] = exc
        return found

    def iter_orders(self, status: str = "new", **query: Any) -> Iterable[Order]:
        return [order for order in self.orders.values() if order.order_status == status]

    def cancel_sending(
        self, ref: str, *, go_ahead: Callable[[], bool] | None = None
    ) -> CancelReply:
        if go_ahead is not None and not go_ahead():  # as the client: asked just before it leaves
            raise Withheld("not sent: withheld just before it would have left")
        self.cancels.append(ref)
        if self.on_cancel is not None:
            self.on_cancel(ref)
        answer = self.answers.get(ref, "accepted")
        if self.acts.get(ref, answer == "accepted") and ref in self.orders:
            order = self.orders[ref]
            self.orders[ref] = Order.from_api(
                {
                    "cust_ref": ref,
                    "order_status": order.order_status,
                    "sending_canceled": "Y",
                    "created_date_time": order.created_at.isoformat() if order.created_at else "",
                }
            )
        if isinstance(answer, CartRoverError):
            raise answer
        if answer == "accepted":
            raw = '{"response":{"success":true,"message":"Sending canceled"}}'
            return CancelReply(CancelOutcome.ACCEPTED, "Sending canceled", "PID-1", 200, raw)
        if answer == "refused":
            raw = '{"response":{"success":false,"message":"Order cannot be canceled"}}'
            return CancelReply(CancelOutcome.REFUSED, "Order cannot be canceled", "PID-1", 200, raw)
        return CancelReply(CancelOutcome.UNCLEAR, "", "PID-1", 200, "{}")

    def cancel_count(self, ref: str) -> int:
        return self.cancels.count(ref)


# What make_deps opened, for tests/conftest.py to close after each test (close_made_deps).
_MADE: list[tuple[Workers, Store]] = []


def close_made_deps() -> None:
    """Stop the workers and close the store of every Deps that make_deps made: a store left to
    the garbage collector is an unclosed database, a ResourceWarning (an error here) on 3.13."""
    while _MADE:
        workers, store = _MADE.pop()
        workers.shutdown(10)
        store.close()


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
    store = store or open_store(settings.database_url)
    workers = Workers(2)
    _MADE.append((workers, store))
    return Deps(
        settings=settings,
        clock=clock,
        cartrover=cartrover or StaleOrders(clock.now()),
        holds=store,
        digests=store,
        surfaces=store,
        poster=poster,
        approvers=Approvers(()),
        workers=workers,
        home=Refresher(),
    )

"""The collaborators handed to handlers and jobs, as one frozen bundle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.cartrover.errors import CartRoverError
from bot.cartrover.models import CancelReply, Order
from bot.holds.approvers import Approvers
from bot.settings import Settings
from bot.slackio import Poster
from bot.store.base import Store
from bot.times import Clock
from bot.workers import Workers

__all__ = ["Deps", "OrderService"]


class OrderService(Protocol):
    """The CartRover calls the bot makes (implemented by ``CartRoverClient``)."""

    def get_order(self, ref: str) -> Order: ...

    def get_orders(
        self, refs: Sequence[str], created: Mapping[str, datetime] | None = None
    ) -> Mapping[str, Order | CartRoverError]: ...

    def iter_orders(
        self,
        status: str = "new",
        *,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        order_source: str | None = None,
        limit: int = 100,
    ) -> Iterable[Order]: ...

    def cancel_sending(self, ref: str) -> CancelReply: ...


@dataclass(frozen=True)
class Deps:
    settings: Settings
    clock: Clock
    cartrover: OrderService
    store: Store
    poster: Poster
    approvers: Approvers
    workers: Workers
    team_id: str | None = None  # the workspace auth.test reported for SLACK_BOT_TOKEN (R32)
    app_id: str | None = None

"""What the bot asks of CartRover, as a protocol: the use cases depend on this, not on the HTTP
client (``CartRoverClient`` implements it; tests may bring a stand-in)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bot.cartrover.errors import CartRoverError
from bot.cartrover.models import CancelReply, Order

__all__ = ["OrderService"]


class OrderService(Protocol):
    """The CartRover calls the bot makes."""

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

    def cancel_sending(
        self, ref: str, *, go_ahead: Callable[[], bool] | None = None
    ) -> CancelReply:
        """Send ``wms_cancel`` once. ``go_ahead`` is asked just before the request leaves;
        when it says no, nothing is sent and :class:`~bot.cartrover.errors.Withheld` is raised."""
        ...

"""An order reference typed in another letter case than CartRover's (``ts-1001`` for
``TS-1001``): CartRover matches references exactly, so the bot looks the upper-case spelling up
once and suggests it when CartRover knows it."""

from __future__ import annotations

from collections.abc import Iterable

from bot.cartrover.models import Order
from bot.cartrover.service import OrderService

__all__ = ["suggestions"]


def suggestions(orders: OrderService, unknown: Iterable[str]) -> dict[str, str]:
    """For each reference CartRover did not know that has lower-case letters, the upper-case
    spelling when CartRover knows that one (one read for them all)."""
    wanted = {ref: ref.upper() for ref in unknown if ref != ref.upper()}
    if not wanted:
        return {}
    found = orders.get_orders(sorted(set(wanted.values())))
    return {ref: upper for ref, upper in wanted.items() if isinstance(found.get(upper), Order)}

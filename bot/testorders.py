"""Which orders are test orders (``TEST_ORDER_SOURCES``, ``TEST_ORDER_PATTERN``): the rule the
digest lists stale orders by, and that a hold request's card marks each order with. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.cartrover.models import Order
from bot.patterns import Matcher
from bot.settings import Settings

__all__ = ["TestRule"]


@dataclass(frozen=True)
class TestRule:
    """Which orders are test orders: by source, or by pattern on ``cust_ref`` / ``cust_po_no``.

    The pattern is compiled for RE2 (:func:`bot.settings.compile_linear`): whatever an operator
    writes in ``TEST_ORDER_PATTERN``, matching a reference costs time linear in its length.
    """

    __test__ = False  # not a pytest class, whatever its name says

    sources: frozenset[str] = frozenset()
    pattern: Matcher | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TestRule:
        return cls(frozenset(settings.test_order_sources), settings.test_order_regex)

    @property
    def configured(self) -> bool:
        return bool(self.sources) or self.pattern is not None

    def reason(self, order: Order) -> str | None:
        """Why ``order`` is a test order, in words; None if it is not one."""
        if order.order_source in self.sources:
            return f"source {order.order_source}"
        if self.pattern is not None:
            if self.pattern.search(order.cust_ref):
                return f"cust_ref matches {self.pattern.pattern}"
            if order.cust_po_no and self.pattern.search(order.cust_po_no):
                return f"PO matches {self.pattern.pattern}"
        return None

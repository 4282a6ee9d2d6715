"""What a request's card shows of each order (:class:`OrderFacts`), and how the store keeps it:
one JSON text per item, written once when the request is opened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["OrderFacts", "facts_in", "facts_out"]


@dataclass(frozen=True)
class OrderFacts:
    """What an approver needs to know about one order, as read when its request was opened."""

    source: str = ""
    ship_city: str = ""
    ship_state: str = ""
    units: int | None = None
    test_reason: str | None = None  # why it is a test order ("source Test Store"); None: it is not

    @property
    def is_test(self) -> bool:
        return self.test_reason is not None


def facts_in(facts: OrderFacts) -> str:
    """The JSON text the store keeps."""
    return json.dumps(
        {
            "source": facts.source,
            "city": facts.ship_city,
            "state": facts.ship_state,
            "units": facts.units,
            "test": facts.test_reason,
        }
    )


def facts_out(value: Any) -> OrderFacts | None:
    """The facts kept as JSON text; None for none (or unreadable: the card then shows less)."""
    if not value:
        return None
    try:
        data = json.loads(str(value))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    units = data.get("units")
    test = data.get("test")
    return OrderFacts(
        source=str(data.get("source") or ""),
        ship_city=str(data.get("city") or ""),
        ship_state=str(data.get("state") or ""),
        units=units if isinstance(units, int) and not isinstance(units, bool) else None,
        test_reason=str(test) if test is not None else None,
    )

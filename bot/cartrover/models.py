"""CartRover order records, parsed tolerantly: numbers as strings or integers, missing and unknown
fields, strict ``Y``/``N`` flags (see ``docs/cartrover.md``).

An :class:`Order` needs a status, and only the status call and the listings carry one: the
single-order reply has the details and flags but no ``order_status``. So an Order is built from a
listing record alone, or from a single-order reply *plus* an :class:`OrderStatus`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any

__all__ = [
    "CancelOutcome",
    "CancelReply",
    "Flag",
    "Item",
    "KeyProbe",
    "KeyVerdict",
    "Order",
    "OrderStatus",
    "Shipment",
    "parse_number",
    "parse_time",
]

log = logging.getLogger(__name__)

KNOWN_STATUSES = ("new", "at_wms", "shipped", "confirmed", "error", "canceled")


class Flag(Enum):
    """A CartRover ``"Y"``/``"N"`` flag. Anything else is UNEXPECTED — never read as "no"."""

    YES = "Y"
    NO = "N"
    UNEXPECTED = "?"

    @classmethod
    def parse(cls, value: object) -> Flag:
        if value == "Y":
            return cls.YES
        if value == "N":
            return cls.NO
        return cls.UNEXPECTED


def parse_number(value: object) -> Decimal | None:
    """``"10.00"``, ``10``, ``"1"`` → Decimal; empty, ``None`` or junk → None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset; naive taken as UTC) → aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


@dataclass(frozen=True)
class Item:
    sku: str
    quantity: Decimal | None
    description: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Item:
        return cls(
            sku=_text(data.get("item")),
            quantity=parse_number(data.get("quantity")),
            description=_text(data.get("Description") or data.get("description")),
        )


@dataclass(frozen=True)
class Shipment:
    carrier: str
    method: str
    tracking_no: str
    shipped_at: datetime | None
    tracking_url: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Shipment:
        return cls(
            carrier=_text(data.get("carrier")),
            method=_text(data.get("method")),
            tracking_no=_text(data.get("tracking_no")),
            shipped_at=parse_time(data.get("date")),
            tracking_url=_text(data.get("tracking_url")),
        )


@dataclass(frozen=True)
class OrderStatus:
    """The status call's answer: the status, when the order reached the WMS, and shipments."""

    cust_ref: str
    order_status: str
    cust_po_no: str = ""
    delivered_to_wms_at: datetime | None = None
    shipments: tuple[Shipment, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderStatus:
        shipments = data.get("shipments") or []
        return cls(
            cust_ref=_text(data.get("cust_ref")),
            order_status=_text(data.get("order_status")),
            cust_po_no=_text(data.get("cust_po_no")),
            delivered_to_wms_at=parse_time(data.get("delivered_to_wms_date")),
            shipments=tuple(Shipment.from_api(s) for s in shipments if isinstance(s, Mapping)),
        )


@dataclass(frozen=True)
class Order:
    """One CartRover order, as much of it as the bot shows or decides on."""

    cust_ref: str
    cust_po_no: str = ""
    order_source: str = ""
    order_status: str = ""
    sending_canceled: Flag = Flag.UNEXPECTED
    on_hold: Flag = Flag.UNEXPECTED
    created_at: datetime | None = None
    order_date: str = ""
    delivered_to_wms_at: datetime | None = None
    ship_name: str = ""
    ship_company: str = ""
    ship_city: str = ""
    ship_state: str = ""
    ship_country: str = ""
    items: tuple[Item, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    error_reason: str = ""
    raw_sending_canceled: str = field(default="", compare=False)
    raw_on_hold: str = field(default="", compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], status: OrderStatus | None = None) -> Order:
        """Parse one order record; unknown fields are ignored, missing ones left empty.

        ``status`` is the status call's answer for a single-order reply (which has no status of
        its own); without it the record's own ``order_status`` is used (a listing record).
        """
        name = " ".join(
            part
            for part in (_text(data.get("ship_first_name")), _text(data.get("ship_last_name")))
            if part
        )
        items = data.get("items") or []
        shipments = data.get("shipments") or []
        order = cls(
            cust_ref=_text(data.get("cust_ref")),
            cust_po_no=_text(data.get("cust_po_no")),
            order_source=_text(data.get("order_source")),
            # verbatim: no guessing
            order_status=status.order_status if status else _text(data.get("order_status")),
            sending_canceled=Flag.parse(data.get("sending_canceled")),
            on_hold=Flag.parse(data.get("on_hold")),
            created_at=parse_time(data.get("created_date_time")),
            order_date=_text(data.get("order_date")),
            delivered_to_wms_at=parse_time(data.get("delivered_to_wms_date"))
            or (status.delivered_to_wms_at if status else None),
            ship_name=name,
            ship_company=_text(data.get("ship_company")),
            ship_city=_text(data.get("ship_city")),
            ship_state=_text(data.get("ship_state")),
            ship_country=_text(data.get("ship_country")),
            items=tuple(Item.from_api(i) for i in items if isinstance(i, Mapping)),
            # The status call's shipments first: theirs is the public shape; the single-order
            # reply's public example shows only an empty list.
            shipments=(status.shipments if status else ())
            or tuple(Shipment.from_api(s) for s in shipments if isinstance(s, Mapping)),
            error_reason=_text(data.get("error_reason") or data.get("error_msg")),
            raw_sending_canceled=_text(data.get("sending_canceled")),
            raw_on_hold=_text(data.get("on_hold")),
        )
        if order.order_status not in KNOWN_STATUSES:
            log.warning(
                "unexpected order_status %r for order %s", order.order_status, order.cust_ref
            )
        if order.sending_canceled is Flag.UNEXPECTED:
            log.warning(
                "unexpected sending_canceled %r for order %s",
                order.raw_sending_canceled,
                order.cust_ref,
            )
        return order

    # ------------------------------------------------------------------ decisions

    @property
    def is_new(self) -> bool:
        return self.order_status == "new"

    @property
    def will_be_sent(self) -> bool:
        """New and sending not canceled: the WMS will receive it unless someone stops it."""
        return self.is_new and self.sending_canceled is Flag.NO

    @property
    def is_sending_canceled(self) -> bool:
        return self.sending_canceled is Flag.YES

    @property
    def item_count(self) -> int:
        """Units ordered: quantities summed, a line without a readable quantity counting as 1."""
        total = Decimal(0)
        for item in self.items:
            total += item.quantity if item.quantity is not None else Decimal(1)
        return int(total)

    # ------------------------------------------------------------------ words

    @property
    def status_words(self) -> str:
        """The status in plain words (the README's Slash commands)."""
        status = self.order_status
        if status == "new":
            if self.sending_canceled is Flag.YES:
                words = "New — sending canceled"
            elif self.sending_canceled is Flag.NO:
                words = "New — will be sent"
            else:
                words = f"New — sending_canceled is {self.raw_sending_canceled or 'missing'}"
            if self.on_hold is Flag.YES:
                words += " (on hold)"
            return words
        if status == "error":
            return f"Error — {self.error_reason}" if self.error_reason else "Error"
        return {
            "at_wms": "At WMS",
            "shipped": "Shipped",
            "confirmed": "Confirmed",
            "canceled": "Canceled",
        }.get(status, f"Unexpected status '{status or 'missing'}'")

    @property
    def next_step(self) -> str:
        """What the status means and what happens next."""
        status = self.order_status
        if status == "new":
            if self.sending_canceled is Flag.YES:
                return "Sending stopped: it will not be sent to the WMS."
            if self.sending_canceled is Flag.NO:
                hold = (
                    " It is on hold in CartRover, but a hold can be lifted."
                    if (self.on_hold is Flag.YES)
                    else ""
                )
                return (
                    "It will be sent to the WMS unless a hold request stops it "
                    f"(`/cartrover hold {self.cust_ref}`).{hold}"
                )
            return (
                "CartRover sent an unexpected sending_canceled flag: check the order in CartRover."
            )
        return {
            "at_wms": "Already at the WMS — too late to stop sending here; cancel it in the WMS.",
            "shipped": "Shipped by the warehouse.",
            "confirmed": "Shipped, and tracking was sent back to the order source.",
            "error": "Held by CartRover because of an error; fix it in CartRover.",
            "canceled": "Canceled in CartRover: it will not be sent.",
        }.get(status, "CartRover reported a status the bot does not know; check it in CartRover.")


class CancelOutcome(StrEnum):
    """What a cancel-sending answer says, as far as it can be read."""

    ACCEPTED = "accepted"  # response.success is true
    REFUSED = "refused"  # CartRover clearly said no: an error envelope or response.success false
    UNCLEAR = "unclear"  # any other answer: CartRover may or may not have acted


@dataclass(frozen=True)
class CancelReply:
    """CartRover's answer to a cancel-sending call, and the answer itself for the audit trail."""

    outcome: CancelOutcome
    message: str = ""
    process_id: str | None = None
    http_status: int | None = None
    raw: str = ""  # the body as received: one line, clipped, never credentials

    @property
    def accepted(self) -> bool:
        return self.outcome is CancelOutcome.ACCEPTED

    @property
    def refused(self) -> bool:
        return self.outcome is CancelOutcome.REFUSED


class KeyVerdict(StrEnum):
    """What a cancel of an order that cannot exist says about the cancel keys."""

    ACCEPTED = "accepted"  # CartRover got past the keys and answered about the order
    REFUSED = "refused"  # CartRover refused the keys
    UNCLEAR = "unclear"  # an answer that says neither (a server error, a rate limit, no JSON)


@dataclass(frozen=True)
class KeyProbe:
    """The cancel-key probe's answer: the verdict, CartRover's words and the Process-ID."""

    verdict: KeyVerdict
    said: str = ""  # CartRover's message, or what came back instead (one line, clipped)
    process_id: str | None = None
    http_status: int | None = None

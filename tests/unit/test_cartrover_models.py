"""CartRover order records: tolerant parsing, strict flags, status in words
(docs/cartrover.md, Order statuses and flags)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.cartrover.models import Flag, Item, Order, Shipment, parse_number, parse_time

# The single-order reply (M2) as the public API documentation shows it, verbatim.
SHIPPED: dict[str, Any] = {
    "cust_ref": "SHOP-48213",
    "cust_po_no": "#48213",
    "order_source": "Shopify",
    "order_status": "shipped",
    "sending_canceled": "N",
    "on_hold": "N",
    "order_date": "2025-03-03",
    "created_date_time": "2025-03-03T13:58:41+00:00",
    "delivered_to_wms_date": "2025-03-03T14:02:10+00:00",
    "ship_first_name": "Ada",
    "ship_last_name": "Park",
    "ship_city": "Reno",
    "ship_state": "NV",
    "items": [{"line_no": "1", "item": "MUG-BLK", "quantity": 2, "Description": "Black mug"}],
    "shipments": [
        {
            "carrier": "UPS",
            "method": "03",
            "tracking_no": "1Z999AA10123456784",
            "date": "2025-03-04T21:15:00+00:00",
            "tracking_url": None,
        }
    ],
}


def order(**fields: Any) -> Order:
    return Order.from_api({"cust_ref": "T-1", **fields})


def test_a_full_record_is_parsed() -> None:
    """The public M2 example becomes an Order with every field the bot shows."""
    parsed = Order.from_api(SHIPPED)
    assert parsed.cust_ref == "SHOP-48213"
    assert parsed.cust_po_no == "#48213"
    assert parsed.order_source == "Shopify"
    assert parsed.order_status == "shipped"
    assert parsed.sending_canceled is Flag.NO
    assert parsed.created_at == datetime(2025, 3, 3, 13, 58, 41, tzinfo=UTC)
    assert parsed.delivered_to_wms_at == datetime(2025, 3, 3, 14, 2, 10, tzinfo=UTC)
    assert parsed.ship_name == "Ada Park"
    assert parsed.ship_city == "Reno"
    assert parsed.items == (Item("MUG-BLK", Decimal(2), "Black mug"),)
    assert parsed.shipments == (
        Shipment("UPS", "03", "1Z999AA10123456784", datetime(2025, 3, 4, 21, 15, tzinfo=UTC), ""),
    )


def test_numbers_as_strings_and_integers_parse_alike() -> None:
    """Quantities given as "2", "2.00" and 2 are the same number."""
    items = [
        {"item": "A", "quantity": "2"},
        {"item": "B", "quantity": "2.00"},
        {"item": "C", "quantity": 2},
    ]
    parsed = order(items=items)
    assert [item.quantity for item in parsed.items] == [Decimal(2)] * 3
    assert parsed.item_count == 6


@pytest.mark.parametrize("value", [None, "", "  ", "two", True, [], {}])
def test_unreadable_numbers_are_none(value: object) -> None:
    """Empty, missing, boolean or junk numbers parse to None instead of raising."""
    assert parse_number(value) is None


def test_missing_fields_are_left_empty() -> None:
    """A record with only cust_ref parses, with empty text, no dates and no lines."""
    parsed = Order.from_api({"cust_ref": "T-1"})
    assert parsed == Order("T-1")
    assert parsed.created_at is None
    assert parsed.items == ()
    assert parsed.item_count == 0
    assert parsed.ship_name == ""


def test_an_empty_record_does_not_raise() -> None:
    """Even an empty mapping parses into an Order."""
    assert Order.from_api({}).cust_ref == ""


def test_unknown_fields_are_ignored() -> None:
    """Fields the bot does not know, at any level, change nothing."""
    extra = {
        **SHIPPED,
        "total_qty": "2",
        "num_to_ship": 0,
        "items": [{**SHIPPED["items"][0], "weight": "1.2"}],
        "shipments": [{**SHIPPED["shipments"][0], "sscc_barcode": "x"}],
    }
    assert Order.from_api(extra) == Order.from_api(SHIPPED)


def test_the_capitalised_description_key_is_read() -> None:
    """An item's description comes from `Description` (and `description` as a fallback)."""
    parsed = order(
        items=[
            {"item": "A", "quantity": 1, "Description": "Black mug"},
            {"item": "B", "quantity": 1, "description": "Blue mug"},
        ]
    )
    assert [item.description for item in parsed.items] == ["Black mug", "Blue mug"]


def test_malformed_lists_and_entries_are_skipped() -> None:
    """Non-mapping items and shipments, or a list that is not a list, are ignored."""
    assert order(items=["x", 3, None], shipments="none").items == ()
    assert order(items=None, shipments=None).shipments == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-03T13:58:41+00:00", datetime(2025, 3, 3, 13, 58, 41, tzinfo=UTC)),
        ("2025-03-03T13:58:41Z", datetime(2025, 3, 3, 13, 58, 41, tzinfo=UTC)),
        ("2025-03-03T08:58:41-05:00", datetime(2025, 3, 3, 13, 58, 41, tzinfo=UTC)),
        ("2025-03-03 13:58:41", datetime(2025, 3, 3, 13, 58, 41, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1741010321, None),
    ],
)
def test_times_become_aware_utc_or_none(text: object, expected: datetime | None) -> None:
    """ISO times with Z, an offset or none become aware UTC; anything else is None."""
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        ("Y", Flag.YES),
        ("N", Flag.NO),
        ("y", Flag.UNEXPECTED),
        ("n", Flag.UNEXPECTED),
        (" Y", Flag.UNEXPECTED),
        ("Yes", Flag.UNEXPECTED),
        (None, Flag.UNEXPECTED),
        ("", Flag.UNEXPECTED),
        (True, Flag.UNEXPECTED),
        (False, Flag.UNEXPECTED),
        (0, Flag.UNEXPECTED),
    ],
)
def test_flags_are_parsed_strictly(value: object, flag: Flag) -> None:
    """Only "Y" and "N" are read; everything else is UNEXPECTED, never "no"."""
    assert Flag.parse(value) is flag


@pytest.mark.parametrize("raw", ["y", None, "", "false", 0])
def test_an_unexpected_sending_flag_is_never_will_be_sent(raw: object) -> None:
    """A New order whose sending_canceled is not "Y"/"N" is not reported as "will be sent"."""
    parsed = order(order_status="new", sending_canceled=raw)
    assert parsed.sending_canceled is Flag.UNEXPECTED
    assert not parsed.will_be_sent
    assert not parsed.is_sending_canceled
    assert "will be sent" not in parsed.status_words
    assert "will be sent" not in parsed.next_step.lower()
    assert parsed.status_words.startswith("New — sending_canceled is ")


def test_a_missing_sending_flag_is_shown_as_missing() -> None:
    """A New order without sending_canceled says the flag is missing."""
    parsed = Order.from_api({"cust_ref": "T-1", "order_status": "new"})
    assert parsed.status_words == "New — sending_canceled is missing"


def test_a_lowercase_sending_flag_is_shown_verbatim() -> None:
    """A New order with sending_canceled "y" shows that value."""
    assert order(order_status="new", sending_canceled="y").status_words == (
        "New — sending_canceled is y"
    )


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"order_status": "new", "sending_canceled": "N"}, "New — will be sent"),
        ({"order_status": "new", "sending_canceled": "Y"}, "New — sending canceled"),
        (
            {"order_status": "new", "sending_canceled": "N", "on_hold": "Y"},
            "New — will be sent (on hold)",
        ),
        (
            {"order_status": "new", "sending_canceled": "Y", "on_hold": "Y"},
            "New — sending canceled (on hold)",
        ),
        ({"order_status": "at_wms", "sending_canceled": "N"}, "At WMS"),
        ({"order_status": "shipped"}, "Shipped"),
        ({"order_status": "confirmed"}, "Confirmed"),
        ({"order_status": "canceled"}, "Canceled"),
        (
            {"order_status": "error", "error_reason": "Ship method not mapped"},
            "Error — Ship method not mapped",
        ),
        ({"order_status": "error", "error_msg": "Bad address"}, "Error — Bad address"),
        ({"order_status": "error"}, "Error"),
    ],
)
def test_status_words_for_every_documented_status(fields: dict[str, str], words: str) -> None:
    """Each documented status reads as the README's words."""
    assert order(**fields).status_words == words


def test_will_be_sent_only_for_new_with_sending_not_canceled() -> None:
    """will_be_sent holds for New with "N" and for nothing else."""
    assert order(order_status="new", sending_canceled="N").will_be_sent
    assert not order(order_status="new", sending_canceled="Y").will_be_sent
    assert not order(order_status="at_wms", sending_canceled="N").will_be_sent


@pytest.mark.parametrize("status", ["backordered", "On_Backorder", "NEW", "partially shipped"])
def test_an_unknown_status_is_shown_verbatim(status: str) -> None:
    """An undocumented status is shown exactly as CartRover sent it, never mapped to a guess."""
    parsed = order(order_status=status, sending_canceled="N")
    assert parsed.status_words == f"Unexpected status '{status}'"
    assert not parsed.is_new
    assert not parsed.will_be_sent


def test_a_missing_status_says_missing() -> None:
    """An order without order_status says so."""
    assert order().status_words == "Unexpected status 'missing'"


def test_an_unexpected_status_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Parsing an unknown status or flag logs a warning naming the order."""
    order(order_status="lost", sending_canceled="maybe")
    messages = [r.getMessage() for r in caplog.records]
    assert any("'lost'" in m and "T-1" in m for m in messages)
    assert any("'maybe'" in m for m in messages)


@pytest.mark.parametrize(
    ("items", "count"),
    [
        ([], 0),
        ([{"quantity": "3"}], 3),
        ([{"quantity": 2}, {"quantity": "1"}], 3),
        ([{"quantity": "2"}, {}], 3),
        ([{"quantity": "junk"}], 1),
        ([{"quantity": "1.00"}, {"quantity": "2.00"}], 3),
    ],
)
def test_item_count_sums_units(items: list[dict[str, object]], count: int) -> None:
    """item_count sums quantities, counting a line without a readable quantity as one."""
    assert order(items=items).item_count == count


def test_text_fields_are_trimmed_and_names_joined() -> None:
    """Whitespace around values is dropped and a missing name part leaves no stray space."""
    parsed = order(ship_first_name="  ", ship_last_name=" Park ", order_source=" Shopify ")
    assert parsed.ship_name == "Park"
    assert parsed.order_source == "Shopify"


def test_the_status_calls_shipments_come_before_the_single_order_replys() -> None:
    """The status call's shipments have the public shape; the single-order reply's shipments
    are used only when the status call has none."""
    from bot.cartrover.models import OrderStatus

    tracked = OrderStatus.from_api(
        {
            "cust_ref": "A1",
            "order_status": "shipped",
            "shipments": [{"carrier": "USPS", "method": "Priority", "tracking_no": "9400"}],
        }
    )
    both = Order.from_api(SHIPPED, tracked)
    assert [s.tracking_no for s in both.shipments] == ["9400"]
    untracked = OrderStatus.from_api({"cust_ref": "A1", "order_status": "shipped"})
    fallback = Order.from_api(SHIPPED, untracked)
    assert [s.tracking_no for s in fallback.shipments] == ["1Z999AA10123456784"]

"""Seed data for the sandbox: a realistic mix of CartRover order records with every field of the
public reply shapes (:mod:`bot.dev.sandbox.shapes`): numbers as strings, ``"Y"``/``"N"`` flags, UTC
timestamps with ``+00:00``; plus a fast generator of synthetic orders for benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.dev.sandbox.shapes import complete

if TYPE_CHECKING:
    from bot.dev.sandbox.orders import OrderBook

__all__ = [
    "AT_WMS_REF",
    "CANCELED_REF",
    "CANCELED_SENDING_REF",
    "CONFIRMED_REF",
    "ERROR_REF",
    "FRESH_TEST_REF",
    "ON_HOLD_REF",
    "PII_REMOVED_REF",
    "SHIPPED_REF",
    "STALE_NON_TEST_REF",
    "STALE_PATTERN_TEST_REF",
    "STALE_TEST_REF",
    "TEST_PATTERN",
    "TEST_PO_ONLY_REF",
    "TEST_SOURCE",
    "generate_orders",
    "iso",
    "seed",
    "seed_records",
]

TEST_SOURCE = "Test Store"
TEST_PATTERN = r"^TEST-"

STALE_TEST_REF = "TS-1001"  # Test Store, new, 72 h old
FRESH_TEST_REF = "TS-1004"  # Test Store, new, 2 h old
ON_HOLD_REF = "TS-1006"  # Test Store, new, stale, on_hold "Y"
STALE_PATTERN_TEST_REF = "TEST-0007"  # Shopify, cust_ref matches TEST_PATTERN, 80 h old
TEST_PO_ONLY_REF = "SHOP-48190"  # Shopify, only cust_po_no matches TEST_PATTERN, stale
CANCELED_SENDING_REF = "TEST-0003"  # Shopify, new, sending_canceled "Y", stale
STALE_NON_TEST_REF = "SHOP-48201"  # a real-looking stale New order (a warning in the digest)
AT_WMS_REF = "SHOP-48207"
SHIPPED_REF = "SHOP-48213"
CONFIRMED_REF = "SHOP-48176"
ERROR_REF = "SHOP-48215"
CANCELED_REF = "SHOP-48150"
PII_REMOVED_REF = "113-4417821-0053962"  # Amazon, stale New, ship-to "**PII Removed**"

_PII = "**PII Removed**"


def iso(when: datetime) -> str:
    """CartRover's timestamp form: ISO 8601 in UTC with ``+00:00``, whole seconds."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def _order(
    now: datetime,
    ref: str,
    *,
    hours: float,
    source: str = "Shopify",
    po: str | None = None,
    status: str = "new",
    sending_canceled: str = "N",
    on_hold: str = "N",
    ship: tuple[str, str, str, str] = ("Ada", "Park", "Reno", "NV"),
    items: tuple[tuple[str, Any, str, str], ...] = (("MUG-BLK", "1", "Black mug", "12.50"),),
    sent_after: float = 0.1,
    tracking: tuple[str, str, str] | None = None,
    shipped_after: float = 20.0,
    **extra: Any,
) -> dict[str, Any]:
    created = now - timedelta(hours=hours)
    total = sum(int(str(item[1])) * float(item[3]) for item in items) + 5.99
    first, last, city, state = ship
    record: dict[str, Any] = {
        "cust_ref": ref,
        "cust_po_no": po if po is not None else ref,
        "order_source": source,
        "order_status": status,
        "sending_canceled": sending_canceled,
        "on_hold": on_hold,
        "shipping_pickup_canceled": "N",
        "order_date": created.date().isoformat(),
        "created_date_time": iso(created),
        "updated_date_time": iso(created),
        "delivered_to_wms_date": None,
        "cancel_date": None,
        "ship_first_name": first,
        "ship_last_name": last,
        "ship_company": "",
        "ship_address_1": _PII if first == _PII else "1180 Kietzke Ln",
        "ship_city": city,
        "ship_state": state,
        "ship_zip": _PII if first == _PII else "89502",
        "ship_country": "US",
        "ship_code": "UPS Ground",
        "currency_code": "USD",
        "grand_total": f"{total:.2f}",
        "inventory_warehouse_pk": "1",
        "items": [
            {"line_no": str(n), "item": sku, "quantity": q, "Description": desc, "price": price}
            for n, (sku, q, desc, price) in enumerate(items, start=1)
        ],
        "shipments": [],
    }
    if status != "new":
        record["delivered_to_wms_date"] = iso(created + timedelta(hours=sent_after))
        record["updated_date_time"] = record["delivered_to_wms_date"]
    if tracking is not None:
        carrier, method, number = tracking
        shipped = created + timedelta(hours=shipped_after)
        record["shipments"] = [
            {
                "carrier": carrier,
                "method": method,
                "tracking_no": number,
                "date": iso(shipped),
                "total_cost": "8.40",
                "package_weight_lbs": "1.20",
                "items": [
                    {"item": sku, "quantity": str(q), "carton_num": "1"}
                    for sku, q, _desc, _price in items
                ],
            }
        ]
        record["updated_date_time"] = iso(shipped + timedelta(hours=1))
    record.update(extra)
    return complete(record)


def seed_records(now: datetime) -> list[dict[str, Any]]:
    """About 25 orders relative to ``now``: stale and fresh test orders (by source and by
    pattern), real-looking New/At WMS/Shipped/Confirmed/Error/Canceled orders."""
    ts, amz = TEST_SOURCE, "Amazon"
    test_ship = ("Test", "Order", "Reno", "NV")
    sku = (("SKU-1", "1", "Test item", "1.00"),)
    return [
        # Test Store: stale (30–80 h) and fresh (1–5 h) test orders.
        _order(now, STALE_TEST_REF, hours=72, source=ts, po="1001", ship=test_ship, items=sku),
        _order(now, "TS-1002", hours=50.5, source=ts, po="1002", ship=test_ship, items=sku),
        _order(now, "TS-1003", hours=31, source=ts, po="1003", ship=test_ship),
        _order(now, FRESH_TEST_REF, hours=2, source=ts, po="1004", ship=test_ship, items=sku),
        _order(now, "TS-1005", hours=4.5, source=ts, po="1005", ship=test_ship),
        _order(now, ON_HOLD_REF, hours=40, source=ts, po="1006", on_hold="Y", ship=test_ship),
        _order(now, "TS-0998", hours=96, source=ts, po="998", status="at_wms", ship=test_ship),
        # Shopify test orders recognised by TEST_PATTERN.
        _order(now, STALE_PATTERN_TEST_REF, hours=80, ship=test_ship, items=sku),
        _order(now, "TEST-0012", hours=36, ship=("Test", "Customer", "Austin", "TX")),
        _order(now, "TEST-0015", hours=1, ship=test_ship, items=sku),
        _order(now, CANCELED_SENDING_REF, hours=60, sending_canceled="Y", ship=test_ship),
        _order(now, TEST_PO_ONLY_REF, hours=45, po="TEST-48190", ship=("QA", "Team", "Reno", "NV")),
        # Real-looking New orders: stale (a warning) and fresh.
        _order(
            now,
            STALE_NON_TEST_REF,
            hours=30,
            po="#48201",
            ship=("Maria", "Gonzalez", "San Antonio", "TX"),
            items=(
                ("TEE-NVY-M", "2", "Navy tee, M", "18.00"),
                ("MUG-BLK", 1, "Black mug", "12.50"),
            ),
        ),
        _order(
            now,
            PII_REMOVED_REF,
            hours=33,
            source=amz,
            ship=(_PII, _PII, "Seattle", "WA"),
            items=(("CANDLE-LAV", "3", "Lavender candle", "9.95"),),
        ),
        _order(now, "SHOP-48221", hours=3, po="#48221", ship=("Liam", "O'Brien", "Boston", "MA")),
        _order(now, "SHOP-48222", hours=0.5, po="#48222", ship=("Priya", "Shah", "Edison", "NJ")),
        # Sent to the WMS.
        _order(
            now,
            AT_WMS_REF,
            hours=20,
            po="#48207",
            status="at_wms",
            ship=("Tom", "Becker", "Columbus", "OH"),
        ),
        _order(
            now,
            "SHOP-48209",
            hours=8,
            po="#48209",
            status="at_wms",
            ship=("Hannah", "Kim", "Portland", "OR"),
        ),
        _order(
            now,
            "114-2093385-7751402",
            hours=12,
            source=amz,
            status="at_wms",
            ship=(_PII, _PII, "Denver", "CO"),
        ),
        # Shipped with tracking; confirmed back to the cart.
        _order(
            now,
            SHIPPED_REF,
            hours=46,
            po="#48213",
            status="shipped",
            ship=("Ada", "Park", "Reno", "NV"),
            items=(("MUG-BLK", 2, "Black mug", "12.50"),),
            tracking=("UPS", "03", "1Z999AA10123456784"),
            shipped_after=31,
        ),
        _order(
            now,
            "112-8841203-5527419",
            hours=70,
            source=amz,
            status="shipped",
            ship=("James", "Whitfield", "Atlanta", "GA"),
            tracking=("UPS", "03", "1Z4E2W690312847715"),
        ),
        _order(
            now,
            CONFIRMED_REF,
            hours=120,
            po="#48176",
            status="confirmed",
            ship=("Chen", "Wei", "San Jose", "CA"),
            tracking=("UPS", "02", "1Z8V71A40298312266"),
        ),
        _order(
            now,
            "SHOP-48180",
            hours=110,
            po="#48180",
            status="confirmed",
            ship=("Sofia", "Rossi", "Chicago", "IL"),
            tracking=("USPS", "Priority", "9405511899223197428490"),
        ),
        # Held by IM with an error; canceled.
        _order(
            now,
            ERROR_REF,
            hours=26,
            po="#48215",
            status="error",
            ship=("Noah", "Fischer", "Madison", "WI"),
            error_reason="Ship method 'UPS 2nd Day Air Saver' is not mapped to a WMS ship method",
        ),
        _order(
            now,
            CANCELED_REF,
            hours=150,
            po="#48150",
            status="canceled",
            ship=("Emma", "Dubois", "Miami", "FL"),
            cancel_date=iso(now - timedelta(hours=140)),
        ),
    ]


def seed(book: OrderBook, now: datetime | None = None) -> list[str]:
    """Add :func:`seed_records` to ``book`` (ages relative to ``now``, default the book's
    creation time); their send delay runs from the book's creation. Returns the refs added."""
    records = seed_records(now or book.created_at)
    book.add_many(records, send_from=book.created_at)
    return [record["cust_ref"] for record in records]


def generate_orders(
    count: int,
    *,
    now: datetime,
    min_age: timedelta = timedelta(hours=30),
    max_age: timedelta = timedelta(hours=80),
    status: str = "new",
    source: str = TEST_SOURCE,
    prefix: str = "BENCH-",
    start: int = 1,
    sending_canceled: str = "N",
) -> list[dict[str, Any]]:
    """``count`` synthetic orders as plain dicts, ages spread evenly over [min_age, max_age]
    (refs ``{prefix}{n:06d}``). Fast enough for 20,000 orders in well under a second."""
    span = (max_age - min_age).total_seconds()
    step = span / (count - 1) if count > 1 else 0.0
    oldest = (now - max_age).astimezone(UTC).replace(microsecond=0)
    delivered = status != "new"
    template = complete(
        {
            "order_source": source,
            "order_status": status,
            "sending_canceled": sending_canceled,
            "ship_first_name": "Bench",
            "ship_city": "Reno",
            "ship_state": "NV",
            "ship_country": "US",
            "currency_code": "USD",
            "grand_total": "10.00",
            "inventory_warehouse_pk": "1",
            "items": [{"line_no": "1", "item": "SKU-1", "quantity": "1", "Description": "x"}],
        }
    )
    item = template["items"][0]
    records: list[dict[str, Any]] = []
    append = records.append
    for index in range(count):
        ref = f"{prefix}{start + index:06d}"
        created = (oldest + timedelta(seconds=int(step * index))).isoformat()
        record = template.copy()
        record["cust_ref"] = record["cust_po_no"] = ref
        record["order_date"] = created[:10]
        record["created_date_time"] = record["updated_date_time"] = created
        record["delivered_to_wms_date"] = created if delivered else None
        record["ship_last_name"] = f"Customer {index}"
        record["items"] = [item.copy()]
        record["shipments"] = []
        append(record)
    return records

"""The CartRover contract: reply bodies shaped like the public examples (tests/fixtures/cartrover)
decode as the bot expects, and the sandbox answers every call with exactly those shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cartrover import replies
from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    InvalidRequest,
    OrderNotFound,
    RateLimited,
    Refused,
    UnexpectedReply,
)
from bot.cartrover.models import CancelOutcome, Flag
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    OrderBook,
    SandboxServer,
)
from bot.times import FrozenClock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cartrover"
SHAPES: dict[str, dict[str, Any]] = json.loads((FIXTURES / "shapes.json").read_text())
PID = {"X-CartRover-Process-ID": "PID-7"}


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def response(name: str) -> Any:
    return replies.decode(200, PID, body(name))


# ------------------------------------------------------------------- the fixtures themselves


def keys_of(record: dict[str, Any], shape: dict[str, Any]) -> None:
    """``record`` has exactly the shape's keys, and its nested records theirs."""
    assert sorted(record) == sorted(shape["keys"])
    assert not set(shape.get("absent", ())) & set(record)
    for item in record.get("items", []):
        assert sorted(item) == sorted(shape["items[]"])
    for shipment in record.get("shipments", []):
        assert sorted(shipment) == sorted(shape["shipments[]"])
        for item in shipment["items"]:
            assert sorted(item) == sorted(shape["shipments[].items[]"])


def test_the_fixtures_have_exactly_the_public_keys() -> None:
    """Each fixture carries its call's public key set, nested records included."""
    keys_of(response("order.json"), SHAPES["order"])
    keys_of(response("status.json"), SHAPES["status"])
    for record in response("list_page.json"):
        keys_of(record, SHAPES["list_record"])
    assert sorted(response("cancel.json")) == sorted(SHAPES["cancel"]["keys"])


MERCHANT_LISTING_KEYS = (
    "updated_date_time",
    "po_number",
    "inventory_warehouse_pk",
    "num_failed_sends",
)
CART_LISTING_COUNTS = ("total_qty", "num_to_ship", "num_shipped")


def test_the_listing_record_is_the_merchant_level_one() -> None:
    """The bot lists at merchant level, whose public record carries updated_date_time, po_number,
    inventory_warehouse_pk and num_failed_sends and none of the cart-level listing's counts."""
    shape = SHAPES["list_record"]
    assert set(MERCHANT_LISTING_KEYS) <= set(shape["keys"])
    assert set(CART_LISTING_COUNTS) <= set(shape["absent"])
    assert "merchant" in shape["source"]
    for record in response("list_page.json"):
        assert set(MERCHANT_LISTING_KEYS) <= set(record)
        assert not set(CART_LISTING_COUNTS) & set(record)


def test_the_single_order_reply_has_no_status_and_never_becomes_an_order_alone() -> None:
    """The order reply carries no order_status: read as a status reply it is UnexpectedReply
    naming the missing field."""
    details = response("order.json")
    assert "order_status" not in details
    with pytest.raises(UnexpectedReply, match="no order_status"):
        replies.decode_status(details, "PID-7")


def test_order_and_status_replies_make_one_order() -> None:
    """The status comes from the status reply; flags, source, dates, ship-to, items from the
    order reply; tracking from either."""
    status = replies.decode_status(response("status.json"), "PID-7")
    order = replies.decode_order(response("order.json"), status, "PID-7")
    assert (order.cust_ref, order.cust_po_no, order.order_source) == (
        "SHOP-48213",
        "#48213",
        "Shopify",
    )
    assert order.order_status == "shipped"
    assert (order.sending_canceled, order.on_hold) == (Flag.NO, Flag.NO)
    assert order.created_at is not None and order.created_at.isoformat().startswith("2025-03-03")
    assert (order.ship_name, order.ship_city, order.item_count) == ("Ada Park", "Reno", 2)
    assert order.shipments[0].tracking_no == "1Z999AA10123456784"
    assert order.status_words == "Shipped"


def test_a_listing_page_carries_status_and_flags() -> None:
    """Listing records decode on their own, each with its status and Y/N flags."""
    orders = replies.decode_orders(response("list_page.json"), "PID-7")
    assert [(o.cust_ref, o.order_status, o.sending_canceled) for o in orders] == [
        ("TEST-0007", "new", Flag.NO),
        ("TEST-0003", "new", Flag.YES),
    ]
    assert [o.will_be_sent for o in orders] == [True, False]


@pytest.mark.parametrize(
    "name",
    [
        "list_empty_absent.json",
        "list_empty_null.json",
        "list_empty_list.json",
        "list_empty_object.json",
        "list_empty_no_orders.json",
    ],
)
def test_every_empty_listing_shape_is_an_empty_page(name: str) -> None:
    """No public example shows an empty page; each plausible shape is one, never an error."""
    data = replies.decode_listing(200, PID, body(name))
    assert replies.decode_orders(data, "PID-7") == []


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("cancel.json", CancelOutcome.ACCEPTED),
        ("cancel_refused.json", CancelOutcome.REFUSED),
        ("cancel_bare.json", CancelOutcome.UNCLEAR),
        ("error_failure.json", CancelOutcome.REFUSED),
    ],
)
def test_cancel_answers_decode_to_their_outcome(name: str, outcome: CancelOutcome) -> None:
    """Each cancel answer's outcome, with the Process-ID and the body kept as received."""
    reply = replies.decode_cancel(200, PID, body(name))
    assert (reply.outcome, reply.process_id) == (outcome, "PID-7")
    assert reply.raw.startswith("HTTP 200: {")


def test_a_rate_limit_answer_to_a_cancel_is_raised() -> None:
    """RateLimit to a cancel is no answer about the order: it is raised as RateLimited, with
    CartRover's words and the Process-ID, as it would be for any call."""
    with pytest.raises(RateLimited) as info:
        replies.decode_cancel(200, PID, body("error_rate_limit.json"))
    said = json.loads(body("error_rate_limit.json"))
    assert (info.value.message, info.value.process_id) == (said["message"], "PID-7")


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("error_invalid.json", 200, InvalidRequest),
        ("error_invalid.json", 400, InvalidRequest),
        ("error_failure.json", 200, Refused),
        ("error_rate_limit.json", 200, RateLimited),
        ("error_rate_limit.json", 429, RateLimited),
        ("error_not_found.json", 200, OrderNotFound),
        ("error_not_found.json", 404, OrderNotFound),
        ("error_bad_credentials.json", 200, AuthenticationFailed),
        ("error_bad_credentials.json", 401, AuthenticationFailed),
        ("error_status_message.json", 200, InvalidRequest),
    ],
)
def test_error_envelopes_decode_to_their_error(
    name: str, status: int, error: type[CartRoverError]
) -> None:
    """Every error shape, on HTTP 200 or its HTTP status, is its precise error with CartRover's
    own words (`message`, or the older `status_message`) and the Process-ID."""
    with pytest.raises(error) as info:
        replies.decode(status, PID, body(name))
    said = json.loads(body(name))
    assert info.value.message == said.get("message", said.get("status_message"))
    assert (info.value.http_status, info.value.process_id) == (status, "PID-7")


# ------------------------------------------------------------------- the sandbox's replies


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxServer, httpx.Client]]:
    from datetime import UTC, datetime

    book = OrderBook.seeded(FrozenClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC)))
    with (
        SandboxServer(book, capacity=10_000, refill_seconds=0.0001) as server,
        httpx.Client(base_url=server.url, auth=(SANDBOX_API_USER, SANDBOX_API_KEY)) as http,
    ):
        yield server, http


def get(http: httpx.Client, path: str) -> Any:
    reply = http.get(path)
    assert reply.status_code == 200
    payload = reply.json()
    assert payload["success_code"] is True
    return payload["response"]


def test_every_sandbox_order_reply_has_exactly_the_public_shape(
    sandbox: tuple[SandboxServer, httpx.Client],
) -> None:
    """For every seeded order, the sandbox's order reply and status reply have exactly the
    public key sets: no order_status in the order reply, no flags in the status reply."""
    server, http = sandbox
    shipped = 0
    for ref in server.book.refs():
        keys_of(get(http, f"/v1/merchant/orders/{ref}"), SHAPES["order"])
        status = get(http, f"/v1/merchant/orders/status/{ref}")
        keys_of(status, SHAPES["status"])
        shipped += bool(status["shipments"])
    assert shipped >= 3  # nested shipment records were compared too


def test_every_sandbox_listing_record_has_exactly_the_public_shape(
    sandbox: tuple[SandboxServer, httpx.Client],
) -> None:
    """Listing records carry the merchant-level key set: the status, the flags,
    updated_date_time, and no cart-level counts."""
    server, http = sandbox
    records = get(http, "/v1/merchant/orders/list/any?limit=100")
    assert len(records) == len(server.book)
    for record in records:
        keys_of(record, SHAPES["list_record"])
    assert any(record["shipments"] for record in records)  # nested shipments were compared too


def test_the_sandbox_cancel_reply_has_exactly_the_public_shape(
    sandbox: tuple[SandboxServer, httpx.Client],
) -> None:
    """The cancel reply's response object is exactly `success` and `message`."""
    _, http = sandbox
    cart = httpx.BasicAuth(SANDBOX_CANCEL_API_USER, SANDBOX_CANCEL_API_KEY)
    reply = http.get("/v1/cart/orders/wms_cancel/SHOP-48213", auth=cart).json()
    assert reply["success_code"] is True
    assert sorted(reply["response"]) == sorted(SHAPES["cancel"]["keys"])

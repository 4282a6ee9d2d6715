"""The sandbox's switches for CartRover behaviour no public source settles, over real loopback
HTTP: each answers every documented-or-plausible way, and the client reads each one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import httpx
import pytest

from bot.cartrover.client import CartRoverClient
from bot.cartrover.models import KeyVerdict
from bot.cartrover.protocol import PROBE_REF
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    STALE_TEST_REF,
    OrderBook,
    SandboxServer,
)
from bot.dev.sandbox.handler import EMPTY_PAGES
from bot.times import FrozenClock

AUTH = (SANDBOX_API_USER, SANDBOX_API_KEY)
CART = (SANDBOX_CANCEL_API_USER, SANDBOX_CANCEL_API_KEY)
NOTHING = "/v1/merchant/orders/list/new?to_date=2000-01-01T00%3A00%3A00%2B00%3A00"


@pytest.fixture
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=AUTH, timeout=2.0) as client:
        yield client


@pytest.fixture
def client(server: SandboxServer) -> Iterator[CartRoverClient]:
    with CartRoverClient(server.url, *AUTH) as made:
        yield made


# -- empty listing pages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "body"),
    [
        ("list", {"success_code": True, "response": []}),
        ("absent", {"success_code": True}),
        ("null", {"success_code": True, "response": None}),
        ("object", {"success_code": True, "response": {}}),
        (
            "no_orders",
            {"success_code": False, "error_code": "Invalid", "message": "No orders found"},
        ),
    ],
)
def test_an_empty_page_is_answered_the_way_the_switch_says(
    server: SandboxServer, http: httpx.Client, shape: str, body: dict[str, object]
) -> None:
    """Each value of `empty_page` answers a page without orders in its own shape, on HTTP 200;
    a page with orders is unchanged."""
    server.faults.empty_page = shape
    reply = http.get(NOTHING)
    assert (reply.status_code, reply.json()) == (200, body)
    assert len(http.get("/v1/merchant/orders/list/new").json()["response"]) > 0


@pytest.mark.parametrize("shape", sorted(EMPTY_PAGES))
def test_the_client_reads_every_empty_page_as_no_orders(
    server: SandboxServer, client: CartRoverClient, clock: FrozenClock, shape: str
) -> None:
    """Every empty shape is an empty listing for the client: no error, no order, one call, and
    the call is logged and counted as a success."""
    server.faults.empty_page = shape
    listing = client.iter_orders("new", to_date=clock.now() - timedelta(days=400))
    assert list(listing) == []
    assert client.stats.get("list_orders") == 1 and not client.stats.get("failures")


@pytest.mark.parametrize("shape", sorted(EMPTY_PAGES))
def test_a_listing_that_ends_on_an_empty_page_keeps_its_orders(
    server: SandboxServer, client: CartRoverClient, book: OrderBook, shape: str
) -> None:
    """With exactly one full page of orders, the second page is empty in whatever shape, and
    the listing ends there with every order of the first."""
    server.faults.empty_page = shape
    new = len(book.list("new"))
    assert new < 100
    extra = [
        {"cust_ref": f"FILL-{n:03d}", "order_status": "new", "sending_canceled": "N"}
        for n in range(100 - new)
    ]
    book.add_many(extra)
    orders = list(client.iter_orders("new"))
    assert len(orders) == 100
    assert client.stats.get("list_orders") == 2


# -- the cancel-key probe --------------------------------------------------------------------


def prober(server: SandboxServer, cancel: tuple[str, str]) -> CartRoverClient:
    return CartRoverClient(server.url, *AUTH, cancel_user=cancel[0], cancel_key=cancel[1])


@pytest.mark.parametrize("not_found", [404, 200])
def test_the_probe_reads_accepted_keys_and_touches_no_order(
    server: SandboxServer, book: OrderBook, not_found: int
) -> None:
    """With the Cart API pair, a cancel of a reference no order has is answered "not found"
    (on HTTP 404 or 200): the keys are accepted, and no order was touched."""
    server.faults.not_found_status = not_found
    with prober(server, CART) as client:
        probe = client.probe_cancel_keys()
    assert probe.verdict is KeyVerdict.ACCEPTED
    assert "not found" in probe.said and probe.process_id == server.requests[0].process_id
    (request,) = server.cancel_requests()
    assert request.cust_ref == PROBE_REF and request.credential == "cancel"
    assert book.total_cancels() == 1 and book.cancel_count(PROBE_REF) == 1
    assert all(book.cancel_count(ref) == 0 for ref in book.refs())


@pytest.mark.parametrize("refused", [401, 200])
def test_the_probe_reads_refused_keys(server: SandboxServer, refused: int) -> None:
    """The merchant pair put in the cancel variables is refused by the cart-level call, on HTTP
    401 or with the words on HTTP 200: the probe says so."""
    server.faults.auth_failure_status = refused
    with prober(server, AUTH) as client:
        probe = client.probe_cancel_keys()
    assert (probe.verdict, probe.http_status) == (KeyVerdict.REFUSED, refused)
    assert probe.said == "Invalid API User or Key"


def test_the_probe_is_unclear_on_a_server_error_or_a_rate_limit(server: SandboxServer) -> None:
    """A 5xx page or a RateLimit answer says nothing about the keys."""
    with prober(server, CART) as client:
        server.faults.fail_5xx = 1
        assert client.probe_cancel_keys().verdict is KeyVerdict.UNCLEAR
        server.faults.rate_limit_next = 1
        assert client.probe_cancel_keys().verdict is KeyVerdict.UNCLEAR


# -- what the listing's dates filter on ------------------------------------------------------


def test_new_orders_can_be_filtered_on_the_cart_s_order_date_in_whole_days(
    server: SandboxServer, http: httpx.Client, book: OrderBook
) -> None:
    """With `list_dates = "order_date"`, from_date/to_date select New orders by their order_date
    (whole UTC days) instead of their creation time: an order placed in the cart the day before
    CartRover created it is missing from a listing over its creation time, and present in one
    over its order_date's day; other statuses keep their own date."""
    record = book.get(STALE_TEST_REF)
    assert record is not None
    created = datetime.fromisoformat(record["created_date_time"])
    day_before = (created - timedelta(days=1)).date()
    book.update(STALE_TEST_REF, {"order_date": day_before.isoformat()})

    def listed(start: datetime, end: datetime) -> list[str]:
        query = urlencode(
            {"from_date": start.isoformat(), "to_date": end.isoformat()}, quote_via=quote
        )
        return [r["cust_ref"] for r in http.get(f"/v1/merchant/orders/list/new?{query}").json()
                .get("response") or []]  # fmt: skip

    around = (created - timedelta(seconds=1), created + timedelta(seconds=1))
    assert STALE_TEST_REF in listed(*around)
    server.faults.list_dates = "order_date"
    assert STALE_TEST_REF not in listed(*around)
    midnight = datetime.combine(day_before, datetime.min.time(), tzinfo=UTC)
    assert STALE_TEST_REF in listed(midnight + timedelta(hours=23), midnight + timedelta(hours=23))
    at_wms = book.list("at_wms")
    assert at_wms and book.page("at_wms", by_order_date=True)[0] == at_wms


# -- wms_cancel on an order that moved on ----------------------------------------------------


@pytest.mark.parametrize(
    ("moved_on", "response", "status_after"),
    [
        ("accept", {"success": True, "message": ""}, "at_wms"),
        ("refuse", {"success": False, "message": "Order is already at the WMS"}, "at_wms"),
        ("cancel_order", {"success": True, "message": ""}, "canceled"),
    ],
)
def test_a_cancel_of_an_order_that_moved_on_answers_the_way_the_switch_says(
    server: SandboxServer,
    book: OrderBook,
    moved_on: str,
    response: dict[str, object],
    status_after: str,
) -> None:
    """The WMS picks the order up just before the cancel arrives (`send_before_cancel`); what
    wms_cancel then does is the `moved_on` switch: accept and change nothing, refuse, or cancel
    the order itself. Once: the next cancel finds the order as it is."""
    server.faults.send_before_cancel = 1
    server.faults.moved_on = moved_on
    with httpx.Client(base_url=server.url, auth=CART) as http:
        reply = http.get(f"/v1/cart/orders/wms_cancel/{STALE_TEST_REF}").json()
    assert reply == {"success_code": True, "response": response}
    record = book.get(STALE_TEST_REF)
    assert record is not None
    assert (record["order_status"], record["sending_canceled"]) == (status_after, "N")
    assert record["delivered_to_wms_date"] is not None
    assert (record["cancel_date"] is not None) == (moved_on == "cancel_order")
    assert server.faults.send_before_cancel == 0

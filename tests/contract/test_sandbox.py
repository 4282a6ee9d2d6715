"""The CartRover sandbox over real loopback HTTP: envelope, auth, paging, dates, cancel, the
bucket, the time simulation and every fault switch."""

from __future__ import annotations

import ast
import http.client
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.dev.sandbox import (
    AT_WMS_REF,
    CANCELED_REF,
    CANCELED_SENDING_REF,
    ERROR_REF,
    FRESH_TEST_REF,
    ON_HOLD_REF,
    PII_REMOVED_REF,
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    SHIPPED_REF,
    STALE_TEST_REF,
    TEST_PATTERN,
    TEST_SOURCE,
    OrderBook,
    SandboxServer,
    UnknownOrder,
    generate_orders,
)
from bot.dev.sandbox.shapes import order_view
from bot.times import FrozenClock

AUTH = (SANDBOX_API_USER, SANDBOX_API_KEY)
CART = (SANDBOX_CANCEL_API_USER, SANDBOX_CANCEL_API_KEY)
PROCESS_ID = re.compile(r"SBX-[0-9a-f]{12}")
REMAINING = "x-cartrover-api-minute-hits-remaining"
# Plain HTTP only: a bare TLS context spares every client the ~0.1 s of loading CA certificates.
NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, verify=NO_TLS, **kwargs)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class LevelAuth(httpx.Auth):
    """The merchant pair for merchant calls, the Cart API pair for cart calls, as the bot does."""

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        cart = request.url.path.startswith("/v1/cart/")
        yield from httpx.BasicAuth(*(CART if cart else AUTH)).auth_flow(request)


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=LevelAuth(), timeout=2.0, verify=NO_TLS) as c:
        yield c


def order_path(ref: str) -> str:
    return f"/v1/merchant/orders/{ref}"


def cancel_path(ref: str) -> str:
    return f"/v1/cart/orders/wms_cancel/{ref}"


def list_refs(response: httpx.Response) -> list[str]:
    assert response.json()["success_code"] is True
    return [record["cust_ref"] for record in response.json()["response"]]


# -- auth ------------------------------------------------------------------------------------


def test_missing_credentials_get_401(server: SandboxServer) -> None:
    """A call without Basic auth gets HTTP 401 with the Invalid envelope and is recorded as such."""
    response = get(server.url + order_path(SHIPPED_REF))
    assert response.status_code == 401
    assert response.json() == {
        "success_code": False,
        "error_code": "Invalid",
        "message": "Invalid API User or Key",
    }
    assert server.requests[-1].auth_ok is False
    assert server.requests[-1].credential is None


def test_wrong_credentials_get_401(server: SandboxServer) -> None:
    """A wrong API key gets HTTP 401, and the recorded request never holds the key."""
    response = get(server.url + order_path(SHIPPED_REF), auth=("sandbox", "wrong-key"))
    assert response.status_code == 401
    assert "wrong-key" not in repr(server.requests)


def test_each_api_level_takes_only_its_own_pair(book: OrderBook) -> None:
    """wms_cancel (a Cart API call) takes only the cancel pair and merchant calls only the main:
    CartRover keeps separate credentials per API level."""
    with SandboxServer(book, cancel_api_user="cart", cancel_api_key="cart-key") as server:
        url = server.url
        assert get(url + cancel_path(STALE_TEST_REF), auth=AUTH).status_code == 401
        assert server.requests[-1].credential == "main"
        cart = ("cart", "cart-key")
        assert get(url + order_path(STALE_TEST_REF), auth=cart).status_code == 401
        response = get(url + cancel_path(STALE_TEST_REF), auth=cart)
        assert response.json()["response"] == {"success": True, "message": ""}
        accepted = server.requests[-1]
        assert (accepted.credential, accepted.auth_ok) == ("cancel", True)
        assert book.cancel_count(STALE_TEST_REF) == 1


def test_the_merchant_pair_never_cancels(server: SandboxServer, book: OrderBook) -> None:
    """The default sandbox has its own Cart API pair: the merchant pair is refused on wms_cancel
    and changes nothing; the pair may not be the merchant pair."""
    response = get(server.url + cancel_path(STALE_TEST_REF), auth=AUTH)
    assert response.status_code == 401
    assert server.cancel_requests(STALE_TEST_REF)[0].credential == "main"
    assert book.cancel_count(STALE_TEST_REF) == 0
    with pytest.raises(ValueError, match="Cart API pair"):
        SandboxServer(book, cancel_api_user=AUTH[0], cancel_api_key=AUTH[1])


def test_legacy_query_credentials_are_redacted(client: httpx.Client, server: SandboxServer) -> None:
    """Credentials sent in the query string are not accepted and not recorded."""
    response = get(
        server.url + order_path(SHIPPED_REF), params={"api_user": "sandbox", "api_key": "secret9"}
    )
    assert response.status_code == 401
    recorded = server.requests[-1]
    assert recorded.query["api_key"] == "***"
    assert "secret9" not in recorded.raw_path


# -- M2 --------------------------------------------------------------------------------------


def test_order_lookup_returns_record(client: httpx.Client) -> None:
    """M2 answers the order under `response`, with numbers as strings and Y/N flags, but no
    status and no listing counts (the status call and the listings carry those)."""
    response = client.get(order_path(SHIPPED_REF))
    assert response.status_code == 200
    body = response.json()
    assert body["success_code"] is True
    order = body["response"]
    assert order["cust_ref"] == SHIPPED_REF
    assert "order_status" not in order
    assert "total_qty" not in order
    assert str(order["items"][0]["quantity"]) == "2"
    assert re.fullmatch(r"\d+\.\d\d", order["grand_total"])
    assert (order["sending_canceled"], order["on_hold"]) == ("N", "N")
    assert order["created_date_time"].endswith("+00:00")
    shipment = order["shipments"][0]
    assert shipment["carrier"] == "UPS"
    assert shipment["tracking_no"].startswith("1Z")


def test_pii_removed_order(client: httpx.Client) -> None:
    """A marketplace order can carry "**PII Removed**" in its ship-to fields."""
    order = client.get(order_path(PII_REMOVED_REF)).json()["response"]
    assert order["ship_first_name"] == "**PII Removed**"
    assert order["items"][0]["quantity"] == "3"


def test_unknown_order_is_404(client: httpx.Client) -> None:
    """M2 for an unknown order answers HTTP 404 with "Order not found: <ref>"."""
    response = client.get(order_path("NOPE-1"))
    assert response.status_code == 404
    assert response.json() == {
        "success_code": False,
        "error_code": "Invalid",
        "message": "Order not found: NOPE-1",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/v1/merchant/orders/../orders/SHOP-48213",
        "/v1/merchant/orders/..",
        "/v1/merchant/orders/%2e%2e",
        "/v1/merchant/orders/list/new/extra",
        "/v1/merchant/orders/",
        "/v1/merchant/warehouse/status",
        "/v1/cart/orders/SHOP-48213",
    ],
)
def test_unmatched_raw_paths_are_404(server: SandboxServer, path: str) -> None:
    """A raw path that is not exactly one of the three routes is 404, with dot segments kept."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    try:
        conn.request("GET", path, headers={"Authorization": httpx.BasicAuth(*AUTH)._auth_header})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 404
    assert b'"success_code": false' in body
    assert PROCESS_ID.fullmatch(response.getheader("X-CartRover-Process-ID") or "")
    assert server.requests[-1].raw_path == path
    assert server.requests[-1].route is None


# -- M1 --------------------------------------------------------------------------------------


def test_list_pages_with_limit_and_total_header(client: httpx.Client) -> None:
    """M1 pages by limit and page, and carries a total-records header."""
    everything = list_refs(client.get("/v1/merchant/orders/list/any", params={"limit": 100}))
    assert len(everything) == 25
    pages = [
        client.get("/v1/merchant/orders/list/any", params={"limit": 10, "page": page})
        for page in (1, 2, 3, 4)
    ]
    assert [len(list_refs(p)) for p in pages] == [10, 10, 5, 0]
    assert [ref for p in pages for ref in list_refs(p)] == everything
    assert pages[0].headers["total-records"] == "25"
    assert len(list_refs(client.get("/v1/merchant/orders/list/any"))) == 20


@pytest.mark.parametrize(
    "params", [{"limit": "101"}, {"limit": "0"}, {"page": "0"}, {"limit": "x"}]
)
def test_list_bad_paging_is_invalid(client: httpx.Client, params: dict[str, str]) -> None:
    """A limit above 100 (or a malformed limit/page) is an Invalid error on HTTP 200."""
    response = client.get("/v1/merchant/orders/list/new", params=params)
    assert response.status_code == 200
    assert response.json()["error_code"] == "Invalid"


def test_list_to_date_with_encoded_offset(
    client: httpx.Client, server: SandboxServer, clock: FrozenClock
) -> None:
    """A %2B-encoded to_date on `new` filters on the created date: only orders older remain."""
    cutoff = (clock.now() - timedelta(hours=24)).isoformat()
    response = client.get("/v1/merchant/orders/list/new", params={"to_date": cutoff, "limit": 100})
    refs = list_refs(response)
    assert "%2B00%3A00" in server.requests[-1].raw_path
    assert STALE_TEST_REF in refs
    assert CANCELED_SENDING_REF in refs  # still status "new": the client must re-check the flag
    assert FRESH_TEST_REF not in refs
    assert all(r["order_status"] == "new" for r in response.json()["response"])
    created = [r["created_date_time"] for r in response.json()["response"]]
    assert created == sorted(created)


def test_list_literal_plus_in_date_is_invalid(client: httpx.Client, server: SandboxServer) -> None:
    """A literal `+` in the query decodes to a space, so the date is refused as Invalid."""
    response = client.get("/v1/merchant/orders/list/new?to_date=2026-03-01T12:00:00+00:00")
    assert "+00:00" in server.requests[-1].raw_path
    assert response.status_code == 200
    assert response.json()["success_code"] is False
    assert response.json()["error_code"] == "Invalid"
    assert "to_date" in response.json()["message"]


def test_list_filters_by_order_source_and_status(client: httpx.Client) -> None:
    """order_source and the status filter narrow the listing."""
    params: dict[str, str | int] = {"order_source": TEST_SOURCE, "limit": 100}
    refs = list_refs(client.get("/v1/merchant/orders/list/new", params=params))
    assert STALE_TEST_REF in refs
    assert all(ref.startswith("TS-") for ref in refs)
    assert list_refs(client.get("/v1/merchant/orders/list/canceled")) == [CANCELED_REF]
    assert list_refs(client.get("/v1/merchant/orders/list/error")) == [ERROR_REF]
    bad = client.get("/v1/merchant/orders/list/bogus").json()
    assert bad["error_code"] == "Invalid"


def test_list_date_field_depends_on_status(book: OrderBook) -> None:
    """at_wms filters on the delivered date and shipped on the shipment date (bounds inclusive)."""
    at_wms = book.get(AT_WMS_REF)
    shipped = book.get(SHIPPED_REF)
    assert at_wms is not None
    assert shipped is not None
    delivered = datetime.fromisoformat(at_wms["delivered_to_wms_date"])
    assert AT_WMS_REF in [r["cust_ref"] for r in book.list("at_wms", delivered, delivered)]
    later = delivered + timedelta(seconds=1)
    assert AT_WMS_REF not in [r["cust_ref"] for r in book.list("at_wms", later)]
    ship_date = datetime.fromisoformat(shipped["shipments"][0]["date"])
    assert [r["cust_ref"] for r in book.list("shipped", ship_date, ship_date)] == [SHIPPED_REF]
    with pytest.raises(ValueError, match="status"):
        book.list("partial")


# -- C4 --------------------------------------------------------------------------------------


def test_wms_cancel_sets_sending_canceled(client: httpx.Client, book: OrderBook) -> None:
    """wms_cancel on a New order answers success and a re-read shows sending_canceled "Y"."""
    response = client.get(cancel_path(STALE_TEST_REF))
    assert response.json() == {"success_code": True, "response": {"success": True, "message": ""}}
    order = client.get(order_path(STALE_TEST_REF)).json()["response"]
    status = client.get(f"/v1/merchant/orders/status/{STALE_TEST_REF}").json()["response"]
    assert (status["order_status"], order["sending_canceled"]) == ("new", "Y")
    assert book.cancel_count(STALE_TEST_REF) == 1


def test_wms_cancel_refused_at_wms(
    client: httpx.Client, server: SandboxServer, book: OrderBook
) -> None:
    """With `moved_on = "refuse"`, wms_cancel on an order already at the WMS answers
    response.success false with a message."""
    server.faults.moved_on = "refuse"
    body = client.get(cancel_path(AT_WMS_REF)).json()
    assert body["success_code"] is True
    assert body["response"]["success"] is False
    assert "WMS" in body["response"]["message"]
    record = book.get(AT_WMS_REF)
    assert record is not None and record["order_status"] == "at_wms"
    assert order_view(record) == client.get(order_path(AT_WMS_REF)).json()["response"]


@pytest.mark.parametrize("status", [404, 200])
def test_wms_cancel_unknown_order_fails(
    client: httpx.Client, server: SandboxServer, status: int
) -> None:
    """wms_cancel of an unknown order is a Failure envelope, on HTTP 404 or 200 as the
    not-found switch says (CartRover's choice is undocumented)."""
    server.faults.not_found_status = status
    response = client.get(cancel_path("NOPE-1"))
    assert response.status_code == status
    assert response.json()["error_code"] == "Failure"
    assert response.json()["message"] == "Order not found: NOPE-1"


def test_book_cancel_is_idempotent_and_counted(book: OrderBook) -> None:
    """A second cancel of the same order succeeds again and both calls are counted."""
    assert book.wms_cancel(FRESH_TEST_REF).ok is True
    assert book.wms_cancel(FRESH_TEST_REF).ok is True
    assert book.wms_cancel(CANCELED_REF).ok is True
    assert book.wms_cancel(SHIPPED_REF, moved_on="refuse") == (False, "Order has already shipped")
    assert book.cancel_count(FRESH_TEST_REF) == 2
    assert book.total_cancels() == 4
    with pytest.raises(UnknownOrder):
        book.wms_cancel("NOPE-1")


# -- the bucket and headers ------------------------------------------------------------------


def test_bucket_limits_after_capacity(book: OrderBook) -> None:
    """With capacity 5 the header counts down and the 6th call is RateLimit on HTTP 200."""
    tick = FakeMonotonic()
    with (
        SandboxServer(book, capacity=5, refill_seconds=0.6, monotonic=tick) as server,
        httpx.Client(base_url=server.url, auth=AUTH, verify=NO_TLS) as client,
    ):
        answers = [client.get(order_path(SHIPPED_REF)) for _ in range(6)]
        assert [a.headers[REMAINING] for a in answers] == ["4", "3", "2", "1", "0", "0"]
        assert answers[5].status_code == 200
        assert answers[5].json()["error_code"] == "RateLimit"
        assert server.rate_limited_count == 1
        tick.now += 0.6
        assert client.get(order_path(SHIPPED_REF)).json()["success_code"] is True
        tick.now += 60
        assert client.get(order_path(SHIPPED_REF)).headers[REMAINING] == "4"
        server.set_rate_limit(2, 10)
        assert client.get(order_path(SHIPPED_REF)).headers[REMAINING] == "1"


def test_process_id_on_every_answer(client: httpx.Client, server: SandboxServer) -> None:
    """Every answer, errors included, carries a unique X-CartRover-Process-ID."""
    server.faults.fail_5xx = 1
    answers = [
        client.get(order_path(SHIPPED_REF)),
        get(server.url + order_path(SHIPPED_REF)),
        client.get(order_path("NOPE-1")),
        client.get("/v1/nothing"),
        client.get(cancel_path("NOPE-1")),
    ]
    server.faults.rate_limit_next = 1
    answers.append(client.get(order_path(SHIPPED_REF)))
    ids = [a.headers["X-CartRover-Process-ID"] for a in answers]
    assert all(PROCESS_ID.fullmatch(pid) for pid in ids)
    assert len(set(ids)) == len(ids)
    assert [r.process_id for r in server.requests[-len(ids) :]] == ids


# -- the time simulation ---------------------------------------------------------------------


def test_orders_go_to_wms_after_send_delay(book: OrderBook, clock: FrozenClock) -> None:
    """Past send_delay a New order becomes at_wms at its send time; canceled or held ones stay."""
    start = clock.now()
    clock.advance(timedelta(hours=4) - timedelta(seconds=1))
    fresh = book.get(FRESH_TEST_REF)
    assert fresh is not None
    assert fresh["order_status"] == "new"
    clock.advance(timedelta(hours=1))
    fresh = book.get(FRESH_TEST_REF)
    assert fresh is not None
    assert fresh["order_status"] == "at_wms"
    assert fresh["delivered_to_wms_date"] == (start + timedelta(hours=4)).isoformat()
    for ref in (CANCELED_SENDING_REF, ON_HOLD_REF):
        kept = book.get(ref)
        assert kept is not None
        assert kept["order_status"] == "new"
    assert all(r["cust_ref"] in (CANCELED_SENDING_REF, ON_HOLD_REF) for r in book.list("new"))


def test_added_orders_send_from_their_own_time(clock: FrozenClock) -> None:
    """An order added later is sent send_delay after it was added; send_delay None never sends."""
    book = OrderBook(clock, send_delay=timedelta(minutes=10))
    never = OrderBook(clock, send_delay=None)
    clock.advance(timedelta(minutes=5))
    record = generate_orders(1, now=clock.now())[0]
    book.add(record)
    never.add(record)
    clock.advance(timedelta(minutes=9))
    assert book.list("new") != []
    clock.advance(timedelta(minutes=1))
    assert book.list("new") == []
    assert [r["cust_ref"] for r in book.list("at_wms")] == [record["cust_ref"]]
    clock.advance(timedelta(days=30))
    assert never.list("at_wms") == []


def test_cancel_after_send_is_refused(
    client: httpx.Client, server: SandboxServer, clock: FrozenClock
) -> None:
    """Once the simulation has sent an order, wms_cancel over HTTP is refused (when the switch
    says so)."""
    server.faults.moved_on = "refuse"
    clock.advance(timedelta(hours=5))
    body = client.get(cancel_path(FRESH_TEST_REF)).json()
    assert body["response"] == {"success": False, "message": "Order is already at the WMS"}


def test_seed_holds_the_documented_mix(book: OrderBook) -> None:
    """The seed holds test orders by source and by pattern, and every order status."""
    everything = book.list("any")
    assert len(everything) == 25
    assert any(r["order_source"] == TEST_SOURCE for r in everything)
    by_pattern = [r for r in everything if re.match(TEST_PATTERN, r["cust_po_no"])]
    assert {r["order_source"] for r in by_pattern} == {"Shopify"}
    statuses = {r["order_status"] for r in everything}
    assert statuses == {"new", "at_wms", "shipped", "confirmed", "error", "canceled"}


def test_generator_fills_a_benchmark_book(clock: FrozenClock) -> None:
    """generate_orders makes 20,000 distinct orders of the asked age that M1 pages through."""
    records = generate_orders(20_000, now=clock.now(), min_age=timedelta(hours=30))
    assert len({r["cust_ref"] for r in records}) == 20_000
    big = OrderBook(clock)
    big.add_many(records)
    cutoff = clock.now() - timedelta(hours=30)
    first, total = big.page("new", to_date=cutoff, limit=100, page=1)
    last, _ = big.page("new", to_date=cutoff, limit=100, page=200)
    assert total == 20_000
    assert (first[0]["cust_ref"], last[-1]["cust_ref"]) == ("BENCH-000001", "BENCH-020000")


# -- faults ----------------------------------------------------------------------------------


def test_fault_latency(client: httpx.Client, server: SandboxServer) -> None:
    """`latency` delays every answer."""
    server.faults.latency = 0.2
    started = time.monotonic()
    assert client.get(order_path(SHIPPED_REF)).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_fault_fail_5xx(client: httpx.Client, server: SandboxServer) -> None:
    """`fail_5xx` gives the next N requests HTTP 503 with an HTML body, then recovers."""
    server.faults.fail_5xx = 2
    answers = [client.get(order_path(SHIPPED_REF)) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["content-type"].startswith("text/html")
    assert answers[0].text.startswith("<html>")


def test_fault_rate_limit_next(client: httpx.Client, server: SandboxServer) -> None:
    """`rate_limit_next` answers RateLimit on HTTP 200, or 429 with Retry-After when asked."""
    server.faults.rate_limit_next = 1
    first = client.get(order_path(SHIPPED_REF))
    assert (first.status_code, first.json()["error_code"]) == (200, "RateLimit")
    server.faults.rate_limit_next = 1
    server.faults.rate_limit_http_429 = True
    second = client.get(order_path(SHIPPED_REF))
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert second.json()["error_code"] == "RateLimit"
    assert client.get(order_path(SHIPPED_REF)).status_code == 200
    assert server.rate_limited_count == 2


def test_fault_hang_cancel(client: httpx.Client, server: SandboxServer, book: OrderBook) -> None:
    """`hang_cancel` applies the cancel, then withholds the answer until released."""
    server.faults.hang_cancel = 1
    with pytest.raises(httpx.ReadTimeout):
        client.get(cancel_path(STALE_TEST_REF), timeout=0.3)
    order = book.get(STALE_TEST_REF)
    assert order is not None
    assert order["sending_canceled"] == "Y"
    assert len(server.cancel_requests(STALE_TEST_REF)) == 1
    server.faults.hang_cancel = 1
    answers: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answers.append(client.get(cancel_path("TS-1002"))))
    caller.start()
    assert server.faults.wait_held(2, timeout=2)  # the timed-out one is still held too
    server.faults.release()
    caller.join(timeout=2)
    assert answers[0].json()["response"]["success"] is True


def test_fault_hang_cancel_ends_at_stop(book: OrderBook) -> None:
    """A held cancel answer is dropped when the server stops, without slowing the stop."""
    server = SandboxServer(book).start()
    server.faults.hang_cancel = 1
    failures: list[Exception] = []

    def call() -> None:
        try:
            get(server.url + cancel_path(STALE_TEST_REF), auth=CART, timeout=5)
        except httpx.HTTPError as exc:
            failures.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 2
    while not server.cancel_requests() and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    caller.join(timeout=2)
    assert time.monotonic() - started < 1.5
    assert len(failures) == 1


def test_fault_reset_cancel(client: httpx.Client, server: SandboxServer, book: OrderBook) -> None:
    """`reset_cancel` applies the cancel, then resets the connection without an answer."""
    server.faults.reset_cancel = 1
    with pytest.raises(httpx.TransportError):
        client.get(cancel_path(STALE_TEST_REF))
    order = book.get(STALE_TEST_REF)
    assert order is not None
    assert order["sending_canceled"] == "Y"
    assert client.get(order_path(STALE_TEST_REF)).status_code == 200


def test_fault_drip(server: SandboxServer) -> None:
    """`drip` writes the answer one byte per interval, so it never completes quickly."""
    server.faults.drip = True
    server.faults.drip_interval = 0.1
    auth = httpx.BasicAuth(*AUTH)._auth_header
    request = f"GET {order_path(SHIPPED_REF)} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(request.encode())
        deadline = time.monotonic() + 0.35
        while time.monotonic() < deadline:
            received += sock.recv(1024)
    assert 2 <= len(received) <= 6
    assert b"HTTP/1.1 200".startswith(received)


def test_fault_refuse_cancel(client: httpx.Client, server: SandboxServer, book: OrderBook) -> None:
    """`refuse_cancel` answers a Failure envelope and leaves the order alone."""
    server.faults.refuse_cancel = True
    body = client.get(cancel_path(STALE_TEST_REF)).json()
    assert (body["success_code"], body["error_code"]) == (False, "Failure")
    assert body["message"]
    order = book.get(STALE_TEST_REF)
    assert order is not None
    assert order["sending_canceled"] == "N"


def test_fault_cancel_noop(client: httpx.Client, server: SandboxServer, book: OrderBook) -> None:
    """`cancel_noop` answers success but changes nothing (a silent no-op)."""
    server.faults.cancel_noop = True
    body = client.get(cancel_path(STALE_TEST_REF)).json()
    assert body["response"] == {"success": True, "message": ""}
    order = book.get(STALE_TEST_REF)
    assert order is not None
    assert order["sending_canceled"] == "N"
    assert book.cancel_count(STALE_TEST_REF) == 1


def test_faults_reset_clears_everything(client: httpx.Client, server: SandboxServer) -> None:
    """`faults.reset()` turns every switch off."""
    faults = server.faults
    faults.fail_5xx = faults.rate_limit_next = faults.hang_cancel = faults.reset_cancel = 3
    faults.refuse_cancel = faults.cancel_noop = faults.drip = True
    faults.latency = 5
    faults.reset()
    assert client.get(cancel_path(STALE_TEST_REF)).json()["response"]["success"] is True


# -- packaging -------------------------------------------------------------------------------


def test_sandbox_imports_only_stdlib_and_clock() -> None:
    """The sandbox imports the standard library, itself and bot.times only (never bot.cartrover)."""
    allowed = set(sys.stdlib_module_names) | {"bot"}
    for source in _sandbox_sources():
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, (source.name, name)
                if name.startswith("bot."):
                    assert name.startswith(("bot.dev.sandbox", "bot.times")), (source.name, name)


def _sandbox_sources() -> list[Path]:
    import bot.dev.sandbox

    return sorted(Path(bot.dev.sandbox.__file__).parent.glob("*.py"))


def test_run_sandbox_serves_until_sigterm() -> None:
    """`run_sandbox` prints the URL and credentials, serves the seed, and exits on SIGTERM."""
    code = "from bot.dev.sandbox import run_sandbox; run_sandbox(0)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=_sandbox_sources()[0].parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url is not None, first
        lines = [proc.stdout.readline() for _ in range(4)]
        assert any(SANDBOX_API_KEY in line for line in lines)
        response = get(url.group(0) + order_path(SHIPPED_REF), auth=AUTH, timeout=2)
        assert response.json()["response"]["cust_ref"] == SHIPPED_REF
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

"""The CartRover client against the real sandbox over loopback, and scripted httpx transports."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot import metrics
from bot.cartrover.client import CartRoverClient
from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    NotConfigured,
    OrderNotFound,
    RateLimited,
    Unavailable,
    UnexpectedReply,
    Withheld,
)
from bot.cartrover.models import CancelOutcome
from bot.cartrover.pacing import LeakyBucket
from bot.dev.sandbox import (
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    OrderBook,
    SandboxServer,
    generate_orders,
)
from bot.dev.sandbox.handler import ODD_CANCEL_REPLIES
from bot.orderref import OrderRefError
from bot.settings import ConfigError, Settings
from bot.times import FrozenClock

USER, KEY = "sandbox", "sandbox-key"
CANCEL_USER, CANCEL_KEY = "cart-user", "cart-secret-key"
TOKEN = base64.b64encode(f"{USER}:{KEY}".encode()).decode()
CART = {"cancel_user": SANDBOX_CANCEL_API_USER, "cancel_key": SANDBOX_CANCEL_API_KEY}


class Sleeps(list[float]):
    """An injected sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def book(clock: FrozenClock) -> OrderBook:
    book = OrderBook(clock, send_delay=None)
    book.add_many(generate_orders(3, now=clock.now(), prefix="TS-", start=1))
    book.add_many(generate_orders(1, now=clock.now(), prefix="WMS-", status="at_wms"))
    return book


@pytest.fixture
def server(book: OrderBook) -> Iterator[SandboxServer]:
    with SandboxServer(book, capacity=1000, refill_seconds=0.001) as server:
        yield server


@pytest.fixture
def connect(sleeps: Sleeps) -> Iterator[Callable[..., CartRoverClient]]:
    """Build clients (closed after the test); defaults suit the sandbox fixture."""
    made: list[CartRoverClient] = []

    def make(base_url: str, **options: Any) -> CartRoverClient:
        options.setdefault("bucket", LeakyBucket(1000, 0.001))
        options.setdefault("sleep", sleeps)
        options.setdefault("deadline", 5.0)
        options = CART | options
        client = CartRoverClient(base_url, USER, KEY, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def scripted(*replies: httpx.Response | Exception) -> tuple[httpx.Client, list[httpx.Request]]:
    """An httpx.Client whose transport plays ``replies`` in order and records what it received
    (requests answered by an exception never reached the 'server' and are not recorded)."""
    queue = list(replies)
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        received.append(request)
        return reply

    return httpx.Client(transport=httpx.MockTransport(handler)), received


def envelope(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    headers.setdefault("X-CartRover-Process-ID", "PID-1")
    return httpx.Response(status, content=json.dumps(payload).encode(), headers=headers)


OK_CANCEL = envelope({"success_code": True, "response": {"success": True, "message": ""}})
OK_STATUS = envelope({"success_code": True, "response": {"cust_ref": "A-1", "order_status": "new"}})
OK_DETAILS = envelope(
    {"success_code": True, "response": {"cust_ref": "A-1", "sending_canceled": "N"}}
)


def by_path(
    replies: dict[str, httpx.Response | Exception],
) -> tuple[httpx.Client, list[httpx.Request]]:
    """An httpx.Client answering by path prefix (the longest that matches), for calls that may
    arrive in any order; records what it received."""
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        prefix = max((p for p in replies if request.url.path.startswith(p)), key=len)
        reply = replies[prefix]
        if isinstance(reply, Exception):
            raise reply
        received.append(request)
        return reply

    return httpx.Client(transport=httpx.MockTransport(handler)), received


def order_replies() -> dict[str, httpx.Response | Exception]:
    return {"/v1/merchant/orders/": OK_DETAILS, "/v1/merchant/orders/status/": OK_STATUS}


# ------------------------------------------------------------------------------- the calls


def test_get_order_reads_the_status_call_and_the_order_call(
    server: SandboxServer, connect: Any
) -> None:
    """get_order makes one authenticated status call and one order call; the status comes from
    the status call, the flags and details from the order call (which carries no status)."""
    order = connect(server.url).get_order("TS-000001")
    assert (order.cust_ref, order.order_status, order.order_source) == (
        "TS-000001",
        "new",
        "Test Store",
    )
    assert order.will_be_sent
    seen = sorted((r.path, r.route, r.auth_ok, str(r.query)) for r in server.requests)
    assert seen == [
        ("/v1/merchant/orders/TS-000001", "M2", True, "{}"),
        ("/v1/merchant/orders/status/TS-000001", "M3", True, "{}"),
    ]


@pytest.mark.parametrize("http_status", [404, 200])
def test_missing_order_is_not_found_with_the_process_id(
    server: SandboxServer, connect: Any, http_status: int
) -> None:
    """A missing order raises OrderNotFound with the sandbox's Process-ID, whether CartRover says
    so with HTTP 404 or with an error envelope on HTTP 200."""
    server.faults.not_found_status = http_status
    with pytest.raises(OrderNotFound) as info:
        connect(server.url).get_order("NOPE-1")
    assert info.value.http_status == http_status
    assert info.value.process_id in {r.process_id for r in server.requests}
    assert len(server.requests) == 2


@pytest.mark.parametrize("http_status", [401, 200])
def test_wrong_credentials_fail_without_retry(
    server: SandboxServer, sleeps: Sleeps, http_status: int
) -> None:
    """Refused credentials (HTTP 401, or an envelope on 200) raise AuthenticationFailed; neither
    call is retried."""
    server.faults.auth_failure_status = http_status
    with (
        CartRoverClient(server.url, USER, "wrong", sleep=sleeps) as client,
        pytest.raises(AuthenticationFailed),
    ):
        client.get_order("TS-000001")
    assert len(server.requests) == 2
    assert sleeps == []


def test_a_status_reply_without_order_status_is_unexpected(connect: Any) -> None:
    """The status call answering without order_status raises UnexpectedReply naming what was
    missing; the status is never guessed, not even from an order reply that carries one."""
    details = envelope(
        {"success_code": True, "response": {"cust_ref": "A-1", "order_status": "new"}}
    )
    no_status = envelope({"success_code": True, "response": {"cust_ref": "A-1", "cust_po_no": "1"}})
    http, _ = by_path({"/v1/merchant/orders/": details, "/v1/merchant/orders/status/": no_status})
    with pytest.raises(UnexpectedReply, match="has no order_status") as info:
        connect("https://cr.test", http=http).get_order("A-1")
    assert (info.value.http_status, info.value.process_id) == (200, "PID-1")


def test_the_status_call_decides_when_the_order_reply_disagrees(
    connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An order reply that does carry order_status is overruled by the status call, and the
    disagreement is logged."""
    details = envelope(
        {"success_code": True, "response": {"cust_ref": "A-1", "order_status": "new"}}
    )
    shipped = envelope(
        {"success_code": True, "response": {"cust_ref": "A-1", "order_status": "shipped"}}
    )
    http, _ = by_path({"/v1/merchant/orders/": details, "/v1/merchant/orders/status/": shipped})
    with caplog.at_level(logging.DEBUG, logger="bot.cartrover"):
        order = connect("https://cr.test", http=http).get_order("A-1")
    assert order.order_status == "shipped"
    assert "the status reply decides" in caplog.text


def test_cancel_uses_the_cancel_credentials(book: OrderBook, sleeps: Sleeps) -> None:
    """wms_cancel goes with the cancel pair and reads with the main pair."""
    with (
        SandboxServer(book, cancel_api_user=CANCEL_USER, cancel_api_key=CANCEL_KEY) as server,
        CartRoverClient(
            server.url, USER, KEY, cancel_user=CANCEL_USER, cancel_key=CANCEL_KEY, sleep=sleeps
        ) as client,
    ):
        reply = client.cancel_sending("TS-000002")
        assert client.get_order("TS-000002").is_sending_canceled
    assert reply.accepted
    assert reply.process_id == server.requests[0].process_id
    seen = [(r.route, r.credential) for r in server.requests]
    assert seen[0] == ("C4", "cancel")
    assert sorted(seen[1:]) == [("M2", "main"), ("M3", "main")]
    assert book.cancel_count("TS-000002") == 1


def test_without_a_cancel_pair_nothing_is_sent(server: SandboxServer) -> None:
    """Without a cancel pair, wms_cancel is never sent with the merchant pair in its place: the
    client raises NotConfigured, naming the variables, and CartRover receives nothing."""
    with CartRoverClient(server.url, USER, KEY) as client:
        assert not client.can_cancel
        for call in (lambda: client.cancel_sending("TS-000001"), client.probe_cancel_keys):
            with pytest.raises(NotConfigured, match="CARTROVER_CANCEL_API_USER"):
                call()
        assert client.get_order("TS-000001").will_be_sent  # reads need only the merchant pair
    assert server.cancel_requests() == []


def test_cancel_refused_in_the_reply_is_not_accepted(server: SandboxServer, connect: Any) -> None:
    """response.success false becomes CancelReply(accepted=False) with CartRover's message."""
    server.faults.moved_on = "refuse"
    reply = connect(server.url).cancel_sending("WMS-000001")
    assert not reply.accepted
    assert reply.message == "Order is already at the WMS"


def test_cancel_failure_envelope_is_refused(server: SandboxServer, connect: Any) -> None:
    """A Failure envelope on the cancel is a REFUSED reply with the message, sent once."""
    server.faults.refuse_cancel = True
    reply = connect(server.url).cancel_sending("TS-000001")
    assert (reply.outcome, reply.message) == (
        CancelOutcome.REFUSED,
        "Unable to cancel sending: order is locked by the WMS",
    )
    assert '"error_code": "Failure"' in reply.raw
    assert len(server.cancel_requests()) == 1


@pytest.mark.parametrize("odd", sorted(ODD_CANCEL_REPLIES))
def test_an_odd_cancel_answer_is_unclear_never_an_error(
    server: SandboxServer, connect: Any, odd: str
) -> None:
    """A bare success, an empty response, HTML or truncated JSON to the cancel is UNCLEAR (it
    may have acted), kept as received, and sent once."""
    server.faults.cancel_reply = odd
    reply = connect(server.url).cancel_sending("TS-000001")
    assert reply.outcome is CancelOutcome.UNCLEAR
    assert reply.raw.startswith("HTTP 200: ")
    assert len(server.cancel_requests()) == 1


def test_success_without_the_expected_field_is_unexpected(connect: Any) -> None:
    """A success envelope without `response` raises UnexpectedReply with status and PID."""
    http, _ = scripted(envelope({"success_code": True}))
    with pytest.raises(UnexpectedReply) as info:
        connect("https://cr.test", http=http).get_status("A-1")
    assert (info.value.http_status, info.value.process_id) == (200, "PID-1")


# ------------------------------------------------------------------------------- paging


@pytest.mark.parametrize(("count", "calls"), [(0, 1), (99, 1), (100, 2), (101, 2), (250, 3)])
def test_listing_pages_until_a_short_page(
    clock: FrozenClock, connect: Any, count: int, calls: int
) -> None:
    """The listing makes exactly one call per page and stops at the first short page."""
    book = OrderBook(clock, send_delay=None)
    book.add_many(generate_orders(count, now=clock.now()) if count else [])
    with SandboxServer(book, capacity=1000, refill_seconds=0.001) as server:
        listing = connect(server.url).iter_orders("new", to_date=clock.now())
        refs = [order.cust_ref for order in listing]
        requests = server.requests
    assert len(refs) == len(set(refs)) == count
    assert listing.pages_fetched == calls
    assert not listing.truncated
    assert [r.query["page"] for r in requests] == [str(p) for p in range(1, calls + 1)]
    assert {r.query["limit"] for r in requests} == {"100"}


def test_listing_is_lazy_and_reports_truncation(
    clock: FrozenClock, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing is fetched before iteration; hitting the page cap sets truncated and warns."""
    book = OrderBook(clock, send_delay=None)
    book.add_many(generate_orders(25, now=clock.now()))
    with SandboxServer(book, capacity=1000, refill_seconds=0.001) as server:
        listing = connect(server.url).iter_orders(limit=10, max_pages=2)
        assert server.requests == []
        assert len(list(listing)) == 20
    assert listing.truncated
    assert "page cap" in caplog.text
    with pytest.raises(RuntimeError):
        iter(listing)


def test_listing_sends_the_offset_as_percent_2b(server: SandboxServer, connect: Any) -> None:
    """The outgoing list URL carries the timestamp's plus as %2B, and the sandbox accepts it."""
    cutoff = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    list(
        connect(server.url).iter_orders(
            "new", from_date=cutoff - timedelta(days=9), to_date=cutoff, order_source="Test Store"
        )
    )
    raw = server.requests[0].raw_path
    assert "to_date=2026-03-01T09%3A00%3A00%2B00%3A00" in raw
    assert "order_source=Test%20Store" in raw
    assert "+" not in raw


# ------------------------------------------------------------------------------- pacing


@pytest.mark.parametrize("threads", [1, 4])
def test_a_burst_never_hits_the_sandbox_rate_limit(book: OrderBook, threads: int) -> None:
    """150 reads as fast as possible, serially or from 4 threads, at a 20-call bucket refilling
    every 10 ms produce zero RateLimit answers."""
    with (
        SandboxServer(book, capacity=20, refill_seconds=0.01) as server,
        CartRoverClient(server.url, USER, KEY, bucket=LeakyBucket(20, 0.01)) as client,
        ThreadPoolExecutor(threads) as pool,
    ):
        orders = list(pool.map(lambda _: client.get_order("TS-000001"), range(150)))
        assert server.rate_limited_count == 0
    assert len(orders) == 150
    assert len(server.requests) == 300
    assert client.stats == {"get_order": 150, "get_status": 150}


def test_cancel_waits_for_bucket_capacity(connect: Any) -> None:
    """A cancel is only sent once the local bucket has room for it."""
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = LeakyBucket(2, 5.0, headroom=0, monotonic=lambda: now[0], sleep=sleep)
    http, received = scripted(OK_STATUS, OK_STATUS, OK_CANCEL)
    client = connect("https://cr.test", http=http, bucket=bucket, deadline=30.0)
    client.get_status("A-1")
    client.get_status("A-1")
    assert client.cancel_sending("A-1").accepted
    assert waits == [5.0]
    assert len(received) == 3


def test_go_ahead_is_asked_after_the_wait_for_the_bucket_just_before_the_cancel_leaves(
    connect: Any,
) -> None:
    """A process that starts stopping while its cancel waits for the rate limit sends nothing:
    ``go_ahead`` is asked once the bucket has room, and its no raises Withheld before any byte
    leaves (the wait itself is not cut short)."""
    now, events, stopping = [0.0], [], [False]

    def sleep(seconds: float) -> None:
        events.append("waited")
        now[0] += seconds
        stopping[0] = True  # SIGTERM arrives during the wait

    def go_ahead() -> bool:
        events.append("asked")
        return not stopping[0]

    bucket = LeakyBucket(2, 5.0, headroom=0, monotonic=lambda: now[0], sleep=sleep)
    http, received = scripted(OK_STATUS, OK_STATUS, OK_CANCEL)
    client = connect("https://cr.test", http=http, bucket=bucket, deadline=30.0)
    client.get_status("A-1")
    client.get_status("A-1")
    with pytest.raises(Withheld, match="not sent"):
        client.cancel_sending("A-1", go_ahead=go_ahead)
    assert events == ["waited", "asked"]
    assert [r.url.path for r in received] == ["/v1/merchant/orders/status/A-1"] * 2


def test_a_withheld_cancel_never_reaches_cartrover(server: SandboxServer, connect: Any) -> None:
    """Against the sandbox: a cancel whose go_ahead says no is not received; one whose go_ahead
    says yes is received once, and go_ahead was asked once."""
    client = connect(server.url)
    with pytest.raises(Withheld):
        client.cancel_sending("TS-000001", go_ahead=lambda: False)
    assert server.cancel_requests() == []
    asked: list[bool] = []
    assert client.cancel_sending("TS-000001", go_ahead=lambda: asked.append(True) or True).accepted
    assert len(server.cancel_requests("TS-000001")) == 1 and asked == [True]


# ------------------------------------------------------------------------------- retries


def test_reads_are_retried_on_5xx(server: SandboxServer, connect: Any, sleeps: Sleeps) -> None:
    """Two HTML 503 pages are retried with backoff and the third read succeeds."""
    server.faults.fail_5xx = 2
    client = connect(server.url)
    assert client.get_status("TS-000001").cust_ref == "TS-000001"
    assert len(server.requests) == 3
    assert len(sleeps) == 2
    assert all(0 < s <= 8.5 for s in sleeps)
    assert client.stats == {"get_status": 3, "retries": 2, "failures": 2}


def test_reads_stop_after_the_attempt_budget(server: SandboxServer, connect: Any) -> None:
    """A server failing every time gets exactly read_attempts requests, then Unavailable."""
    server.faults.fail_5xx = 10
    with pytest.raises(Unavailable) as info:
        connect(server.url, read_attempts=3).get_status("TS-000001")
    assert info.value.http_status == 503
    assert len(server.requests) == 3


def test_reads_are_retried_on_a_rate_limit_with_http_200(
    server: SandboxServer, connect: Any
) -> None:
    """A RateLimit envelope on HTTP 200 is retried and the read then succeeds."""
    server.faults.rate_limit_next = 1
    client = connect(server.url)
    client.get_status("TS-000001")
    assert len(server.requests) == 2
    assert client.stats["rate_limited"] == 1


def test_reads_honour_retry_after_on_http_429(
    server: SandboxServer, connect: Any, sleeps: Sleeps
) -> None:
    """An HTTP 429 with Retry-After: 1 makes the client wait at least one second."""
    server.faults.rate_limit_next = 1
    server.faults.rate_limit_http_429 = True
    connect(server.url).get_status("TS-000001")
    assert len(server.requests) == 2
    assert sleeps[0] >= 1.0


def test_a_retry_after_beyond_the_deadline_is_raised_at_once(connect: Any, sleeps: Sleeps) -> None:
    """A Retry-After longer than the time left raises RateLimited without sleeping."""
    limited = envelope(
        {"success_code": False, "error_code": "RateLimit"}, 429, **{"Retry-After": "60"}
    )
    http, received = scripted(limited, OK_STATUS)
    with pytest.raises(RateLimited) as info:
        connect("https://cr.test", http=http, deadline=5.0).get_status("A-1")
    assert info.value.retry_after == 60.0
    assert (len(received), sleeps) == (1, [])


def test_cancel_is_not_resent_after_a_read_timeout(
    server: SandboxServer, connect: Any, book: OrderBook
) -> None:
    """A cancel the sandbox applied but never answered is raised as sent, not resent."""
    server.faults.hang_cancel = 1
    timeout = httpx.Timeout(connect=1.0, read=0.3, write=1.0, pool=1.0)
    try:
        with pytest.raises(ConnectionFailed) as info:
            connect(server.url, timeout=timeout).cancel_sending("TS-000001")
    finally:
        server.faults.release()
    assert info.value.request_sent
    assert len(server.cancel_requests("TS-000001")) == 1
    assert book.cancel_count("TS-000001") == 1


def test_cancel_is_not_resent_after_a_reset(
    server: SandboxServer, connect: Any, book: OrderBook
) -> None:
    """A connection reset after the cancel was received is raised as sent, not resent."""
    server.faults.reset_cancel = 1
    with pytest.raises(ConnectionFailed) as info:
        connect(server.url).cancel_sending("TS-000001")
    assert info.value.request_sent
    assert book.cancel_count("TS-000001") == 1


def test_cancel_is_not_retried_on_5xx(server: SandboxServer, connect: Any) -> None:
    """A 5xx to the cancel (it may have acted: UNCLEAR) is returned after exactly one request:
    the client itself never sends a cancel twice."""
    server.faults.fail_5xx = 1
    assert connect(server.url).cancel_sending("TS-000001").outcome is CancelOutcome.UNCLEAR
    assert len(server.cancel_requests()) == 1


def _calls(endpoint: str, result: str) -> float:
    labels = {"endpoint": endpoint, "result": result}
    return metrics.REGISTRY.get_sample_value("cartrover_bot_cartrover_calls_total", labels) or 0


@pytest.mark.parametrize("http_429", [False, True])
def test_a_rate_limit_answer_to_a_cancel_is_raised_once_and_counted(
    server: SandboxServer, connect: Any, http_429: bool
) -> None:
    """A RateLimit answer to the cancel (HTTP 200, or 429 with Retry-After) says CartRover did
    nothing: it is raised as RateLimited after exactly one request, for the hold's runner to send
    again when the pacing allows (the client itself never sends a cancel twice), and counted as
    rate limited, in the client's stats and the calls metric, as any call's would be."""
    server.faults.rate_limit_http_429 = http_429
    server.faults.rate_limit_cancel = 1
    client = connect(server.url)
    limited, ok = _calls("cancel_sending", "RateLimited"), _calls("cancel_sending", "ok")
    with pytest.raises(RateLimited) as info:
        client.cancel_sending("TS-000001")
    assert info.value.retry_after == (1.0 if http_429 else None)
    assert len(server.cancel_requests()) == 1
    assert client.stats == {"cancel_sending": 1, "rate_limited": 1}
    assert _calls("cancel_sending", "RateLimited") == limited + 1
    assert _calls("cancel_sending", "ok") == ok


def test_a_rate_limit_answer_to_a_cancel_empties_the_bucket(connect: Any) -> None:
    """A RateLimit answer to the cancel, even without the remaining-hits header, tells the
    bucket that no call is left, as a read's does."""
    bucket = LeakyBucket(100, 0.6)
    limit = {"success_code": False, "error_code": "RateLimit", "message": "Rate limit exceeded"}
    http, received = scripted(envelope(limit))
    with pytest.raises(RateLimited):
        connect("https://cr.test", http=http, bucket=bucket).cancel_sending("A-1")
    assert len(received) == 1
    assert bucket.level() > 90


def test_cancel_is_retried_when_the_connection_is_refused(connect: Any, sleeps: Sleeps) -> None:
    """Connect errors (nothing sent) are retried; the server receives exactly one cancel."""
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    http, received = scripted(refused, refused, OK_CANCEL)
    assert connect("https://cr.test", http=http).cancel_sending("A-1").accepted
    assert len(received) == 1
    assert len(sleeps) == 2


def test_cancel_retries_are_bounded_against_a_closed_port(connect: Any, sleeps: Sleeps) -> None:
    """A closed port is tried cancel_attempts times, then ConnectionFailed(request_sent=False)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailed) as info:
        connect(f"http://127.0.0.1:{port}", cancel_attempts=3).cancel_sending("A-1")
    assert not info.value.request_sent
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("error", "sent"),
    [
        (httpx.PoolTimeout("pool"), False),
        (httpx.ConnectTimeout("connect"), False),
        (httpx.ReadTimeout("read"), True),
        (httpx.ReadError("reset by peer"), True),
        (httpx.RemoteProtocolError("Server disconnected"), True),
        (httpx.WriteError("broken pipe"), True),
    ],
)
def test_httpx_errors_are_translated(connect: Any, error: Exception, sent: bool) -> None:
    """Each httpx failure becomes ConnectionFailed saying whether the request may have left."""
    http, _ = scripted(error)
    with pytest.raises(ConnectionFailed) as info:
        connect("https://cr.test/base", http=http, cancel_attempts=1).cancel_sending("A-1")
    assert info.value.request_sent is sent
    assert "cr.test" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


# ------------------------------------------------------------------------------- references


BAD_REFS = ["..", ".", ".a", "a/b", "x?y", "a#b", "%2e%2e", "a b", " x", "", "x" * 65]


@pytest.mark.parametrize("ref", BAD_REFS)
def test_bad_references_are_refused_before_any_request(
    server: SandboxServer, connect: Any, ref: str
) -> None:
    """References outside the grammar raise OrderRefError and nothing reaches the sandbox."""
    client = connect(server.url)
    with pytest.raises(OrderRefError):
        client.get_order(ref)
    with pytest.raises(OrderRefError):
        client.cancel_sending(ref)
    assert server.requests == []


@pytest.mark.parametrize("ref", ["A", "TEST-1001", "a.b", "a..b", "-x_y.z", "9" * 64])
def test_accepted_references_reach_exactly_the_expected_path(
    server: SandboxServer, connect: Any, ref: str
) -> None:
    """For accepted references the sandbox sees exactly the order, status and cancel paths with
    that ref."""
    client = connect(server.url)
    with pytest.raises(CartRoverError):
        client.get_order(ref)
    assert not client.cancel_sending(ref).accepted
    assert sorted(r.raw_path for r in server.requests) == sorted(
        [
            f"/v1/cart/orders/wms_cancel/{ref}",
            f"/v1/merchant/orders/status/{ref}",
            f"/v1/merchant/orders/{ref}",
        ]
    )


# ------------------------------------------------------------------------------- secrets, logs


def test_credentials_travel_only_in_the_authorization_header(connect: Any) -> None:
    """The key never appears in the URL; it is sent as HTTP Basic in Authorization."""
    http, received = by_path(order_replies())
    from pydantic import SecretStr

    client = CartRoverClient("https://cr.test", USER, SecretStr(KEY), http=http, sleep=Sleeps())
    client.get_order("A-1")
    assert len(received) == 2
    for request in received:
        assert request.headers["Authorization"] == f"Basic {TOKEN}"
        assert KEY not in str(request.url)
        assert USER not in str(request.url)
        assert request.url.query == b""
        assert request.headers["Accept"] == "application/json"
    client.close()


def test_debug_logs_never_contain_credentials(
    server: SandboxServer, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A DEBUG log capture of reads, a listing and a cancel holds neither key nor token."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "bot.cartrover"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        client = connect(server.url, cancel_user=CANCEL_USER, cancel_key=CANCEL_KEY)
        client.get_order("TS-000001")
        list(client.iter_orders())
        assert client.cancel_sending("TS-000001").outcome is CancelOutcome.REFUSED
    finally:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "Process-ID SBX-" in text
    cancel_token = base64.b64encode(f"{CANCEL_USER}:{CANCEL_KEY}".encode()).decode()
    for secret in (KEY, CANCEL_KEY, TOKEN, cancel_token, "Authorization"):
        assert secret not in text


def test_every_call_logs_one_line(
    server: SandboxServer, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Each call logs one bot.cartrover line with path, status, duration, PID and hits."""
    caplog.set_level(logging.INFO, logger="bot.cartrover")
    connect(server.url).get_status("TS-000001")
    (record,) = [r for r in caplog.records if r.name == "bot.cartrover"]
    message = record.getMessage()
    assert record.levelno == logging.INFO
    assert "GET /v1/merchant/orders/status/TS-000001 → 200 in " in message
    assert f"Process-ID {server.requests[0].process_id}" in message
    assert "hits remaining 999" in message


# ------------------------------------------------------------------------------- deadline


def test_a_dripping_sandbox_is_cut_off_at_the_deadline(server: SandboxServer) -> None:
    """A reply dripped byte by byte is abandoned at the deadline, not at the read timeout."""
    server.faults.drip = True
    server.faults.drip_interval = 0.02
    sleeps = Sleeps()
    with CartRoverClient(server.url, USER, KEY, deadline=1.0, sleep=sleeps) as client:
        started = time.monotonic()
        with pytest.raises(ConnectionFailed, match="1 s deadline") as info:
            client.get_status("TS-000001")
        elapsed = time.monotonic() - started
    assert info.value.request_sent
    assert 0.9 <= elapsed < 1.6
    assert len(server.requests) == 1


def test_a_hanging_cancel_is_cut_off_at_the_deadline(server: SandboxServer) -> None:
    """A cancel answered never is abandoned at the deadline even with a long read timeout."""
    server.faults.hang_cancel = 1
    try:
        with CartRoverClient(server.url, USER, KEY, deadline=0.5, **CART) as client:
            started = time.monotonic()
            with pytest.raises(ConnectionFailed) as info:
                client.cancel_sending("TS-000001")
            assert time.monotonic() - started < 1.2
    finally:
        server.faults.release()
    assert info.value.request_sent


def test_a_slow_body_from_a_caller_transport_is_cut_off(connect: Any) -> None:
    """With a caller-supplied transport, a body trickling in chunks is cut off at the deadline."""

    def trickle() -> Iterator[bytes]:
        yield b'{"success_code": true, '
        while True:
            time.sleep(0.05)
            yield b" "

    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=trickle()))
    )
    started = time.monotonic()
    with pytest.raises(ConnectionFailed):
        connect("https://cr.test", http=http, deadline=0.3).get_status("A-1")
    assert time.monotonic() - started < 0.8


# ------------------------------------------------------------------------------- construction


def test_from_settings_uses_both_credential_pairs() -> None:
    """from_settings reads the URL, the main pair and the cancel pair (SecretStr keys)."""
    settings = Settings.load(
        {
            "CARTROVER_API_URL": "https://cr.test/",
            "CARTROVER_API_USER": USER,
            "CARTROVER_API_KEY": KEY,
            "CARTROVER_CANCEL_API_USER": CANCEL_USER,
            "CARTROVER_CANCEL_API_KEY": CANCEL_KEY,
        }
    )
    http, received = scripted(OK_STATUS, OK_CANCEL)
    with CartRoverClient.from_settings(settings, http=http, sleep=Sleeps()) as client:
        client.get_status("A-1")
        client.cancel_sending("A-1")
    assert client.base_url == "https://cr.test"
    cancel_token = base64.b64encode(f"{CANCEL_USER}:{CANCEL_KEY}".encode()).decode()
    assert [r.headers["Authorization"] for r in received] == [
        f"Basic {TOKEN}",
        f"Basic {cancel_token}",
    ]
    assert not http.is_closed


def test_from_settings_requires_the_main_pair() -> None:
    """Without CARTROVER_API_USER / KEY, from_settings raises ConfigError naming them."""
    with pytest.raises(ConfigError, match="CARTROVER_API_USER"):
        CartRoverClient.from_settings(Settings.load({}))


def test_close_closes_only_an_owned_http_client() -> None:
    """close() closes the httpx client the CartRover client created, not one passed in."""
    owned = CartRoverClient("https://cr.test", USER, KEY)
    owned.close()
    assert owned._exchange.http_is_closed
    http, _ = scripted(OK_STATUS)
    CartRoverClient("https://cr.test", USER, KEY, http=http).close()
    assert not http.is_closed


def test_close_ends_a_call_in_flight_and_refuses_later_calls(server: SandboxServer) -> None:
    """Closing the client aborts a hanging cancel at once (as sent) and later calls send nothing."""
    server.faults.hang_cancel = 1
    client = CartRoverClient(server.url, USER, KEY, sleep=Sleeps(), **CART)
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(client.cancel_sending, "TS-000001")
            assert _wait_for(lambda: len(server.cancel_requests()) == 1)
            started = time.monotonic()
            client.close()
            with pytest.raises(ConnectionFailed) as info:
                pending.result(timeout=5)
            assert time.monotonic() - started < 1.0
    finally:
        server.faults.release()
    assert info.value.request_sent
    with pytest.raises(ConnectionFailed, match="closed") as later:
        client.get_order("TS-000001")
    assert not later.value.request_sent
    assert len(server.requests) == 1


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_a_call_whose_reply_cannot_be_handled_still_leaves_the_bucket() -> None:
    """Whatever ends a call, even an error that is not CartRover's, its place among the calls in
    flight is given back: the next reply's figure is not topped up by a call long over."""
    from bot.cartrover.exchange import Exchange

    http, _ = scripted(
        envelope({"success_code": True}, **{"X-CartRover-Api-Minute-Hits-Remaining": "9"})
    )
    bucket = LeakyBucket(10, 60.0)
    exchange = Exchange("https://cr.test", http=http, bucket=bucket)
    deadline = time.monotonic() + 5

    def broken(raw: Any) -> None:
        raise ValueError("a reply the code did not foresee")

    with pytest.raises(ValueError, match="did not foresee"):
        exchange.call("get_status", "/v1/x", "", "Basic eA==", deadline, broken)
    exchange.call("get_status", "/v1/x", "", "Basic eA==", deadline, lambda raw: None)
    assert bucket.level() == pytest.approx(1, abs=0.1)  # 9 left of 10: one spent, none unseen


def test_reading_several_orders_from_a_closed_client_is_a_cartrover_error() -> None:
    """A closed client refuses a read of several orders as it refuses one: ConnectionFailed,
    nothing sent (never the thread pool's RuntimeError)."""
    http, received = scripted(OK_STATUS)
    client = CartRoverClient("https://cr.test", USER, KEY, http=http)
    client.close()
    with pytest.raises(ConnectionFailed, match="closed") as info:
        client.get_orders(["A-1", "B-2"])
    assert not info.value.request_sent and received == []

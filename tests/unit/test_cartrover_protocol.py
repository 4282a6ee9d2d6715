"""The sans-I/O CartRover protocol: paths, query strings, headers and reply decoding."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from bot.cartrover import protocol, replies
from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    InvalidRequest,
    OrderNotFound,
    RateLimited,
    Refused,
    Unavailable,
    UnexpectedReply,
)
from bot.cartrover.models import CancelOutcome, CancelReply, Flag, OrderStatus
from bot.orderref import OrderRefError

PID = {"X-CartRover-Process-ID": "pid-42"}
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def error(code: str | None, message: str = "Something went wrong", **extra: Any) -> bytes:
    payload: dict[str, Any] = {"success_code": False, "message": message, **extra}
    if code is not None:
        payload["error_code"] = code
    return body(payload)


# ------------------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("TEST-1001", "/v1/merchant/orders/TEST-1001"),
        ("a.b_c-9", "/v1/merchant/orders/a.b_c-9"),
        ("x" * 64, "/v1/merchant/orders/" + "x" * 64),
    ],
)
def test_order_path_interpolates_a_valid_reference(ref: str, expected: str) -> None:
    """A valid reference becomes exactly one path segment under the M2 path."""
    assert protocol.order_path(ref) == expected


def test_cancel_path_is_the_cart_level_wms_cancel() -> None:
    """The cancel path is C4, the cart-level wms_cancel endpoint."""
    assert protocol.cancel_path("TEST-0007") == "/v1/cart/orders/wms_cancel/TEST-0007"


@pytest.mark.parametrize(
    "ref", ["..", ".", ".a", "a/b", "x?y", "a#b", "%2e%2e", "a b", " ", "", "\t", "x" * 65]
)
@pytest.mark.parametrize("build", [protocol.order_path, protocol.cancel_path])
def test_paths_refuse_references_outside_the_grammar(ref: str, build: Any) -> None:
    """Dot segments, separators, percent signs, whitespace, empty and over-long refs are refused."""
    with pytest.raises(OrderRefError):
        build(ref)


def test_list_path_accepts_known_filters_and_refuses_others() -> None:
    """Known status filters build the M1 path; unknown ones (including `partial`) are refused."""
    assert protocol.list_path("new") == "/v1/merchant/orders/list/new"
    assert protocol.list_path("any") == "/v1/merchant/orders/list/any"
    for bad in ("partial", "../x", "NEW", ""):
        with pytest.raises(ValueError, match="unknown list status"):
            protocol.list_path(bad)


# ------------------------------------------------------------------------------------- query


def test_list_query_encodes_the_offset_plus_as_percent_2b() -> None:
    """Timestamps carry an explicit +00:00 offset whose plus travels as %2B."""
    query = protocol.list_query(limit=100, page=1, to_date=datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    assert query == "to_date=2025-03-01T09%3A00%3A00%2B00%3A00&limit=100&page=1"
    assert "+" not in query


def test_outgoing_url_carries_percent_2b() -> None:
    """The URL httpx actually sends keeps %2B (it is not decoded back into a plus)."""
    query = protocol.list_query(
        limit=100,
        page=2,
        from_date=datetime(2025, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1))),
    )
    request = httpx.Request("GET", "https://api.example/v1/merchant/orders/list/new?" + query)
    assert b"from_date=2025-03-01T09%3A30%3A00%2B00%3A00" in request.url.raw_path


def test_list_query_includes_order_source_percent_encoded() -> None:
    """order_source is sent percent-encoded, a space as %20 and never as a plus."""
    query = protocol.list_query(limit=5, page=3, order_source="Amazon Seller+EU")
    assert query == "limit=5&page=3&order_source=Amazon%20Seller%2BEU"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0, "page": 1},
        {"limit": 101, "page": 1},
        {"limit": 10, "page": 0},
        {"limit": 10, "page": 1, "order_source": " "},
        {"limit": 10, "page": 1, "to_date": datetime(2025, 3, 1)},
    ],
)
def test_list_query_refuses_bad_values(kwargs: dict[str, Any]) -> None:
    """Out-of-range limit or page, a blank source and a naive datetime are refused."""
    with pytest.raises(ValueError):  # noqa: PT011
        protocol.list_query(**kwargs)


def test_format_timestamp_converts_to_utc_and_never_uses_z() -> None:
    """Timestamps are converted to UTC, drop microseconds and use +00:00 rather than Z."""
    when = datetime(2025, 3, 1, 9, 0, 5, 123456, tzinfo=timezone(timedelta(hours=-5)))
    assert protocol.format_timestamp(when) == "2025-03-01T14:00:05+00:00"


# ------------------------------------------------------------------------------------- headers


def test_basic_auth_encodes_user_and_key() -> None:
    """The Authorization value is HTTP Basic over api_user:api_key."""
    value = protocol.basic_auth("merchant", "s3cr:et")
    assert value.startswith("Basic ")
    assert base64.b64decode(value.removeprefix("Basic ")) == b"merchant:s3cr:et"


@pytest.mark.parametrize(("user", "key"), [("", "k"), ("u", ""), ("a:b", "k")])
def test_basic_auth_refuses_unusable_credentials(user: str, key: str) -> None:
    """An empty user or key, or a user containing a colon, is refused."""
    with pytest.raises(ValueError):  # noqa: PT011
        protocol.basic_auth(user, key)


def test_header_readers_are_case_insensitive_and_tolerant() -> None:
    """Process-ID, remaining hits and Retry-After are read whatever their case; junk is None."""
    headers = {
        "x-cartrover-process-id": " abc123 ",
        "x-cartrover-api-minute-hits-remaining": "17",
        "retry-after": "2.5",
    }
    assert protocol.process_id(headers) == "abc123"
    assert protocol.remaining_hits(headers) == 17
    assert protocol.retry_after(headers) == 2.5
    junk = {"X-CartRover-Api-Minute-Hits-Remaining": "many", "Retry-After": "Wed, 21 Oct 2015"}
    assert protocol.remaining_hits(junk) is None
    assert protocol.retry_after(junk) is None
    assert protocol.process_id({}) is None
    assert protocol.retry_after({"Retry-After": "-3"}) == 0.0


# ------------------------------------------------------------------------------------- decode


def test_decode_returns_the_response_of_a_success_envelope() -> None:
    """A success envelope yields its `response` data."""
    data = replies.decode(200, PID, body({"success_code": True, "response": {"cust_ref": "A"}}))
    assert data == {"cust_ref": "A"}


def test_decode_returns_none_for_a_success_without_data() -> None:
    """A success envelope without `response` yields None."""
    assert replies.decode(200, PID, body({"success_code": True})) is None


@pytest.mark.parametrize("status", [200, 400, 422])
@pytest.mark.parametrize(
    ("code", "expected"),
    [("Invalid", InvalidRequest), ("Failure", Refused), ("RateLimit", RateLimited)],
)
def test_decode_maps_error_codes_on_200_and_4xx(
    status: int, code: str, expected: type[CartRoverError]
) -> None:
    """Each error_code maps to its error, on HTTP 200 as on a 4xx, with status, code and PID."""
    with pytest.raises(expected) as info:
        replies.decode(status, PID, error(code, "Bad thing"))
    assert info.value.http_status == status
    assert info.value.error_code == code
    assert info.value.process_id == "pid-42"
    assert info.value.message == "Bad thing"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, AuthenticationFailed),
        (403, AuthenticationFailed),
        (404, OrderNotFound),
        (429, RateLimited),
        (500, Unavailable),
        (503, Unavailable),
    ],
)
def test_decode_maps_http_status_with_an_envelope(
    status: int, expected: type[CartRoverError]
) -> None:
    """401/403, 404, 429 and 5xx map by HTTP status even when the envelope says Invalid."""
    with pytest.raises(expected) as info:
        replies.decode(status, PID, error("Invalid", "Nope"))
    assert info.value.http_status == status
    assert info.value.message == "Nope"


def test_decode_maps_a_rate_limit_429_with_retry_after() -> None:
    """An HTTP 429 carries the Retry-After hint in seconds."""
    with pytest.raises(RateLimited) as info:
        replies.decode(429, {"Retry-After": "3", **PID}, error("RateLimit"))
    assert info.value.retry_after == 3.0


def test_decode_maps_a_rate_limit_on_http_200_without_retry_after() -> None:
    """A RateLimit envelope on HTTP 200 is RateLimited without a hint."""
    with pytest.raises(RateLimited) as info:
        replies.decode(200, PID, error("RateLimit"))
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    "message",
    ["Order not found: TEST-1001", "Order TEST-1 does not exist", "Could not find order X"],
)
@pytest.mark.parametrize("code", ["Invalid", "Failure"])
def test_decode_recognises_a_not_found_message(message: str, code: str) -> None:
    """An Invalid or Failure envelope whose text says the order is missing is OrderNotFound."""
    with pytest.raises(OrderNotFound) as info:
        replies.decode(200, PID, error(code, message))
    assert info.value.message == message
    assert info.value.error_code == code


def test_decode_recognises_refused_credentials_on_http_200() -> None:
    """An envelope whose text says the API key was refused is AuthenticationFailed."""
    with pytest.raises(AuthenticationFailed):
        replies.decode(200, PID, error("Invalid", "Invalid api_user or api_key"))


def test_decode_reads_status_message_when_message_is_missing() -> None:
    """The older `status_message` field is read when `message` is absent or blank."""
    payload = {
        "success_code": False,
        "error_code": "Failure",
        "message": " ",
        "status_message": "Dup",
    }
    with pytest.raises(Refused) as info:
        replies.decode(200, PID, body(payload))
    assert info.value.message == "Dup"


def test_decode_truncates_long_messages() -> None:
    """A very long CartRover message is collapsed and truncated."""
    with pytest.raises(Refused) as info:
        replies.decode(200, PID, error("Failure", "word " * 500))
    assert len(info.value.message) <= 300
    assert info.value.message.endswith("…")


@pytest.mark.parametrize("payload", [b"{not json", HTML, b""])
def test_decode_non_json_on_5xx_is_unavailable(payload: bytes) -> None:
    """Malformed JSON, an HTML error page or an empty body on a 5xx is Unavailable."""
    with pytest.raises(Unavailable) as info:
        replies.decode(502, PID, payload)
    assert info.value.http_status == 502
    assert "nginx" not in info.value.message


@pytest.mark.parametrize("status", [200, 404, 400])
@pytest.mark.parametrize("payload", [b"{not json", HTML, b"", b"[1, 2]", b"\xff\xfe"])
def test_decode_non_json_otherwise_is_unexpected(status: int, payload: bytes) -> None:
    """A body that is not a JSON envelope on a non-5xx status is UnexpectedReply, even a 404."""
    with pytest.raises(UnexpectedReply) as info:
        replies.decode(status, PID, payload)
    assert info.value.process_id == "pid-42"


def test_decode_non_json_401_is_authentication_failed() -> None:
    """An HTML 401 page still means the credentials were refused."""
    with pytest.raises(AuthenticationFailed):
        replies.decode(401, {}, HTML)


def test_decode_non_json_429_is_rate_limited() -> None:
    """An HTML 429 page is RateLimited with its Retry-After."""
    with pytest.raises(RateLimited) as info:
        replies.decode(429, {"Retry-After": "7"}, HTML)
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(
    "payload",
    [{"response": {"cust_ref": "A"}}, {"success_code": "true", "response": {}}, {}],
)
def test_decode_without_success_code_true_is_unexpected(payload: dict[str, Any]) -> None:
    """A reply whose success_code is missing or not the boolean true is never a success."""
    with pytest.raises(UnexpectedReply):
        replies.decode(200, PID, body(payload))


def test_decode_success_code_false_without_error_code_is_refused() -> None:
    """success_code false without an error_code is a refusal carrying CartRover's message."""
    with pytest.raises(Refused) as info:
        replies.decode(200, PID, body({"success_code": False, "message": "No."}))
    assert info.value.error_code is None
    assert info.value.message == "No."


def test_decode_success_envelope_on_5xx_is_unavailable() -> None:
    """success_code true does not override an HTTP 5xx."""
    with pytest.raises(Unavailable):
        replies.decode(500, PID, body({"success_code": True, "response": {}}))


def test_decode_redirect_is_unexpected_and_names_the_setting() -> None:
    """A redirect (wrong base URL) is an UnexpectedReply pointing at CARTROVER_API_URL."""
    with pytest.raises(UnexpectedReply, match="CARTROVER_API_URL"):
        replies.decode(301, {}, HTML)


# ------------------------------------------------------------------------------------- records


RECORD = {"cust_ref": "TEST-7", "order_status": "new", "sending_canceled": "N", "on_hold": "N"}


STATUS = OrderStatus("TEST-7", "new")


def test_decode_order_combines_the_order_reply_with_the_status() -> None:
    """An order reply (no status of its own) plus the status call's answer becomes an Order."""
    details = {k: v for k, v in RECORD.items() if k != "order_status"}
    order = replies.decode_order(details, STATUS)
    assert (order.cust_ref, order.order_status) == ("TEST-7", "new")
    assert order.sending_canceled is Flag.NO


@pytest.mark.parametrize("data", [None, [], {}, {"cust_ref": ""}, "TEST-7"])
def test_decode_order_without_a_record_is_unexpected(data: Any) -> None:
    """A success envelope without an order record is UnexpectedReply with the Process-ID."""
    with pytest.raises(UnexpectedReply) as info:
        replies.decode_order(data, STATUS, "pid-9")
    assert info.value.process_id == "pid-9"


@pytest.mark.parametrize(
    "data",
    [None, {}, {"cust_ref": "TEST-7"}, {"cust_ref": "TEST-7", "order_status": ""}, ["x"]],
)
def test_decode_status_without_a_status_is_unexpected(data: Any) -> None:
    """A status reply without order_status (or without a record) is UnexpectedReply."""
    with pytest.raises(UnexpectedReply) as info:
        replies.decode_status(data, "pid-8")
    assert info.value.process_id == "pid-8"


def test_decode_orders_parses_a_page_and_refuses_non_lists() -> None:
    """A list of records becomes Orders; every empty shape is an empty page (unknown #17);
    anything else, or a bad record, is UnexpectedReply."""
    assert [o.cust_ref for o in replies.decode_orders([RECORD, RECORD])] == ["TEST-7"] * 2
    for empty in (None, [], {}, ""):
        assert replies.decode_orders(empty) == []
    no_status = {k: v for k, v in RECORD.items() if k != "order_status"}
    bad: tuple[Any, ...] = ({"orders": []}, [RECORD, "junk"], [no_status], 0, False, "x")
    for data in bad:
        with pytest.raises(UnexpectedReply):
            replies.decode_orders(data)


@pytest.mark.parametrize(
    ("message", "empty"),
    [
        ("No orders found", True),
        ("no orders found for this merchant", True),
        ("No matching orders", True),
        ("No records found", True),
        ("Orders not found", True),
        ("0 orders returned", True),
        ("Order not found: TEST-1", False),
        ("Invalid order status: partial", False),
        ("Invalid API User or Key", False),
    ],
)
def test_a_listing_error_that_says_no_orders_is_an_empty_page(message: str, empty: bool) -> None:
    """Unknown #17: a listing's error envelope whose words say no orders were found is an empty
    page, on HTTP 200 or 404; any other error stays an error."""
    for status in (200, 404):
        body = json.dumps({"success_code": False, "error_code": "Invalid", "message": message})
        if empty:
            assert replies.decode_listing(status, {}, body.encode()) == []
        else:
            with pytest.raises(CartRoverError):
                replies.decode_listing(status, {}, body.encode())


def test_a_rate_limit_saying_no_orders_is_still_a_rate_limit() -> None:
    """Only a refusal's words can make an empty page: a RateLimit answer never does."""
    body = b'{"success_code": false, "error_code": "RateLimit", "message": "no more orders now"}'
    with pytest.raises(RateLimited):
        replies.decode_listing(200, {}, body)


def _cancel(status: int, body: bytes, pid: str | None = "p1") -> CancelReply:
    headers = {"X-CartRover-Process-ID": pid} if pid else {}
    return replies.decode_cancel(status, headers, body)


def test_decode_cancel_reads_response_success() -> None:
    """response.success true is accepted; false is a refusal carrying CartRover's message."""
    yes = _cancel(200, b'{"success_code": true, "response": {"success": true, "message": ""}}')
    assert (yes.outcome, yes.message, yes.process_id) == (CancelOutcome.ACCEPTED, "", "p1")
    no = _cancel(
        200, b'{"success_code": true, "response": {"success": false, "message": "At WMS"}}'
    )
    assert (no.outcome, no.message) == (CancelOutcome.REFUSED, "At WMS")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"success_code": true}'),
        (200, b'{"success_code": true, "response": {}}'),
        (200, b'{"success_code": true, "response": {"success": "true"}}'),
        (200, b"<html>ok</html>"),
        (200, b'{"success_code": true, "resp'),
        (200, b""),
        (503, b'{"success_code": false, "error_code": "Failure", "message": "down"}'),
        (502, b"<html>Bad gateway</html>"),
    ],
)
def test_decode_cancel_of_an_unreadable_answer_is_unclear(status: int, body: bytes) -> None:
    """Any answer that is not clearly yes or no is UNCLEAR (CartRover may have acted), never an
    exception, and keeps the answer as received, on one line."""
    reply = _cancel(status, body + b"\n\n")
    assert reply.outcome is CancelOutcome.UNCLEAR
    assert reply.raw.startswith(f"HTTP {status}: ")
    assert "\n" not in reply.raw


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (200, b'{"success_code": false, "error_code": "RateLimit", "message": "slow"}', {}),
        (429, b'{"success_code": false, "error_code": "RateLimit", "message": "slow"}', {}),
        (429, b'{"success_code": false, "error_code": "Failure", "message": "slow"}', {}),
        (429, b"<html>Too Many Requests</html>", {"Retry-After": "7"}),
    ],
)
def test_decode_cancel_of_a_rate_limit_says_nothing_was_done(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    """RateLimit (HTTP 200 or 429) or any 429: CartRover did nothing, unlike an unclear answer,
    so the cancel may go again: raised as RateLimited, as for any call; Retry-After is kept."""
    with pytest.raises(RateLimited) as info:
        replies.decode_cancel(status, headers, body)
    assert info.value.retry_after == (7.0 if headers else None)
    assert info.value.http_status == status


@pytest.mark.parametrize("status", [200, 400])
def test_decode_cancel_of_an_error_envelope_is_refused(status: int) -> None:
    """An error envelope below HTTP 500 is a clear refusal with CartRover's message."""
    reply = _cancel(status, b'{"success_code": false, "error_code": "Failure", "message": "No"}')
    assert (reply.outcome, reply.message, reply.http_status) == (
        CancelOutcome.REFUSED,
        "No",
        status,
    )


def test_a_page_shorter_than_the_limit_is_the_last() -> None:
    """Paging stops at the first page holding fewer records than the limit."""
    assert protocol.is_last_page(0, 100)
    assert protocol.is_last_page(99, 100)
    assert not protocol.is_last_page(100, 100)


def _env(**fields: object) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (
            200,
            _env(success_code=False, error_code="Failure", message="Order not found"),
            "accepted",
        ),
        (404, _env(success_code=False, error_code="Invalid", message="Not found: x"), "accepted"),
        (200, _env(success_code=True, response={"success": False, "message": "No"}), "accepted"),
        (200, _env(success_code=True), "accepted"),
        (401, _env(success_code=False, message="Invalid API User or Key"), "refused"),
        (403, b"<html>Forbidden</html>", "refused"),
        (200, _env(success_code=False, error_code="Invalid", message="Invalid API Key"), "refused"),
        (200, _env(success_code=False, message="No permission for this API level"), "refused"),
        (200, _env(success_code=False, error_code="RateLimit", message="slow down"), "unclear"),
        (429, _env(success_code=False, message="slow down"), "unclear"),
        (503, b"<html>Service Unavailable</html>", "unclear"),
        (502, _env(success_code=False, message="upstream"), "unclear"),
        (404, b"<html>Not Found</html>", "unclear"),
        (302, b"", "unclear"),
        (200, _env(response={}), "unclear"),
    ],
)
def test_the_key_probe_reads_each_answer(status: int, body: bytes, verdict: str) -> None:
    """Unknowns #2 and #4: a cancel of an order that cannot exist is "keys accepted" when
    CartRover answered about the order, "refused" on 401/403 or words about the keys, and
    "unclear" when the answer says neither; the Process-ID is kept."""
    probe = replies.decode_key_probe(status, {"X-CartRover-Process-ID": "p9"}, body)
    assert (probe.verdict.value, probe.process_id, probe.http_status) == (verdict, "p9", status)
    assert probe.said

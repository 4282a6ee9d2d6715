"""CartRover's wire protocol, sans I/O: paths, query strings, headers, and what a reply means.

Nothing here touches the network or the clock. This module is the **one home** of every known
unknown listed in ``docs/cartrover.md``: each is a named constant or function below whose comment
gives the unknown's number there, so that confirming or correcting one is a one-line change.
:func:`decode` is the single place that decides whether a reply is data or a precise
:class:`~bot.cartrover.errors.CartRoverError` (the model is gidgethub's ``decipher_response``);
:func:`decode_cancel` reads a cancel-sending answer without ever raising.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from bot import __version__
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
from bot.cartrover.models import CancelOutcome, CancelReply, Order, OrderStatus
from bot.orderref import validate_ref

__all__ = [
    "CANCEL_PATH",
    "LIST_PATH",
    "LIST_STATUSES",
    "MAX_LIST_LIMIT",
    "ORDER_PATH",
    "PROCESS_ID_HEADER",
    "REMAINING_HITS_HEADER",
    "REQUEST_HEADERS",
    "STATUS_PATH",
    "basic_auth",
    "cancel_path",
    "decode",
    "decode_cancel",
    "decode_order",
    "decode_orders",
    "decode_status",
    "format_timestamp",
    "is_last_page",
    "list_path",
    "list_query",
    "looks_like_auth_failure",
    "looks_like_not_found",
    "order_path",
    "process_id",
    "remaining_hits",
    "retry_after",
    "status_path",
]

log = logging.getLogger("bot.cartrover")

# ---------------------------------------------------------------------------------------- paths

# The single-order call: details, flags, items and shipments, but no status (unknown #15).
ORDER_PATH = "/v1/merchant/orders/{ref}"
# The status call: the status, the WMS delivery date and shipments, but no flags.
STATUS_PATH = "/v1/merchant/orders/status/{ref}"
# The merchant-level listing. Unknown #7: `limit` max 100, `order_source` from unofficial clients
# only; the bot pages until a short page and re-filters client-side.
LIST_PATH = "/v1/merchant/orders/list/{status}"
# Cancel sending. Unknowns #1-#3: what it does, which keys it takes, and whether a merchant-level
# equivalent exists all live behind this one constant (and decode_cancel below).
CANCEL_PATH = "/v1/cart/orders/wms_cancel/{ref}"

# Status filters the listing accepts. Unknown #9: `partial` is not used.
LIST_STATUSES = frozenset(
    {"new", "at_wms", "shipped", "confirmed", "error", "canceled"}
    | {"new_or_at_wms", "shipped_or_confirmed", "any"}
)
# Unknown #7: the largest page CartRover is believed to serve.
MAX_LIST_LIMIT = 100

# ---------------------------------------------------------------------------------------- headers

# The response header to log on every call and to store for every cancel and error.
PROCESS_ID_HEADER = "X-CartRover-Process-ID"
# Unknown #10: calls still available in the bucket; not every endpoint may send it.
REMAINING_HITS_HEADER = "X-CartRover-Api-Minute-Hits-Remaining"
# The documented request headers (the official client sends Content-Type even on GET).
REQUEST_HEADERS: Mapping[str, str] = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": f"cartrover-bot/{__version__} (Slack chat-ops)",
}

_MAX_MESSAGE = 300  # characters of CartRover's text kept in an error
_MAX_RETRY_AFTER = 3600.0


def _encode_ref(ref: str) -> str:
    # The grammar refuses dot segments, / ? # % and whitespace; quoting is defence in depth.
    return quote(validate_ref(ref), safe="")


def order_path(ref: str) -> str:
    """The single-order path; raises ``OrderRefError`` for anything outside the grammar."""
    return ORDER_PATH.format(ref=_encode_ref(ref))


def status_path(ref: str) -> str:
    """The order-status path; raises ``OrderRefError`` for anything outside the grammar."""
    return STATUS_PATH.format(ref=_encode_ref(ref))


def cancel_path(ref: str) -> str:
    """The ``wms_cancel`` path; raises ``OrderRefError`` for anything outside the grammar."""
    return CANCEL_PATH.format(ref=_encode_ref(ref))


def list_path(status: str) -> str:
    """The listing path for a status filter; raises ``ValueError`` for an unknown filter."""
    if status not in LIST_STATUSES:
        raise ValueError(f"unknown list status {status!r}; expected one of {sorted(LIST_STATUSES)}")
    return LIST_PATH.format(status=status)


def is_last_page(count: int, limit: int) -> bool:
    """Unknown #7: no total is documented (``total-records`` is unverified), so a page with
    fewer than ``limit`` records is the last one."""
    return count < limit


def format_timestamp(when: datetime) -> str:
    """Unknown #12: ISO 8601 in UTC with an explicit ``+00:00`` offset (never ``Z``)."""
    if when.tzinfo is None:
        raise ValueError("CartRover timestamps need an aware datetime")
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def list_query(
    *,
    limit: int,
    page: int,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    order_source: str | None = None,
) -> str:
    """The encoded listing query string. Every reserved character is percent-encoded, so the
    offset's ``+`` travels as ``%2B`` (a literal ``+`` would decode to a space)."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, not {limit}")
    if page < 1:
        raise ValueError(f"page must be 1 or more, not {page}")
    pairs: list[tuple[str, str]] = []
    if from_date is not None:
        pairs.append(("from_date", format_timestamp(from_date)))
    if to_date is not None:
        pairs.append(("to_date", format_timestamp(to_date)))
    pairs += [("limit", str(limit)), ("page", str(page))]
    if order_source is not None:
        if not order_source.strip():
            raise ValueError("order_source must not be empty")
        pairs.append(("order_source", order_source))
    return urlencode(pairs, quote_via=quote, safe="")


def basic_auth(user: str, key: str) -> str:
    """The ``Authorization`` value for HTTP Basic with ``api_user:api_key``. Never put
    credentials in a URL (the legacy query parameters end up in logs)."""
    if not user or not key:
        raise ValueError("CartRover API user and key must both be set")
    if ":" in user:
        raise ValueError("a CartRover API user cannot contain ':'")
    token = base64.b64encode(f"{user}:{key}".encode()).decode("ascii")
    return f"Basic {token}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def process_id(headers: Mapping[str, str]) -> str | None:
    """CartRover's request id, or None when the reply has none."""
    value = _header(headers, PROCESS_ID_HEADER)
    return value[:100] if value else None


def remaining_hits(headers: Mapping[str, str]) -> int | None:
    """Unknown #10: calls left in the server's bucket, or None (header absent or junk)."""
    value = _header(headers, REMAINING_HITS_HEADER)
    try:
        return max(int(float(value)), 0) if value is not None else None
    except ValueError:
        return None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (delta-seconds only), clamped to [0, 1 h]; else None."""
    value = _header(headers, "Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


# ---------------------------------------------------------------------------------------- replies

# Unknown #5: the older docs call the text `status_message`; read `message` first.
MESSAGE_FIELDS = ("message", "status_message")

# Unknown #4: no documented status or envelope for a missing order or bad credentials. We say
# "not found" / "credentials refused" only when CartRover's own words recognisably say so.
_NOT_FOUND = re.compile(
    r"not\s+found|does\s*n[o']t\s+exist|no\s+such\s+order|no\s+orders?\s+(?:found|exists?|with)"
    r"|(?:could|can)\s*n[o']?t\s+(?:be\s+)?(?:find|found|locate)|unable\s+to\s+(?:find|locate)",
    re.IGNORECASE,
)
_AUTH_FAILURE = re.compile(
    r"api[\s_]*(?:user|key)|credential|unauthori[sz]ed|authenticat|access\s+denied",
    re.IGNORECASE,
)


def looks_like_not_found(message: str) -> bool:
    """Unknown #4: does CartRover's text recognisably say the order does not exist?"""
    return bool(_NOT_FOUND.search(message))


def looks_like_auth_failure(message: str) -> bool:
    """Unknown #4: does CartRover's text recognisably say the credentials were refused?"""
    return bool(_AUTH_FAILURE.search(message))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _message(payload: Mapping[str, Any]) -> str:
    for name in MESSAGE_FIELDS:
        value = payload.get(name)
        if isinstance(value, str) and value.strip():
            return _clip(value)
    return ""


_NOT_JSON = object()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def decode(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """A reply → the ``response`` data (None for a success without data), or the precise error.

    Success only when the body is a JSON object with ``success_code is True`` *and* the HTTP
    status is 2xx; errors may come with HTTP 200.
    """
    pid = process_id(headers)
    payload = _json(body)
    if isinstance(payload, Mapping):
        if payload.get("success_code") is True and 200 <= status < 300:
            return payload.get("response")
        raise _envelope_error(status, headers, payload, pid)
    what = "a non-JSON body" if payload is _NOT_JSON else "JSON that is not an envelope"
    raise _status_error(status, headers, f"CartRover answered HTTP {status} with {what}", pid)


def _envelope_error(
    status: int, headers: Mapping[str, str], payload: Mapping[str, Any], pid: str | None
) -> CartRoverError:
    raw_code = payload.get("error_code")
    code = raw_code.strip() if isinstance(raw_code, str) and raw_code.strip() else None
    message = _message(payload)
    kw: dict[str, Any] = {"http_status": status, "error_code": code, "process_id": pid}
    key = (code or "").lower()
    if status == 429 or key == "ratelimit":
        return RateLimited(
            message or "CartRover rate limit", retry_after=retry_after(headers), **kw
        )
    if status in (401, 403) or status >= 500 or 300 <= status < 400:
        fallback = f"CartRover answered HTTP {status}"
        return _status_error(status, headers, message or fallback, pid, code)
    if status == 404 or (message and looks_like_not_found(message)):
        return OrderNotFound(message or "CartRover answered HTTP 404 (not found)", **kw)
    if message and looks_like_auth_failure(message):
        return AuthenticationFailed(message, **kw)
    if key == "invalid" or (code is None and status in (400, 422)):
        return InvalidRequest(message or "CartRover refused the request as invalid", **kw)
    if code is not None or payload.get("success_code") is False:
        return Refused(message or "CartRover refused the request", **kw)
    if payload.get("success_code") is True:
        return UnexpectedReply(f"success_code true with HTTP {status}", **kw)
    return UnexpectedReply(f"a reply without success_code (HTTP {status})", **kw)


def _status_error(
    status: int,
    headers: Mapping[str, str],
    message: str,
    pid: str | None,
    code: str | None = None,
) -> CartRoverError:
    """The error an HTTP status alone implies (used when there is no readable envelope)."""
    kw: dict[str, Any] = {"http_status": status, "error_code": code, "process_id": pid}
    if status == 429:
        return RateLimited(message, retry_after=retry_after(headers), **kw)
    if status in (401, 403):
        return AuthenticationFailed(message, **kw)
    if status >= 500:
        return Unavailable(message, **kw)
    if 300 <= status < 400:
        return UnexpectedReply(f"{message} (a redirect: check CARTROVER_API_URL)", **kw)
    # A 404 without an envelope is more likely a wrong base URL than a missing order (#4).
    return UnexpectedReply(message, **kw)


def _record(data: Any, what: str, process_id: str | None) -> Mapping[str, Any]:
    ref = data.get("cust_ref") if isinstance(data, Mapping) else None
    if not isinstance(ref, str | int) or not str(ref).strip():
        raise UnexpectedReply(f"a success reply without {what}", process_id=process_id)
    return data  # type: ignore[no-any-return]


def decode_status(data: Any, process_id: str | None = None) -> OrderStatus:
    """The status call's ``response`` → OrderStatus. A reply without ``order_status`` is an
    UnexpectedReply that says so: the status is never guessed."""
    record = _record(data, "an order status record", process_id)
    status = record.get("order_status")
    if not isinstance(status, str) or not status.strip():
        raise UnexpectedReply(
            f"CartRover's status reply for {str(record['cust_ref']).strip()[:64]} has no "
            "order_status",
            process_id=process_id,
        )
    return OrderStatus.from_api(record)


class _Once:
    """Log something at WARNING the first time only, then at DEBUG."""

    def __init__(self) -> None:
        self._lock, self._done = threading.Lock(), False

    def level(self) -> int:
        with self._lock:
            first, self._done = not self._done, True
        return logging.WARNING if first else logging.DEBUG


_DISAGREEMENT = _Once()


def decode_order(data: Any, status: OrderStatus, process_id: str | None = None) -> Order:
    """The single-order call's ``response`` plus the status call's answer → an Order.

    Unknown #15: no public example of the single-order reply carries ``order_status``. Should one
    ever do so, the status call still decides, and the disagreement is logged (once at WARNING).
    """
    record = _record(data, "an order record", process_id)
    own = record.get("order_status")
    if isinstance(own, str) and own.strip() and own.strip() != status.order_status:
        log.log(
            _DISAGREEMENT.level(),
            "CartRover's order reply for %s says order_status %r but its status reply says %r; "
            "the status reply decides",
            status.cust_ref,
            own.strip()[:40],
            status.order_status,
        )
    return Order.from_api(record, status=status)


def decode_orders(data: Any, process_id: str | None = None) -> list[Order]:
    """One page of a listing → Orders (a listing record carries its own status and flags);
    anything but a list of records is UnexpectedReply."""
    if not isinstance(data, list):
        raise UnexpectedReply("a success reply without a list of orders", process_id=process_id)
    orders = []
    for item in data:
        record = _record(item, "an order record", process_id)
        status = record.get("order_status")
        if not isinstance(status, str) or not status.strip():
            raise UnexpectedReply("a listing record without order_status", process_id=process_id)
        orders.append(Order.from_api(record))
    return orders


def _raw(status: int, body: bytes) -> str:
    text = body[:400].decode("utf-8", errors="replace")
    return f"HTTP {status}: {_clip(text) or '(empty body)'}"


def decode_cancel(status: int, headers: Mapping[str, str], body: bytes) -> CancelReply:
    """Any answer to cancel sending → CancelReply; never raises.

    Unknown #1: the only known success signal is ``response.success`` (true: ACCEPTED, false:
    REFUSED). An error envelope (``success_code: false``, with any HTTP status below 500) is a
    clear REFUSED. Everything else — a bare ``{"success_code": true}``, an empty ``response``,
    HTML, truncated JSON, a 5xx — is UNCLEAR: CartRover may have acted, so the caller re-reads
    the order and never resends.
    """
    pid, raw = process_id(headers), _raw(status, body)
    payload = _json(body)
    outcome, message = CancelOutcome.UNCLEAR, ""
    if isinstance(payload, Mapping):
        code = payload.get("success_code")
        response = payload.get("response")
        success = response.get("success") if isinstance(response, Mapping) else None
        if code is False and status < 500:
            outcome, message = CancelOutcome.REFUSED, _message(payload)
        elif code is True and 200 <= status < 300 and isinstance(success, bool):
            outcome = CancelOutcome.ACCEPTED if success else CancelOutcome.REFUSED
            message = _message(response) if isinstance(response, Mapping) else ""
    return CancelReply(outcome, message, pid, status, raw)

"""What a CartRover reply means, sans I/O: data, or the precise error.

:func:`decode` is the single place that decides whether a reply is data or a precise
:class:`~bot.cartrover.errors.CartRoverError` (the model is gidgethub's ``decipher_response``);
the ``decode_*`` functions turn data into models, never guessing a field a reply does not carry;
:func:`decode_cancel` reads a cancel-sending answer, raising only for a rate limit. The known
unknowns about replies (see ``docs/cartrover.md``) live here, each named, with its number in a
comment.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

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
from bot.cartrover.models import (
    CancelOutcome,
    CancelReply,
    KeyProbe,
    KeyVerdict,
    Order,
    OrderStatus,
)
from bot.cartrover.protocol import process_id, retry_after

__all__ = [
    "EMPTY_PAGES",
    "MESSAGE_FIELDS",
    "decode",
    "decode_cancel",
    "decode_key_probe",
    "decode_listing",
    "decode_order",
    "decode_orders",
    "decode_status",
    "looks_like_auth_failure",
    "looks_like_not_found",
    "says_no_orders",
    "words_in",
]

log = logging.getLogger("bot.cartrover")

_MAX_MESSAGE = 300  # characters of CartRover's text kept in an error


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


# Unknown #17: no public example shows an empty listing page. The vendor's PHP client returns
# `true` whenever `response` is empty (absent, null, [], {}), so each of those is plausible, and so
# is an error envelope whose words say that no orders were found. Every one is an empty page. A
# singular "Order not found: X" is not: it may be a wrong path read as an order reference.
EMPTY_PAGES: tuple[object, ...] = (None, [], {}, "")
_NO_ORDERS = re.compile(
    r"\bno\s+(?:matching\s+|more\s+)?(?:orders?|records?|results?)\b"
    r"|\b(?:orders|records)\s+not\s+found|\b0\s+(?:orders?|records?)\s+(?:found|returned)",
    re.IGNORECASE,
)


def says_no_orders(message: str) -> bool:
    """Unknown #17: does an error envelope's text say that a listing found no orders?"""
    return bool(_NO_ORDERS.search(message))


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


def _words(payload: Any) -> str:
    """The envelope's message, else its ``response``'s; "" when neither has one."""
    if not isinstance(payload, Mapping):
        return ""
    response = payload.get("response")
    return _message(payload) or (_message(response) if isinstance(response, Mapping) else "")


def words_in(body: str | bytes) -> str:
    """CartRover's own words in a reply's body (as the audit trail keeps a cancel's answer): the
    envelope's message (:data:`MESSAGE_FIELDS`), else its ``response``'s, on one line, clipped;
    "" when it has none or is not JSON."""
    return _words(_json(body))


_NOT_JSON = object()


def _json(body: str | bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def decode(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """A reply → the ``response`` data (None for a success without data), or the precise error.

    Success only when the body is a JSON object with ``success_code is True`` *and* the HTTP
    status is 2xx; errors may come with HTTP 200.
    """
    payload = _json(body)
    success = isinstance(payload, Mapping) and payload.get("success_code") is True
    if success and 200 <= status < 300:
        return payload.get("response")
    raise _error(status, headers, payload)


def decode_listing(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """A listing page's reply → its ``response`` data, as :func:`decode`; an error envelope that
    says no orders were found (unknown #17) is an empty page, not an error."""
    try:
        return decode(status, headers, body)
    except (OrderNotFound, InvalidRequest, Refused) as exc:
        if says_no_orders(exc.message):
            return []
        raise


def _error(status: int, headers: Mapping[str, str], payload: Any) -> CartRoverError:
    """The precise error of a reply that is not a success (``payload``: its decoded body)."""
    pid = process_id(headers)
    if isinstance(payload, Mapping):
        return _envelope_error(status, headers, payload, pid)
    what = "a non-JSON body" if payload is _NOT_JSON else "JSON that is not an envelope"
    return _status_error(status, headers, f"CartRover answered HTTP {status} with {what}", pid)


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
    """One page of a listing → Orders (a listing record carries its own status and flags). Every
    empty shape (:data:`EMPTY_PAGES`, unknown #17) is an empty page; anything else but a list of
    records is UnexpectedReply."""
    if any(data == empty and type(data) is type(empty) for empty in EMPTY_PAGES):
        return []
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
    """Any answer to cancel sending → CancelReply, except a rate limit, raised as RateLimited.

    Unknown #1: the only known success signal is ``response.success`` (true: ACCEPTED, false:
    REFUSED). An error envelope (``success_code: false``, with any HTTP status below 500) is a
    clear REFUSED — except ``error_code: RateLimit`` (or HTTP 429), raised as
    :class:`~bot.cartrover.errors.RateLimited` like any other call's: CartRover did nothing, so
    the cancel may be sent again once the rate limit allows. Everything else — a bare
    ``{"success_code": true}``, an empty ``response``, HTML, truncated JSON, a 5xx — is UNCLEAR:
    CartRover may have acted, so the caller re-reads the order and never resends.
    """
    pid, raw = process_id(headers), _raw(status, body)
    payload = _json(body)
    outcome, message = CancelOutcome.UNCLEAR, ""
    envelope = payload if isinstance(payload, Mapping) else {}
    if status == 429 or (envelope.get("success_code") is False and _is_rate_limit(envelope)):
        raise _error(status, headers, payload)  # RateLimited, as decode() says it
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


def _is_rate_limit(envelope: Mapping[str, Any]) -> bool:
    code = envelope.get("error_code")
    return isinstance(code, str) and code.strip().lower() == "ratelimit"


# Unknowns #2 and #4: how CartRover answers a cancel of an order that cannot exist is undocumented.
# Refused keys: HTTP 401/403, or words about the API user, key, credentials or permission. Any
# other envelope below HTTP 500 means the keys got CartRover to look for the order.
_KEYS_REFUSED = re.compile(r"permission|forbidden|not\s+authori[sz]ed", re.IGNORECASE)


def decode_key_probe(status: int, headers: Mapping[str, str], body: bytes) -> KeyProbe:
    """The answer to the cancel-key probe (a cancel of :data:`protocol.PROBE_REF`) → whether
    CartRover accepted the keys; never raises."""
    pid, payload = process_id(headers), _json(body)
    if not isinstance(payload, Mapping):
        verdict = KeyVerdict.REFUSED if status in (401, 403) else KeyVerdict.UNCLEAR
        return KeyProbe(verdict, _raw(status, body), pid, status)
    said = _words(payload)
    refused = status in (401, 403) or bool(
        said and (looks_like_auth_failure(said) or _KEYS_REFUSED.search(said))
    )
    if refused:
        verdict = KeyVerdict.REFUSED
    elif status == 429 or _is_rate_limit(payload) or not 200 <= status < 500:
        verdict = KeyVerdict.UNCLEAR
    elif payload.get("success_code") in (True, False):
        verdict = KeyVerdict.ACCEPTED
    else:
        verdict = KeyVerdict.UNCLEAR
    return KeyProbe(verdict, said or _raw(status, body), pid, status)

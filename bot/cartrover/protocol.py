"""CartRover's wire protocol, sans I/O, the way out: paths, query strings, request headers, and the
reply headers the client reads. What a reply body means is :mod:`bot.cartrover.replies`.

Nothing here touches the network or the clock. Together with :mod:`~bot.cartrover.replies` this is
the home of every known unknown listed in ``docs/cartrover.md``: each is a named constant or
function whose comment gives the unknown's number there, so that confirming or correcting one is a
one-line change.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from bot import __version__
from bot.orderref import validate_ref

__all__ = [
    "CANCEL_PATH",
    "DATE_FILTER_SLACK",
    "LIST_PATH",
    "LIST_STATUSES",
    "MAX_LIST_LIMIT",
    "ORDER_PATH",
    "PROBE_REF",
    "PROCESS_ID_HEADER",
    "REMAINING_HITS_HEADER",
    "REQUEST_HEADERS",
    "STATUS_PATH",
    "basic_auth",
    "cancel_path",
    "format_timestamp",
    "is_last_page",
    "list_path",
    "list_query",
    "order_path",
    "process_id",
    "remaining_hits",
    "retry_after",
    "status_path",
]


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

# The reference the cancel-key probe cancels: inside the order grammar (so the path is the real
# call's), yet no order can have it. Unknowns #2 and #4: how CartRover answers a cancel of an
# unknown order with good keys and with refused keys is undocumented (replies.read_key_probe).
PROBE_REF = "_cartrover-bot_key-probe_no-such-order_"

# Status filters the listing accepts. Unknown #9: `partial` is not used.
LIST_STATUSES = frozenset(
    {"new", "at_wms", "shipped", "confirmed", "error", "canceled"}
    | {"new_or_at_wms", "shipped_or_confirmed", "any"}
)
# Unknown #7: the largest page CartRover is believed to serve.
MAX_LIST_LIMIT = 100
# Unknown #8: how far off the listing's date filter may be from an order's creation time (dates
# compared in whole days, or the cart's order_date): what a window meant to hold every order
# created since a time starts that much earlier (bot.digest.window).
DATE_FILTER_SLACK = timedelta(days=1)

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

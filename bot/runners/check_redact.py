"""What ``cartrover-bot check --record`` keeps of a reply, so that the record can be attached to a
bug report: every field *name* and the shape of every value; ids, statuses, dates, flags and
error texts; nothing secret, nothing about a customer or a person.

The rules, applied to every JSON body (and to the arguments of each Slack call) — the README
repeats them:

1. Under a **secret** key (a token, secret, password, signature or API key) or a **personal** key
   (names, addresses, cities, states, postcodes, countries, phones, e-mails, companies, titles;
   card, cheque, bank and account numbers, credit and fraud scores, pre-authorisations; customer
   ids; tracking numbers; every ``cust_…``, ``ship_…`` and ``bill_…`` field that is not an order
   reference; Slack's ``user``, ``team`` (unless they hold an id) and ``url``, which name a person
   or a workspace), every value, numbers included, becomes ``"[removed]"``. ``null``, ``""`` and
   empty lists stay, so that a bug report still shows which fields were empty.
2. Under a key of :data:`KEPT` (order references, statuses, flags, dates, warehouse and record
   ids, CartRover's and Slack's error codes and messages, Slack ids, timestamps and view hashes)
   values stay as received.
3. Under any other key, numbers, booleans and ``null`` stay; every other string becomes
   ``"[removed]"`` (free text such as gift messages, notes and message texts).

The query string of a CartRover request is kept as sent (the bot builds it: status, page, limit,
dates). Reply headers are kept only when listed in :data:`KEPT_HEADERS` (or named like a rate-limit
header); request headers, the ``Authorization`` header among them, are never recorded. Last, the
whole file goes through the log redactor: every configured secret and every token-shaped string
is replaced wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["KEPT", "KEPT_HEADERS", "REMOVED", "redact_headers", "redact_value"]

REMOVED = "[removed]"

KEPT = frozenset(
    {
        # CartRover: order references, statuses, flags, dates, ids, the envelope and its errors.
        *("cust_ref", "cust_ref_original", "cust_po_no", "cust_po_no_original", "po_number"),
        *("order_status", "order_source", "sending_canceled", "on_hold", "num_failed_sends"),
        *("order_date", "created_date_time", "updated_date_time", "delivered_to_wms_date"),
        *("mark_in_progress_date", "cancel_date", "delete_date", "requested_ship_date"),
        *("latest_ship_date", "expected_delivery_date", "resubmit_date", "date"),
        *("inventory_warehouse_pk", "record_no", "shipment_pk", "line_item_id", "line_no"),
        *("item", "quantity", "currency_code", "carrier", "method", "ship_code", "version"),
        *("success_code", "success", "error_code", "message", "status_message", "response"),
        # Slack: the envelope, its errors and warnings, ids, timestamps, views.
        *("ok", "error", "warning", "needed", "provided", "response_metadata", "messages"),
        *("warnings", "team_id", "user_id", "bot_id", "app_id", "enterprise_id", "users"),
        *("is_enterprise_install", "channel", "ts", "message_ts", "thread_ts", "usergroup"),
        *("id", "hash", "type", "view", "view_id", "external_id", "root_view_id"),
    }
)
_SECRET = re.compile(r"token|secret|passw|signature|cookie|authori[sz]ation|(^|_)(api_)?key$")
_PERSONAL = re.compile(
    r"name|address|city|state|zip|postal|country|phone|mail|company|title|card|cvv|cheque"
    r"|check_|bank|account|credit|last_four|pre_auth|fraud|birth|customer_id|tracking"
    r"|^(cust|ship|bill)_|^url$|^team$|^user$"
)

_SLACK_ID = re.compile(r"[UWTE][A-Z0-9]{6,}")

KEPT_HEADERS = frozenset(
    {
        "content-type",
        "retry-after",
        "x-cartrover-process-id",
        "x-cartrover-api-minute-hits-remaining",
        "x-oauth-scopes",
        "x-accepted-oauth-scopes",
        "x-slack-req-id",
    }
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The reply headers worth a bug report: those listed, and any rate-limit header."""
    return {
        name: value
        for name, value in headers.items()
        if name.lower() in KEPT_HEADERS or re.search(r"rate-?limit", name, re.IGNORECASE)
    }


def redact_value(value: Any, key: str = "") -> Any:
    """``value`` (found under ``key``) with the rules above applied, at every depth."""
    if key in ("user", "team") and isinstance(value, str) and _SLACK_ID.fullmatch(value):
        return value  # an id, not a name
    if _is_sensitive(key):
        return _removed_everywhere(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item, key) for item in value]
    if isinstance(value, str) and value and key.lower() not in KEPT:
        return REMOVED
    return value


def _is_sensitive(key: str) -> bool:
    lowered = key.lower()
    if lowered in KEPT:
        return False
    return bool(_SECRET.search(lowered) or _PERSONAL.search(lowered))


def _removed_everywhere(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _removed_everywhere(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_removed_everywhere(item) for item in value]
    if value is None or value == "":
        return value
    return REMOVED

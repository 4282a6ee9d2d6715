"""Whether a reply ``cartrover-bot check`` received had the keys the bot relies on.

Slack (an ``ok`` reply): ``auth.test`` needs ``team_id`` and ``user_id`` (the workspace every
click is checked against, and the bot's own user); ``usergroups.users.list`` needs ``users``;
``chat.postMessage`` needs ``ts`` (the card's address for every later update); the views methods
need ``view.id`` and ``view.hash``. A refusal (``ok: false``) is not looked at here: the row that
made the call says what it means.

CartRover: every reply needs ``success_code``. A listing's records need ``cust_ref``,
``order_status``, ``sending_canceled`` and ``created_date_time``; an empty page (whatever the
client reads as one: no ``response``, ``null``, ``[]``, ``{}`` or ``""``) has no records to look
at. An order needs ``cust_ref`` and ``sending_canceled``, a status reply ``order_status``, a
cancel ``response.success``. An error envelope should carry a ``message`` (or
``status_message``) that is not blank: it is what the bot shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.cartrover.errors import UnexpectedReply
from bot.cartrover.replies import MESSAGE_FIELDS, decode_orders
from bot.runners.check_table import Row, Status
from bot.words import plural

__all__ = ["LISTING_KEYS", "SLACK_KEYS", "Reply", "reply_row"]

SLACK_KEYS: Mapping[str, Sequence[str]] = {
    "auth.test": ("team_id", "user_id"),
    "usergroups.users.list": ("users",),
    "chat.postMessage": ("ts",),
    "views.open": ("view.id", "view.hash"),
    "views.update": ("view.id", "view.hash"),
    "views.publish": ("view.id", "view.hash"),
}
LISTING_KEYS = ("cust_ref", "order_status", "sending_canceled", "created_date_time")
_CARTROVER_KEYS: Sequence[tuple[str, Sequence[str]]] = (
    ("/orders/list/", ()),  # records checked one by one
    ("/orders/status/", ("response.order_status",)),
    ("/orders/wms_cancel/", ("response.success",)),
    ("/orders/", ("response.cust_ref", "response.sending_canceled")),
)


@dataclass
class Reply:
    """One call and what came back (``status`` None: no answer, ``error`` says why)."""

    service: str  # "slack" or "cartrover"
    call: str  # "auth.test", or "GET /v1/merchant/orders/list/new"
    arguments: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: str | None = None
    truncated: bool = False


def reply_row(number: int, reply: Reply, *, recording: bool) -> Row:
    """The row saying whether reply ``number`` had the keys the bot relies on."""
    what = f"reply {number}: {reply.call}"
    if reply.status is None:
        return Row(what, Status.SKIP, f"{reply.error or 'no answer'}: nothing to look at")
    body = reply.body
    if not isinstance(body, Mapping):
        return Row(what, Status.SKIP, f"HTTP {reply.status}, not a JSON object: nothing to look at")
    look = _slack(reply.call, body) if reply.service == "slack" else _cartrover(reply.call, body)
    status, detail = look
    fix = ""
    if status is Status.FAIL:
        attach = (
            "attach the folder --record wrote"
            if recording
            else "run `cartrover-bot check --record DIR` and attach DIR"
        )
        fix = f"the bot cannot work with this reply: {attach} to a bug report"
    return Row(what, status, detail, fix)


def _slack(method: str, body: Mapping[str, Any]) -> tuple[Status, str]:
    if "ok" not in body:
        return Status.FAIL, "lacks ok"
    if body.get("ok") is not True:
        return Status.SKIP, f"Slack refused ({body.get('error')}): the row above says what it means"
    return _keys(body, SLACK_KEYS.get(method, ()))


def _cartrover(call: str, body: Mapping[str, Any]) -> tuple[Status, str]:
    if "success_code" not in body:
        return Status.FAIL, "lacks success_code"
    if body.get("success_code") is not True:
        said = (body.get(name) for name in MESSAGE_FIELDS)
        if any(isinstance(text, str) and text.strip() for text in said):
            return Status.OK, "an error reply with its message"
        return Status.WARN, "an error reply without message or status_message"
    path = call.split(" ", 1)[-1]
    if "/orders/list/" in path:
        return _listing(body)
    needed = next((keys for part, keys in _CARTROVER_KEYS if part in path), ())
    return _keys(body, needed)


def _listing(body: Mapping[str, Any]) -> tuple[Status, str]:
    records = body.get("response")
    if not isinstance(records, list) or not records:
        try:  # the client's own reading: an empty page, or no list of records at all
            decode_orders(records)
        except UnexpectedReply:
            return Status.FAIL, "response is not a list of order records"
        return Status.OK, "has success_code; an empty page, no records to look at"
    lacking = sorted(
        {k for r in records for k in LISTING_KEYS if not isinstance(r, Mapping) or k not in r}
    )
    count = plural(len(records), "record")
    if lacking:
        return Status.FAIL, f"{count}; lacking {', '.join(lacking)}"
    return Status.OK, f"has success_code; {count}, each with {', '.join(LISTING_KEYS)}"


def _keys(body: Mapping[str, Any], needed: Sequence[str]) -> tuple[Status, str]:
    lacking = [key for key in needed if not _has(body, key)]
    if lacking:
        return Status.FAIL, f"lacks {', '.join(lacking)}"
    if not needed:
        return Status.OK, "a success reply (the bot reads no further keys from it)"
    return Status.OK, f"has {', '.join(needed)}"


def _has(body: Mapping[str, Any], dotted: str) -> bool:
    value: Any = body
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True

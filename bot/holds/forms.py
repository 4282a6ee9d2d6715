"""The hold form and the reject form (Slack modals), as pure data: the views, what a submitted
view says, and the checks that answer on a field without a CartRover call.

- **The hold form** asks for the orders (a plain-text field, several allowed, separated by
  spaces, commas or new lines), a reason and the channel to post the request in. Submitted, it
  opens the same request as ``/cartrover hold`` (:mod:`bot.holds.submit`).
- **Order references in a message** come from :func:`bot.orderref.refs_in_text`.
- **The reject form** asks for an optional reason; where the Reject was clicked (a card, or the
  clicker's App Home) travels in the view's ``private_metadata``, which only the bot writes.

Every view stays within Slack's limits (100 blocks, 24-character titles, 3000 characters of
``private_metadata``); user text reaches mrkdwn only escaped, and is otherwise ``plain_text``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.holds.requests import Click, Surface
from bot.orderref import MAX_ORDERS_PER_COMMAND, OrderRefError, refs_in_text, split_refs
from bot.slack.blocks.message import Message, context, plain, section
from bot.slack.ids import (
    CHANNEL_FIELD,
    HOLD_FORM,
    HOLD_RESULT,
    ORDERS_FIELD,
    REASON_FIELD,
    REJECT_FORM,
    REJECT_REASON_FIELD,
)
from bot.slack.mrkdwn import code, escape, one_line
from bot.store.records import HoldRequest
from bot.words import first_few, plural

__all__ = [
    "MAX_REASON",
    "HoldDraft",
    "HoldForm",
    "RejectForm",
    "checking_view",
    "hold_form",
    "read_hold_form",
    "read_reject_form",
    "refused_orders",
    "reject_form",
    "result_view",
]

View = dict[str, Any]
MAX_REASON = 500  # as for /cartrover hold
_MAX_TEXT = 3000  # a plain-text input holds at most this much
_ERROR_LIMIT = 300
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
_REQUEST_NUMBER = re.compile(r"[1-9][0-9]{0,17}")


# -------------------------------------------------------------------- the hold form


@dataclass(frozen=True)
class HoldDraft:
    """What the hold form shows when it opens: orders (as text), a reason, a channel, a note."""

    orders: str = ""
    reason: str = ""
    channel_id: str | None = None
    note: str = ""  # mrkdwn, already escaped (e.g. "no order reference found in the message")

    @classmethod
    def from_message(cls, text: str, channel_id: str | None) -> HoldDraft:
        """The form for a message shortcut: every order reference found in ``text``."""
        refs = refs_in_text(text)
        if not refs:
            note = "I found no order reference in that message; type the orders below."
        elif len(refs) > MAX_ORDERS_PER_COMMAND:
            note = (
                f"I found {len(refs)} order references in that message; the first "
                f"{MAX_ORDERS_PER_COMMAND} are filled in (a request holds at most "
                f"{MAX_ORDERS_PER_COMMAND})."
            )
            refs = refs[:MAX_ORDERS_PER_COMMAND]
        else:
            note = f"Filled in from the message: {plural(len(refs), 'order reference')}."
        return cls(orders="\n".join(refs), channel_id=channel_id, note=note)


def hold_form(
    draft: HoldDraft,
    *,
    approval_channel: str | None = None,
    errors: Mapping[str, str] | None = None,
) -> View:
    """The hold form as a modal. ``errors`` (by field) are shown under their fields, for a form
    that comes back after a check that took longer than Slack waits for an answer."""
    shown = dict(errors or {})
    blocks: list[dict[str, Any]] = []
    if draft.note:
        blocks.append(context(draft.note))
    blocks.append(
        _text_input(
            ORDERS_FIELD,
            "Orders",
            draft.orders,
            multiline=True,
            placeholder="TS-1001, TS-1002",
            hint=(
                "CartRover order references (cust_ref). Several allowed, separated by spaces, "
                f"commas or new lines; at most {MAX_ORDERS_PER_COMMAND}."
            ),
        )
    )
    blocks += _error(shown.get(ORDERS_FIELD))
    blocks.append(
        _text_input(
            REASON_FIELD,
            "Reason",
            draft.reason,
            optional=True,
            max_length=MAX_REASON,
            placeholder="test order",
            hint="Shown on the request; approvers read it.",
        )
    )
    blocks += _error(shown.get(REASON_FIELD))
    if approval_channel:
        blocks.append(
            context(f"The request is posted in <#{approval_channel}> (APPROVAL_CHANNEL).")
        )
    else:
        blocks.append(_channel_input(draft.channel_id))
        blocks += _error(shown.get(CHANNEL_FIELD))
    blocks.append(
        context(
            "An approver's click is still needed. Approving stops *sending to the WMS*; it "
            "never deletes an order."
        )
    )
    return {
        "type": "modal",
        "callback_id": HOLD_FORM,
        "title": plain("Hold test orders", 24),
        "submit": plain("Send hold request", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


@dataclass(frozen=True)
class HoldForm:
    """A submitted hold form: the values as typed, and the request they make (or field errors)."""

    orders: str
    reason: str
    channel_id: str | None
    refs: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def draft(self) -> HoldDraft:
        return HoldDraft(self.orders, self.reason, self.channel_id)


def read_hold_form(view: Mapping[str, Any], *, approval_channel: str | None) -> HoldForm:
    """What a submitted hold form asks for, checked without CartRover: the order grammar, the
    reason's length and the channel."""
    values = _values(view)
    orders = _typed(values, ORDERS_FIELD)
    reason = one_line(_typed(values, REASON_FIELD))
    channel = _selected_channel(values)
    errors: dict[str, str] = {}
    refs: list[str] = []
    try:
        refs = split_refs(orders)
    except OrderRefError as exc:
        errors[ORDERS_FIELD] = _clip(str(exc))
    if len(reason) > MAX_REASON:
        errors[REASON_FIELD] = f"Keep the reason under {MAX_REASON} characters."
    if not approval_channel and channel is None:
        errors[CHANNEL_FIELD] = "Choose a channel where the bot is a member."
    return HoldForm(orders, reason, approval_channel or channel, refs, errors)


def refused_orders(refused: list[tuple[str, str]]) -> str:
    """Field error text for orders that cannot be held, e.g. ``TS-1 went to the WMS — …``."""
    shown = [f"{ref} {why}" for ref, why in refused[:3]]
    more = f" (and {len(refused) - 3} more)" if len(refused) > 3 else ""
    return _clip("Not requested, because " + "; ".join(shown) + more)


def checking_view(count: int, *, requesting: bool = False) -> View:
    """What the form turns into while CartRover is asked about the orders (``requesting``: they
    were fine, and the request is being opened)."""
    if requesting:
        text = (
            f"{plural(count, 'order')} can be held; opening the hold request… "
            "This view updates by itself."
        )
    else:
        text = f"Checking {plural(count, 'order')} with CartRover… This view updates by itself."
    return _info_view("Hold test orders", [section(text)])


def result_view(message: Message) -> View:
    """What became of a submitted hold form (the text the requester is told)."""
    return _info_view("Hold test orders", message.blocks[:100])


# -------------------------------------------------------------------- the reject form


@dataclass(frozen=True)
class RejectForm:
    """A submitted reject form: the click it continues, and the reason given ('' for none)."""

    click: Click
    reason: str
    error: str = ""


def reject_form(request: HoldRequest, click: Click) -> View:
    """The optional-reason form a Reject click opens; ``click`` travels with it."""
    origin: dict[str, Any] = {"r": request.id, "s": click.surface.value}
    if click.surface is Surface.HOME:
        origin["v"] = click.view_id
    else:
        origin.update(c=click.channel_id, t=click.message_ts)
    refs = first_few(request.cust_refs, code)
    withdraw = click.user == request.requester
    verb = "Withdraw" if withdraw else "Reject"
    return {
        "type": "modal",
        "callback_id": REJECT_FORM,
        "private_metadata": json.dumps(origin, separators=(",", ":")),
        "title": plain(f"{verb} hold request", 24),
        "submit": plain(verb, 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(f"{verb} hold request *#{request.id}* ({refs})? Nothing is sent to CartRover."),
            _text_input(
                REJECT_REASON_FIELD,
                "Reason",
                "",
                optional=True,
                max_length=MAX_REASON,
                placeholder="not a test order",
                hint="Shown on the request and kept in the audit trail.",
            ),
        ],
    }


def read_reject_form(view: Mapping[str, Any], *, user: str, team: str | None) -> RejectForm | None:
    """The click a submitted reject form continues, by ``user``; None when its metadata is not
    the bot's own (nothing is decided then)."""
    try:
        origin = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    if not isinstance(origin, dict) or not _REQUEST_NUMBER.fullmatch(str(origin.get("r", ""))):
        return None
    request_id = int(str(origin["r"]))
    if origin.get("s") == Surface.HOME.value:
        click = Click(user, team, request_id, surface=Surface.HOME, view_id=str(origin.get("v")))
    else:
        click = Click(
            user, team, request_id, str(origin.get("c") or ""), str(origin.get("t") or "")
        )
    reason = one_line(_typed(_values(view), REJECT_REASON_FIELD))
    error = f"Keep the reason under {MAX_REASON} characters." if len(reason) > MAX_REASON else ""
    return RejectForm(click, reason, error)


# -------------------------------------------------------------------- pieces


def _text_input(
    name: str,
    label: str,
    initial: str,
    *,
    multiline: bool = False,
    optional: bool = False,
    max_length: int = _MAX_TEXT,
    placeholder: str = "",
    hint: str = "",
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": name,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": name,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _channel_input(channel_id: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": CHANNEL_FIELD,
        "placeholder": plain("Choose a channel", 150),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if channel_id and _CHANNEL_ID.fullmatch(channel_id):
        element["initial_conversation"] = channel_id
    return {
        "type": "input",
        "block_id": CHANNEL_FIELD,
        "label": plain("Channel to post the request in", 2000),
        "element": element,
        "hint": plain("The bot must be a member: /invite @cartrover there first.", 2000),
    }


def _error(text: str | None) -> list[dict[str, Any]]:
    return [context(f":warning: {escape(text)}")] if text else []


def _info_view(title: str, blocks: list[dict[str, Any]]) -> View:
    return {
        "type": "modal",
        "callback_id": HOLD_RESULT,
        "title": plain(title, 24),
        "close": plain("Done", 24),
        "blocks": blocks,
    }


def _values(view: Mapping[str, Any]) -> Mapping[str, Any]:
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    return values if isinstance(values, Mapping) else {}


def _field(values: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    block = values.get(name)
    element = block.get(name) if isinstance(block, Mapping) else None
    return element if isinstance(element, Mapping) else {}


def _typed(values: Mapping[str, Any], name: str) -> str:
    value = _field(values, name).get("value")
    return value[:_MAX_TEXT] if isinstance(value, str) else ""


def _selected_channel(values: Mapping[str, Any]) -> str | None:
    selected = _field(values, CHANNEL_FIELD).get("selected_conversation")
    return selected if isinstance(selected, str) and _CHANNEL_ID.fullmatch(selected) else None


def _clip(text: str) -> str:
    return text if len(text) <= _ERROR_LIMIT else text[: _ERROR_LIMIT - 1] + "…"

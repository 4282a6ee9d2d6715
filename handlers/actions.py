"""Approve and Reject clicks: ack at once, read the click, hand it to the approval flow on the
decisions lane, and tell the clicker if it changed nothing.

Which app a payload belongs to is checked before any listener, by the request gate of
:mod:`bot.runners.app`; :func:`refuse_other_app` is what it says and records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond

from bot import metrics
from bot.deps import Deps
from bot.holds import flow
from bot.holds.messages import refusal_message
from bot.holds.requests import Click, Refusal
from bot.slack.blocks import Message
from bot.store.base import AuditEntry
from bot.workers import Lane
from handlers.errors import report_failure
from handlers.replies import Asker, tell

__all__ = [
    "BAD_VALUE",
    "Clicked",
    "approve_clicked",
    "asker_of",
    "button_number",
    "click_of",
    "handle_click",
    "refuse_other_app",
    "reject_clicked",
]

log = logging.getLogger(__name__)

# A button's value is a positive number of at most 18 ASCII digits: it fits every database's
# 64-bit integer. ``str.isdigit`` would let "²" through, which ``int`` then refuses.
_NUMBER = re.compile(r"[1-9][0-9]{0,17}")
BAD_VALUE = "This button carries no valid request number, so nothing was done."  # hold-all too


def button_number(body: dict[str, Any]) -> int | None:
    """The number in the clicked button's ``value``; None when it is not one."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    value = action.get("value") if isinstance(action, dict) else None
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return int(value)
    return None


def _field(body: dict[str, Any], nested: str, flat: str) -> str:
    """``body[nested]["id"]`` (interactive payloads) or ``body[flat]`` (slash commands)."""
    inner = body.get(nested)
    value = inner.get("id") if isinstance(inner, dict) else None
    return str(value or body.get(flat) or "")


def asker_of(body: dict[str, Any], respond: Respond) -> Asker:
    container = body.get("container") if isinstance(body.get("container"), dict) else {}
    channel = (container or {}).get("channel_id") or _field(body, "channel", "channel_id")
    return Asker(
        user=_field(body, "user", "user_id"),
        channel=str(channel),
        respond=respond,
        team=_field(body, "team", "team_id") or None,
    )


def _say(deps: Deps, asker: Asker, text: str) -> None:
    tell(deps, asker, Message.note(text))


def click_of(body: dict[str, Any], asker: Asker) -> Click:
    """The click a ``block_actions`` payload describes."""
    container = body.get("container") if isinstance(body.get("container"), dict) else {}
    return Click(
        user=asker.user,
        team=asker.team,
        request_id=button_number(body),
        channel_id=str((container or {}).get("channel_id") or ""),
        message_ts=str((container or {}).get("message_ts") or ""),
    )


def approve_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    _decided(deps, asker, "approve", flow.clicked(deps, click_of(body, asker), approve=True))


def reject_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    _decided(deps, asker, "reject", flow.clicked(deps, click_of(body, asker), approve=False))


def _decided(deps: Deps, asker: Asker, action: str, refusal: Refusal | None) -> None:
    metrics.CLICKS.labels(
        action, "decided" if refusal is None else refusal.reason.name.lower()
    ).inc()
    if refusal is not None:
        tell(deps, asker, refusal_message(refusal))


Clicked = Callable[[Deps, Asker, dict[str, Any]], None]


def handle_click(
    deps: Deps, ack: Ack, body: dict[str, Any], respond: Respond, clicked: Clicked
) -> None:
    """Every button: ack at once, then run ``clicked`` on the bot's pool."""
    ack()
    asker = asker_of(body, respond)
    deps.workers.submit(
        lambda: clicked(deps, asker, body),
        what=f"{clicked.__name__.replace('_', ' ')}",
        on_error=lambda correlation: report_failure(deps, asker, correlation),
        lane=Lane.DECISIONS if clicked in (approve_clicked, reject_clicked) else Lane.READS,
    )


def refuse_other_app(deps: Deps, body: dict[str, Any], respond: Respond, app_id: str) -> None:
    """A payload of another Slack app: record the refusal and tell the person, changing nothing."""
    asker = asker_of(body, respond)
    why = "This button or command belongs to another Slack app, so I did nothing."
    log.warning("refused a %s payload of another app (%s)", body.get("type") or "command", app_id)
    deps.store.audit(
        AuditEntry(
            at=deps.clock.now(),
            event="refused",
            actor=asker.user or None,
            request_id=button_number(body),  # the request a click names, if it names one
            detail=f"payload of another Slack app ({app_id})",
        )
    )
    if body.get("response_url") and asker.user:
        deps.workers.submit(lambda: _say(deps, asker, why), what="refuse another app's payload")

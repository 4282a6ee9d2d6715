"""Approve and Reject clicks: ack at once; check workspace, message and person; decide once.

Which app a payload belongs to is checked before any listener, by the request gate of
:mod:`bot.runners.app`; :func:`refuse_other_app` is what it says and records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond

from bot.blocks import Message
from bot.blocks.message import section
from bot.deps import Deps
from bot.holds import announce, requests
from bot.store.base import AuditEntry, HoldRequest, RequestState
from bot.workers import Lane
from handlers.errors import report_failure
from handlers.replies import Asker, tell

__all__ = [
    "BAD_VALUE",
    "Clicked",
    "approve_clicked",
    "asker_of",
    "button_number",
    "handle_click",
    "load_request",
    "refuse_other_app",
    "reject_clicked",
]

log = logging.getLogger(__name__)

# A button's value is a positive number of at most 18 ASCII digits: it fits every database's
# 64-bit integer. ``str.isdigit`` would let "²" through, which ``int`` then refuses.
_NUMBER = re.compile(r"[1-9][0-9]{0,17}")
BAD_VALUE = "This button carries no valid request number, so nothing was done."


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
    tell(deps, asker, Message(text=text, blocks=[section(text)]))


def load_request(deps: Deps, asker: Asker, body: dict[str, Any]) -> HoldRequest | None:
    """The request a click is about, or None after telling the clicker why not."""
    why = None
    if deps.team_id and asker.team != deps.team_id:
        why = "This button belongs to another workspace."
    number = button_number(body)
    request = deps.store.get_request(number) if number is not None else None
    container = body.get("container") or {}
    if why is None and request is not None and request.message_ts is None:
        channel, ts = str(container.get("channel_id")), str(container.get("message_ts") or "")
        request = announce.adopt_card(deps, request, channel, ts)  # its post went unanswered
    if why is None and number is None:
        why = BAD_VALUE
    elif why is None and request is None:
        why = "I have no record of this hold request."
    elif (
        why is None
        and request is not None
        and (
            container.get("channel_id") != request.channel_id
            or container.get("message_ts") != request.message_ts
        )
    ):
        why = "This button does not belong to the hold request's message."
    if why is not None:
        deps.store.audit(
            AuditEntry(
                at=deps.clock.now(),
                event="refused",
                actor=asker.user,
                request_id=request.id if request else None,
                detail=why,
            )
        )
        _say(deps, asker, why)
        return None
    return request


def _decide_click(
    deps: Deps,
    asker: Asker,
    body: dict[str, Any],
    decide: Callable[[Deps, HoldRequest, str], requests.Decision],
) -> HoldRequest | None:
    """Load, take the decision, replace the message; the request if this click won."""
    request = load_request(deps, asker, body)
    if request is None:
        return None
    decision = decide(deps, request, asker.user)
    if not decision.ok:
        _say(deps, asker, decision.message)
        if decision.request is not None and decision.request.state is RequestState.EXPIRED:
            announce.refresh(deps, decision.request)  # its buttons go as soon as anyone notices
        return None
    if decision.request is not None:
        announce.refresh(deps, decision.request)
    return request


def approve_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    request = _decide_click(deps, asker, body, requests.approve)
    if request is not None:
        announce.run_approved(deps, request.id)


def reject_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    _decide_click(deps, asker, body, requests.reject)


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

"""Approve and Reject clicks: ack at once; check workspace, message and person; decide once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond

from bot import approval, holds
from bot.blocks import Message
from bot.blocks.common import section
from bot.deps import Deps
from bot.store.base import AuditEntry, HoldRequest, RequestState
from bot.workers import Lane
from handlers.errors import report_failure
from handlers.replies import Asker, tell

__all__ = [
    "Clicked",
    "approve_clicked",
    "asker_of",
    "handle_click",
    "load_request",
    "reject_clicked",
]

log = logging.getLogger(__name__)


def asker_of(body: dict[str, Any], respond: Respond) -> Asker:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    return Asker(
        user=str((body.get("user") or {}).get("id") or ""),
        channel=str(channel),
        respond=respond,
        team=(body.get("team") or {}).get("id"),
    )


def _say(deps: Deps, asker: Asker, text: str) -> None:
    tell(deps, asker, Message(text=text, blocks=[section(text)]))


def load_request(deps: Deps, asker: Asker, body: dict[str, Any]) -> HoldRequest | None:
    """The request a click is about, or None after telling the clicker why not (R32)."""
    why = None
    if deps.team_id and asker.team != deps.team_id:
        why = "This button belongs to another workspace."
    elif deps.app_id and body.get("api_app_id") not in (None, deps.app_id):
        why = "This button belongs to another app."
    action = (body.get("actions") or [{}])[0]
    value = str(action.get("value") or "")
    request = deps.store.get_request(int(value)) if value.isdigit() else None
    container = body.get("container") or {}
    if why is None and request is not None and request.message_ts is None:
        channel, ts = str(container.get("channel_id")), str(container.get("message_ts") or "")
        request = approval.adopt_card(deps, request, channel, ts)  # its post went unanswered
    if why is None and request is None:
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
    decide: Callable[[Deps, HoldRequest, str], holds.Decision],
) -> HoldRequest | None:
    """Load, take the decision, replace the message; the request if this click won."""
    request = load_request(deps, asker, body)
    if request is None:
        return None
    decision = decide(deps, request, asker.user)
    if not decision.ok:
        _say(deps, asker, decision.message)
        if decision.request is not None and decision.request.state is RequestState.EXPIRED:
            approval.refresh(deps, decision.request)  # its buttons go as soon as anyone notices
        return None
    if decision.request is not None:
        approval.refresh(deps, decision.request)
    return request


def approve_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    request = _decide_click(deps, asker, body, holds.approve)
    if request is not None:
        approval.run_approved(deps, request.id)


def reject_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    _decide_click(deps, asker, body, holds.reject)


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

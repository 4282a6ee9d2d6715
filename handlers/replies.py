"""Reading who asked and answering them: the asker and the click a payload describes, the reply
through ``response_url`` with a fallback, modals opened with the interaction's trigger, and what
the user hears when something fails.

``respond()`` does not raise when the ``response_url`` has expired or been used up: the status is
checked, and the message goes out through ``chat.postEphemeral`` instead.

No traceback ever reaches Slack; the log has it, with a correlation id the user can quote.
Nothing is said to anyone about a request that was not verified: its ``response_url`` could
point anywhere.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond

from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    RateLimited,
    Unavailable,
)
from bot.deps import Deps
from bot.holds.messages import not_saved_message
from bot.holds.requests import Click
from bot.holds.rules import RefusalReason
from bot.slack.blocks import Message
from bot.slack.mrkdwn import code, escape
from bot.slack.webapi import Responder, SlackFailed
from bot.store.contracts import audit
from bot.store.records import StoreError
from bot.store.saving import NotSaved
from bot.workers import Lane

__all__ = [
    "REFUSALS",
    "SORRY",
    "Asker",
    "Clicked",
    "asker_of",
    "button_number",
    "cartrover_problem",
    "click_of",
    "handle_click",
    "handle_error",
    "note",
    "open_modal",
    "refuse_other_app",
    "refuse_other_workspace",
    "report_failure",
    "tell",
    "telling_not_saved",
]

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side. It was logged as `{correlation}`."
# Why a click changed nothing, as the clicks counter names it (label values, exported from 0).
REFUSALS = tuple(reason.name.lower() for reason in RefusalReason)
# A button's value is a positive number of at most 18 ASCII digits: it fits every database's
# 64-bit integer. ``str.isdigit`` would let "²" through, which ``int`` then refuses.
_NUMBER = re.compile(r"[1-9][0-9]{0,17}")


@dataclass(frozen=True)
class Asker:
    """Who asked, where, and how to answer them."""

    user: str
    channel: str
    respond: Callable[..., Any]
    team: str | None = None


def note(text: str) -> Message:
    """A plain reply of one text."""
    return Message.note(text)


def tell(deps: Deps, asker: Asker, message: Message, *, in_channel: bool = False) -> None:
    try:
        response = asker.respond(
            text=message.text,
            blocks=message.blocks,
            response_type="in_channel" if in_channel else "ephemeral",
            replace_original=False,
        )
        status = getattr(response, "status_code", 200)
    except Exception as exc:  # the webhook client can raise on a dead connection
        log.warning("response_url failed: %s", type(exc).__name__)
        status = 0
    if 200 <= status < 300:
        return
    how = f"answered {status}" if status else "was not used"
    log.warning("the response_url %s; falling back to chat.postEphemeral", how)
    try:
        deps.poster.ephemeral(asker.channel, asker.user, message.text, message.blocks)
    except SlackFailed as exc:
        log.warning("could not reach %s at all: %s", asker.user, exc.error)


# -- reading a payload


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


Clicked = Callable[[Deps, Asker, dict[str, Any]], None]


def handle_click(
    deps: Deps, ack: Ack, body: dict[str, Any], respond: Respond, clicked: Clicked, lane: Lane
) -> None:
    """Every button whose work runs after the ack: ack at once, then run ``clicked`` on the
    bot's pool, in ``lane``."""
    ack()
    asker = asker_of(body, respond)
    deps.workers.submit(
        telling_not_saved(deps, asker, lambda: clicked(deps, asker, body)),
        what=f"{clicked.__name__.replace('_', ' ')}",
        on_error=lambda correlation: report_failure(deps, asker, correlation),
        lane=lane,
    )


def telling_not_saved(deps: Deps, asker: Asker, job: Callable[[], None]) -> Callable[[], None]:
    """``job``, telling the asker plainly when the database did not take what they asked for
    (nothing was done; try again) instead of a bare apology."""

    def run() -> None:
        try:
            job()
        except NotSaved as exc:
            tell(deps, asker, not_saved_message(exc.what))

    return run


def open_modal(deps: Deps, body: dict[str, Any], view: dict[str, Any]) -> bool:
    """Open ``view`` with the interaction's trigger (valid for three seconds, once), one quick
    Slack call made right after the ack; False when there is none or Slack refused."""
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        return False
    try:
        deps.poster.open_view(trigger, view)
    except SlackFailed as exc:
        log.warning("could not open a form: %s", exc.error)
        return False
    return True


# -- refusals and failures


def refuse_other_app(deps: Deps, body: dict[str, Any], respond: Respond, app_id: str) -> None:
    """A payload of another Slack app: record the refusal and tell the person, changing nothing.
    (Which app a payload belongs to is checked before any listener, by the request gate of
    :mod:`bot.runners.app`.)"""
    asker = asker_of(body, respond)
    why = "This button or command belongs to another Slack app, so I did nothing."
    log.warning("refused a %s payload of another app (%s)", body.get("type") or "command", app_id)
    audit(
        deps.holds,
        deps.clock.now(),
        "refused",
        actor=asker.user or None,
        request_id=button_number(body),  # the request a click names, if it names one
        detail=f"payload of another Slack app ({app_id})",
    )
    if body.get("response_url") and asker.user:
        deps.workers.submit(
            lambda: tell(deps, asker, note(why)), what="refuse another app's payload"
        )


_KINDS = {
    "block_actions": "click",
    "view_submission": "form",
    "view_closed": "form",
    "shortcut": "shortcut",
    "message_action": "shortcut",
    "event_callback": "event",
}


def refuse_other_workspace(
    deps: Deps, body: dict[str, Any], team: str | None, org: str | None
) -> str:
    """A payload of another workspace (or Enterprise Grid org), refused at the entry (by the
    request gate of :mod:`bot.runners.app`): audited and logged, nothing else done, nothing
    sent anywhere. What the acknowledgement says: a line for a slash command (Slack shows it
    to the person), nothing for the rest."""
    kind = "command" if body.get("command") else _KINDS.get(str(body.get("type")), "payload")
    log.warning("refused a %s of another workspace (team %s, org %s)", kind, team, org)
    try:
        audit(
            deps.holds,
            deps.clock.now(),
            "refused",
            actor=_field(body, "user", "user_id") or None,
            request_id=button_number(body),  # the request a click names, if it names one
            detail=f"a {kind} of another workspace ({team or 'no team'}, org {org or 'none'})",
        )
    except StoreError:
        log.warning("the refusal of another workspace's %s was not audited", kind)
    if body.get("command"):
        return "This bot serves another Slack workspace, so I did nothing."
    return ""


def cartrover_problem(exc: CartRoverError) -> Message:
    if isinstance(exc, AuthenticationFailed):
        text = (
            "CartRover refused the bot's API credentials. An admin should check "
            "CARTROVER_API_USER / CARTROVER_API_KEY (Merchant API Keys in CartRover)."
        )
    elif isinstance(exc, RateLimited):
        text = "CartRover is rate limiting the bot right now; try again in a minute."
    elif isinstance(exc, ConnectionFailed | Unavailable):
        text = "CartRover is not answering right now; try again in a few minutes."
    else:
        text = f"CartRover said: {escape(exc.message)}"
    if exc.process_id:
        text += f"\nCartRover Process-ID: {code(exc.process_id)}"
    return Message.note(text)


def report_failure(deps: Deps, asker: Asker, correlation: str) -> None:
    tell(deps, asker, note(SORRY.format(correlation=correlation)))


def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
    """bolt's global error handler: log once with a correlation id, tell the user briefly.

    Only a request that passed the request gate (so was verified) carries a verified
    :class:`~bot.slack.webapi.Responder`; for anything else, such as a request whose signature
    headers made bolt's own check fail, the error is logged in one line and nobody is answered.
    """
    correlation = uuid.uuid4().hex[:8]
    if not (isinstance(respond, Responder) and respond.verified):
        log.warning(
            "refused a request that failed before it was verified (correlation id %s): %s",
            correlation,
            type(error).__name__,
        )
        return
    log.error(
        "listener failed (correlation id %s): %s", correlation, type(error).__name__, exc_info=error
    )
    if body.get("response_url"):
        try:
            respond(
                text=SORRY.format(correlation=correlation),
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:
            log.warning("could not tell the user about %s", correlation)

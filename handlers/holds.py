"""Hold requests in Slack: the card's Approve and Reject, the hold form and the reject form (what
opens them: the shortcuts, ``/cartrover hold`` with no order, the App Home's button, a Reject
click) and their submissions.

A click is acked at once and handed to the approval flow on the decisions lane; the clicker is
told if it changed nothing. A modal must be opened within three seconds of the interaction whose
``trigger_id`` opens it, so listeners ack and call ``views.open`` at once, one quick Slack call;
everything else (reading orders, deciding) runs on the bot's pools. A Reject whose form cannot
be opened (the trigger expired, Slack refused) rejects at once, without a reason, as a Reject
click did before.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, Respond

from bot import metrics
from bot.deps import Deps
from bot.grammar import HOLD
from bot.holds import flow
from bot.holds.approvers import refusal_to_reject
from bot.holds.forms import HoldDraft, hold_form, read_reject_form, reject_form
from bot.holds.messages import not_saved_message, refusal_message
from bot.holds.requests import Click, Refusal, Surface
from bot.holds.submit import hold_form_submitted
from bot.slack.blocks import Message
from bot.slack.blocks.help import usage_error
from bot.slack.ids import REJECT_REASON_FIELD
from bot.slack.webapi import SlackFailed
from bot.store.records import RequestState
from bot.store.saving import NotSaved
from bot.workers import Lane
from handlers.replies import (
    REFUSALS,
    SORRY,
    Asker,
    asker_of,
    click_of,
    open_modal,
    report_failure,
    tell,
    telling_not_saved,
)

__all__ = [
    "USER_ID",
    "approve_clicked",
    "decide_from_home",
    "hold_form_from_command",
    "hold_form_submitted_listener",
    "open_form_clicked",
    "open_reject_form",
    "reject_clicked",
    "reject_form_submitted",
    "reject_without_reason",
    "shortcut",
    "sorry_on_home",
    "wants_hold_form",
]

log = logging.getLogger(__name__)

metrics.start_at_zero(
    metrics.CLICKS,
    [(action, o) for action in ("approve", "reject") for o in ("decided", *REFUSALS)],
)

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


# -- the card's buttons


def approve_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    _decided(deps, asker, "approve", flow.clicked(deps, click_of(body, asker), approve=True))


def reject_without_reason(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    """A card's Reject whose reason form could not open: the rejection at once."""
    _decided(deps, asker, "reject", flow.clicked(deps, click_of(body, asker), approve=False))


def _decided(deps: Deps, asker: Asker, action: str, refusal: Refusal | None) -> None:
    metrics.CLICKS.labels(
        action, "decided" if refusal is None else refusal.reason.name.lower()
    ).inc()
    if refusal is not None:
        tell(deps, asker, refusal_message(refusal))


def reject_clicked(deps: Deps, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    """Reject on a card: the reason form, or (when it cannot open) the rejection at once."""
    ack()
    asker = asker_of(body, respond)
    if open_reject_form(deps, body, click_of(body, asker)):
        return
    deps.workers.submit(
        telling_not_saved(deps, asker, lambda: reject_without_reason(deps, asker, body)),
        what="reject clicked",
        on_error=lambda correlation: report_failure(deps, asker, correlation),
        lane=Lane.DECISIONS,
    )


def open_reject_form(deps: Deps, body: dict[str, Any], click: Click) -> bool:
    """Open the reason form for a Reject on a pending request of this workspace, by someone who
    may reject or withdraw it; False (nothing opened) otherwise, so the click goes straight to
    the flow and its refusal: nobody types a reason only to read that they may not reject."""
    if click.request_id is None or (deps.team_id and click.team != deps.team_id):
        return False
    request = deps.holds.get_request(click.request_id)
    if request is None or request.state is not RequestState.PENDING:
        return False
    if refusal_to_reject(deps.approvers, click.user, request.requester) is not None:
        return False
    return open_modal(deps, body, reject_form(request, click))


# -- a decision clicked on an App Home (answered at the top of the clicker's Home: a Home click
# has no response_url and no channel to answer in)


def decide_from_home(deps: Deps, click: Click, *, approve: bool, reason: str = "") -> None:
    try:
        refusal = flow.clicked(deps, click, approve=approve, reason=reason)
    except NotSaved as exc:
        if USER_ID.fullmatch(click.user):
            deps.home.show(deps, click.user, notice=not_saved_message(exc.what).text)
        return
    if refusal is not None and USER_ID.fullmatch(click.user):
        deps.home.show(deps, click.user, notice=refusal_message(refusal).text)


def sorry_on_home(deps: Deps, user: str, correlation: str) -> None:
    """Tell a Home's user that their click failed on the bot's side."""
    if USER_ID.fullmatch(user):
        deps.home.show(deps, user, notice=SORRY.format(correlation=correlation))


# -- the hold form


def wants_hold_form(text: object) -> bool:
    """``/cartrover hold`` with nothing after it."""
    return isinstance(text, str) and text.strip().lower() == "hold"


def _draft_form(deps: Deps, draft: HoldDraft) -> dict[str, Any]:
    return hold_form(draft, approval_channel=deps.settings.approval_channel)


def hold_form_from_command(deps: Deps, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    """``/cartrover hold`` alone: the hold form, for the command's channel."""
    ack()
    channel = str(body.get("channel_id") or "")
    if open_modal(deps, body, _draft_form(deps, HoldDraft(channel_id=channel))):
        return
    problem = "I could not open the hold form; name the orders instead."
    asker = Asker(str(body.get("user_id") or ""), channel, respond, body.get("team_id"))
    tell(deps, asker, usage_error(problem, HOLD.usage, ()))


def shortcut(deps: Deps, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    """ "Hold test orders" (global) and "Hold orders in message" (a message's orders filled in)."""
    ack()
    if body.get("type") == "message_action":
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        channel = body.get("channel") if isinstance(body.get("channel"), dict) else {}
        text = str((message or {}).get("text") or "")
        draft = HoldDraft.from_message(text, str((channel or {}).get("id") or "") or None)
    else:
        draft = HoldDraft()
    if not open_modal(deps, body, _draft_form(deps, draft)):
        log.warning("a %s shortcut could not open the hold form", body.get("type"))


def open_form_clicked(deps: Deps, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    """The App Home's "Hold test orders…" button."""
    ack()
    if not open_modal(deps, body, _draft_form(deps, HoldDraft())):
        log.warning("the App Home's button could not open the hold form")


def hold_form_submitted_listener(deps: Deps, ack: Ack, body: dict[str, Any]) -> None:
    """The hold form, submitted: errors on their fields, or the form turned into its outcome."""
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    answer = hold_form_submitted(deps, user=str((user or {}).get("id") or ""), view=view or {})
    if answer.errors:
        ack(response_action="errors", errors=answer.errors)
    elif answer.view is not None:
        ack(response_action="update", view=answer.view)
    else:
        ack()


# -- the reject form


def reject_form_submitted(deps: Deps, ack: Ack, body: dict[str, Any]) -> None:
    """The reject form, submitted: close it and reject on the decisions lane, with the reason."""
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    form = read_reject_form(
        view or {},
        user=str((user or {}).get("id") or ""),
        team=str((team or {}).get("id") or "") or None,
    )
    if form is None:
        log.warning("a reject form came back without the bot's own metadata; nothing was done")
        ack()
        return
    if form.error:
        ack(response_action="errors", errors={REJECT_REASON_FIELD: form.error})
        return
    ack()
    click = form.click
    deps.workers.submit(
        lambda: _reject_with_reason(deps, click, form.reason),
        what="reject form submitted",
        on_error=lambda correlation: _reject_failed(deps, click, correlation),
        lane=Lane.DECISIONS,
    )


def _reject_with_reason(deps: Deps, click: Click, reason: str) -> None:
    if click.surface is Surface.HOME:
        decide_from_home(deps, click, approve=False, reason=reason)
        return
    try:
        refusal = flow.clicked(deps, click, approve=False, reason=reason)
    except NotSaved as exc:
        _ephemeral(deps, click, not_saved_message(exc.what))
        return
    if refusal is not None:
        _ephemeral(deps, click, refusal_message(refusal))


def _reject_failed(deps: Deps, click: Click, correlation: str) -> None:
    if click.surface is Surface.HOME:
        sorry_on_home(deps, click.user, correlation)
        return
    _ephemeral(deps, click, Message.note(SORRY.format(correlation=correlation)))


def _ephemeral(deps: Deps, click: Click, message: Message) -> None:
    """A form submission has no ``response_url``: answer in the card's channel, to them only."""
    if not click.channel_id or not click.user:
        return
    try:
        deps.poster.ephemeral(click.channel_id, click.user, message.text, message.blocks)
    except SlackFailed as exc:
        log.warning("could not tell %s what their Reject came to: %s", click.user, exc.error)

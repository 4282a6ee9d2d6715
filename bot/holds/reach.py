"""Reaching the approvers of a waiting hold request (``NOTIFY_APPROVERS``):

- ``mention`` (the default): the card mentions the approvers' user group (``<!subteam^S…>``)
  when ``APPROVERS`` names one, else up to five approvers (:mod:`bot.holds.card`);
- ``dm``: each approver (user groups expanded, the requester left out, at most
  :data:`DM_AT_MOST`) gets a direct message from the app with a link to the card;
- ``off``: nobody is reached; the card just waits.

Either way, one reminder when a tenth of the request's time to live remains
(:func:`remind_due`): in the card's thread mentioning them, or by direct message again. The store
claims the reminder, so several processes send it once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.deps import Deps
from bot.holds.card import CardContext, named_approvers
from bot.settings import Settings
from bot.slack.blocks.message import Message, archive_link
from bot.slack.mrkdwn import code, date_token, user
from bot.slack.webapi import SlackFailed
from bot.store.contracts import audit
from bot.store.records import HoldRequest
from bot.times import time_left
from bot.words import first_few, plural

__all__ = ["DM_AT_MOST", "REMIND_AT", "card_context", "dm_approvers", "remind_due"]

log = logging.getLogger(__name__)

DM_AT_MOST = 10  # approvers sent a direct message per request (or reminder)
REMIND_AT = 10  # remind once 1/REMIND_AT of a request's time to live remains


def card_context(settings: Settings) -> CardContext:
    """What every card needs from the configuration."""
    return CardContext(
        zone=settings.zone,
        notify=settings.notify_approvers,
        approvers=settings.approvers,
        shadow=settings.shadow_mode,
    )


def _ask(request: HoldRequest, settings: Settings, *, reminder: bool) -> str:
    """What an approver is asked, by direct message (mrkdwn, escaped)."""
    refs = first_few(request.cust_refs, code)
    where = f"its card in <#{request.channel_id}>"
    if request.message_ts:
        card = archive_link(request.channel_id, request.message_ts, "its card")
        where = f"{card} in <#{request.channel_id}>"
    expires = date_token(request.expires_at, zone=settings.zone)
    what = "Reminder: hold request" if reminder else "Hold request"
    return (
        f"{what} #{request.id} by {user(request.requester)} waits for an approver: "
        f"{plural(len(request.items), 'order')} ({refs}). Approve or reject it on {where}; "
        f"it expires {expires}."
    )


def dm_approvers(deps: Deps, request: HoldRequest, *, reminder: bool = False) -> int:
    """A direct message to each approver but the requester; how many Slack took."""
    people = sorted(deps.approvers.people() - {request.requester})[:DM_AT_MOST]
    message = Message.note(_ask(request, deps.settings, reminder=reminder))
    sent = 0
    for person in people:
        try:
            deps.poster.direct(person, message.text, message.blocks)
            sent += 1
        except SlackFailed as exc:
            log.warning("could not send %s a direct message about #%s: %s", person, request.id, exc)
    return sent


def remind_due(deps: Deps, waiting: Sequence[HoldRequest]) -> list[int]:
    """Remind the approvers of every request of ``waiting`` (those waiting for an approver, as
    read a moment ago) with a tenth of its time left, once; the ids reminded. The store claims
    each reminder only while its request still waits, so a request ended since is left alone."""
    notify = deps.settings.notify_approvers
    if notify == "off":
        return []
    now = deps.clock.now()
    reminded = []
    for request in waiting:
        ttl = request.expires_at - request.created_at
        due = request.expires_at - ttl / REMIND_AT
        if request.reminded_at or not request.message_ts or not due <= now < request.expires_at:
            continue
        if not deps.holds.claim_reminder(request.id, now):
            continue
        audit(deps.holds, now, "reminded", request_id=request.id)
        if notify == "dm":
            dm_approvers(deps, request, reminder=True)
        else:
            _remind_in_thread(deps, request)
        reminded.append(request.id)
    return reminded


def _remind_in_thread(deps: Deps, request: HoldRequest) -> None:
    settings = deps.settings
    named = named_approvers(request, settings.approvers)
    left = time_left(request.expires_at - deps.clock.now())
    expires = date_token(request.expires_at, zone=settings.zone)
    text = f"hold request #{request.id} still needs an approver; it expires {expires} ({left})."
    text = f"{named}: {text}" if named else text[:1].upper() + text[1:]
    message = Message.note(f"⏰ {text}")
    assert request.message_ts is not None
    try:
        deps.poster.post(
            request.channel_id, message.text, message.blocks, thread_ts=request.message_ts
        )
    except SlackFailed as exc:
        log.warning("could not remind the approvers of #%s: %s", request.id, exc.error)

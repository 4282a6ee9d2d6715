"""Opening a modal from an interaction: at once, with its ``trigger_id`` (valid for three seconds,
once), one quick Slack call made right after the ack."""

from __future__ import annotations

import logging
from typing import Any

from bot.deps import Deps
from bot.holds.forms import reject_form
from bot.holds.requests import Click
from bot.slack.webapi import SlackFailed
from bot.store.base import RequestState

__all__ = ["open_modal", "open_reject_form"]

log = logging.getLogger(__name__)


def open_modal(deps: Deps, body: dict[str, Any], view: dict[str, Any]) -> bool:
    """Open ``view`` with the interaction's trigger; False when there is none or Slack refused."""
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        return False
    try:
        deps.poster.open_view(trigger, view)
    except SlackFailed as exc:
        log.warning("could not open a form: %s", exc.error)
        return False
    return True


def open_reject_form(deps: Deps, body: dict[str, Any], click: Click) -> bool:
    """Open the reason form for a Reject on a pending request of this workspace; False (nothing
    opened) when there is none, so the click goes straight to the flow and its refusal."""
    if click.request_id is None or (deps.team_id and click.team != deps.team_id):
        return False
    request = deps.store.get_request(click.request_id)
    if request is None or request.state is not RequestState.PENDING:
        return False
    return open_modal(deps, body, reject_form(request, click))

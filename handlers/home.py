"""The App Home: the ``app_home_opened`` event, and Approve or Reject clicked on a Home.

The event is handled once per ``event_id`` however often Slack delivers it
(:mod:`bot.slack.events`). bolt acknowledges it as soon as this listener returns, which is at
once: claiming the event id and publishing the Home happen on the bot's pool. A decision clicked
on a Home goes through the same flow as one clicked on the card (:func:`bot.holds.flow.clicked`);
what it changed reaches the card and every Home that shows it, and a click that changed nothing
is explained at the top of the clicker's Home (a Home click has no ``response_url`` and no
channel to answer in).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack

from bot.deps import Deps
from bot.holds.requests import Click, Surface
from bot.slack import events
from bot.slack.ids import HOME_OPENED
from bot.workers import Lane
from handlers.holds import USER_ID, decide_from_home, open_reject_form, sorry_on_home
from handlers.replies import button_number

__all__ = ["from_home", "home_click_of", "home_decision", "home_opened"]

log = logging.getLogger(__name__)


def home_opened(deps: Deps, body: dict[str, Any]) -> None:
    """``app_home_opened``: publish this user's Home, once per delivery of the event."""
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    user = str((event or {}).get("user") or "")
    if (event or {}).get("type") != HOME_OPENED or (event or {}).get("tab") != "home":
        return  # the Messages tab, or not this event
    if not USER_ID.fullmatch(user) or (deps.team_id and body.get("team_id") != deps.team_id):
        return  # not a user id, or another workspace's event
    event_id = body.get("event_id")
    deps.workers.submit(
        lambda: _opened(deps, user, event_id), what="publish an App Home", lane=Lane.READS
    )


def _opened(deps: Deps, user: str, event_id: object) -> None:
    """After the ack: handle the delivery if it is the first of its event id."""
    if not events.first_delivery(deps.surfaces, deps.clock, event_id):
        log.info("an app_home_opened delivery was handled already (or has no event id)")
        return
    deps.surfaces.home_opened(user, deps.clock.now())
    deps.home.show(deps, user)


def from_home(body: dict[str, Any]) -> bool:
    """bolt matcher: the click came from an App Home view."""
    container = body.get("container") if isinstance(body.get("container"), dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    return (container or {}).get("type") == "view" and (view or {}).get("type") == "home"


def home_click_of(body: dict[str, Any]) -> Click:
    """The click an App Home ``block_actions`` payload describes."""
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    return Click(
        user=str((user or {}).get("id") or ""),
        team=str((team or {}).get("id") or "") or None,
        request_id=button_number(body),
        surface=Surface.HOME,
        view_id=str((view or {}).get("id") or ""),
    )


def home_decision(deps: Deps, ack: Ack, body: dict[str, Any], *, approve: bool) -> None:
    """Approve or Reject on a Home: ack; a Reject opens its reason form (at once: the trigger
    lasts three seconds); the decision itself runs on the decisions lane."""
    ack()
    click = home_click_of(body)
    if not approve and open_reject_form(deps, body, click):
        return
    deps.workers.submit(
        lambda: decide_from_home(deps, click, approve=approve),
        what="approve clicked" if approve else "reject clicked",
        on_error=lambda correlation: sorry_on_home(deps, click.user, correlation),
        lane=Lane.DECISIONS,
    )

"""``stale`` and ``digest`` subcommands, and the "Request hold for all" click. Thin: the work is in
:mod:`bot.digest.schedule` and :mod:`bot.holds.announce`."""

from __future__ import annotations

import logging
from typing import Any

from bot.blocks import Message
from bot.deps import Deps
from bot.digest import schedule
from bot.digest.messages import STALE_TITLE, subscription_message
from bot.digest.post import compose, post_now
from bot.digest.report import build_report
from bot.grammar import Command
from bot.holds import flow
from bot.holds.messages import asked_message
from bot.slackio import SetupProblem, SlackFailed
from bot.store.base import AuditEntry
from handlers.actions import BAD_VALUE, button_number
from handlers.replies import Asker, tell

__all__ = ["hold_all_clicked", "run_digest", "run_stale"]

log = logging.getLogger(__name__)

HOLD_ALL_REASON = "stale test orders"  # from the digest or from `stale`: the same button


def _text(text: str) -> Message:
    return Message.note(text)


def run_stale(deps: Deps, asker: Asker, command: Command) -> None:
    report = build_report(
        deps.settings, deps.cartrover, deps.clock.now(), hours=command.hours, count_non_test=False
    )
    message = compose(deps.store, report, asker.channel, STALE_TITLE, deps.clock.now())
    tell(deps, asker, message)


def run_digest(deps: Deps, asker: Asker, command: Command) -> None:
    {
        "": _show,
        "subscribe": _subscribe,
        "unsubscribe": _unsubscribe,
        "now": _post_now,
    }[command.action](deps, asker, command)


def _show(deps: Deps, asker: Asker, command: Command) -> None:
    found = deps.store.subscription(asker.channel)
    next_at = schedule.next_run(found, deps.clock.now()) if found else None
    tell(deps, asker, subscription_message(found, next_at))


def _subscribe(deps: Deps, asker: Asker, command: Command) -> None:
    made = schedule.subscribe(
        deps,
        asker.channel,
        user=asker.user,
        local_time=command.local_time,
        timezone=command.timezone,
    )
    next_at = schedule.next_run(made, deps.clock.now())
    tell(deps, asker, subscription_message(made, next_at, changed="Subscribed."))


def _unsubscribe(deps: Deps, asker: Asker, command: Command) -> None:
    removed = deps.store.unsubscribe(asker.channel)
    changed = "Unsubscribed." if removed else "There was nothing to unsubscribe."
    tell(deps, asker, subscription_message(None, None, changed=changed))


def _post_now(deps: Deps, asker: Asker, command: Command) -> None:
    try:
        post_now(deps, asker.channel)
    except SetupProblem as exc:
        tell(deps, asker, _text(exc.advice))
    except SlackFailed as exc:
        tell(deps, asker, _text(f"Slack did not accept the digest ({exc.error}); try again."))


def hold_all_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    """Open one bulk hold request for a digest's snapshot, requested by whoever clicked."""
    number = button_number(body)
    snapshot = deps.store.snapshot(number) if number is not None else None
    why = None
    if deps.team_id and asker.team != deps.team_id:
        why = "This button belongs to another workspace."
    elif number is None:
        why = BAD_VALUE
    elif snapshot is None or not snapshot.cust_refs:
        why = "I have no record of that list; run `/cartrover stale` for a fresh one."
    if why is not None:
        deps.store.audit(
            AuditEntry(at=deps.clock.now(), event="refused", actor=asker.user, detail=why)
        )
        tell(deps, asker, _text(why))
        return
    asked = flow.ask(
        deps,
        requester=asker.user,
        channel_id=asker.channel,
        refs=snapshot.cust_refs if snapshot else [],
        reason=HOLD_ALL_REASON,
        source="digest",
        skip_refused=True,
        order_created=snapshot.order_created if snapshot else None,
    )
    tell(deps, asker, asked_message(asked, deps.clock.now()))

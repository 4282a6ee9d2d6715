"""``stale`` and ``digest`` subcommands, and the "Request hold for all" click. Thin: the work is in
:mod:`bot.digest.schedule` and :mod:`bot.holds.announce`."""

from __future__ import annotations

import logging
from typing import Any

from bot import metrics
from bot.deps import Deps
from bot.digest import schedule
from bot.digest.messages import STALE_TITLE, subscription_message
from bot.digest.post import compose, post_now
from bot.digest.stale import build_report
from bot.grammar import Command
from bot.holds import flow
from bot.holds.messages import asked_message, refusal_message
from bot.holds.requests import Refusal
from bot.slack.webapi import SetupProblem, SlackFailed
from bot.store.saving import saving
from bot.times import days_words
from handlers.replies import REFUSALS, Asker, click_of, note, tell

__all__ = ["hold_all_clicked", "run_digest", "run_stale"]

log = logging.getLogger(__name__)

metrics.start_at_zero(
    metrics.CLICKS, [("hold_all", outcome) for outcome in ("opened", "nothing_open", *REFUSALS)]
)

HOLD_ALL_REASON = "stale test orders"  # from the digest or from `stale`: the same button


def run_stale(deps: Deps, asker: Asker, command: Command) -> None:
    report = build_report(
        deps.settings,
        deps.cartrover,
        deps.clock.now(),
        hours=command.hours,
        count_non_test=False,
        marks=deps.digests,
    )
    message = compose(deps, report, asker.channel, STALE_TITLE, deps.clock.now())
    tell(deps, asker, message)


def run_digest(deps: Deps, asker: Asker, command: Command) -> None:
    {
        "": _show,
        "subscribe": _subscribe,
        "unsubscribe": _unsubscribe,
        "now": _post_now,
    }[command.action](deps, asker, command)


def _show(deps: Deps, asker: Asker, command: Command) -> None:
    found = deps.digests.subscription(asker.channel)
    days = deps.settings.digest_weekdays
    next_at = schedule.next_run(found, deps.clock.now(), days) if found else None
    tell(deps, asker, subscription_message(found, next_at, days=days_words(days)))


def _subscribe(deps: Deps, asker: Asker, command: Command) -> None:
    made = schedule.subscribe(
        deps,
        asker.channel,
        user=asker.user,
        local_time=command.local_time,
        timezone=command.timezone,
    )
    days = deps.settings.digest_weekdays
    next_at = schedule.next_run(made, deps.clock.now(), days)
    message = subscription_message(made, next_at, changed="Subscribed.", days=days_words(days))
    tell(deps, asker, message)


def _unsubscribe(deps: Deps, asker: Asker, command: Command) -> None:
    removed = saving(lambda: deps.digests.unsubscribe(asker.channel), what="subscription")
    changed = "Unsubscribed." if removed else "There was nothing to unsubscribe."
    tell(deps, asker, subscription_message(None, None, changed=changed))


def _post_now(deps: Deps, asker: Asker, command: Command) -> None:
    try:
        post_now(deps, asker.channel)
    except SetupProblem as exc:
        tell(deps, asker, note(exc.advice))
    except SlackFailed as exc:
        tell(deps, asker, note(f"Slack did not accept the digest ({exc.error}); try again."))


def hold_all_clicked(deps: Deps, asker: Asker, body: dict[str, Any]) -> None:
    """Open one bulk hold request for a digest's list, requested by whoever clicked."""
    done = flow.hold_all(deps, click_of(body, asker), reason=HOLD_ALL_REASON)
    if isinstance(done, Refusal):
        metrics.CLICKS.labels("hold_all", done.reason.name.lower()).inc()
        tell(deps, asker, refusal_message(done))
        return
    metrics.CLICKS.labels("hold_all", "opened" if done.posted else "nothing_open").inc()
    tell(deps, asker, asked_message(done, deps.clock.now(), deps.settings.zone))

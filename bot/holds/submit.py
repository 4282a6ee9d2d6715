"""A submitted hold form: answer Slack within its three seconds, with the errors on their fields
where they can be known in time, and open the same request ``/cartrover hold`` opens.

1. What needs no CartRover call (the order grammar, the reason's length, a channel) is checked at
   once; a problem is answered on its field (``response_action: errors``) and the form stays open.
2. The orders are read on the reads lane. If that ends within :data:`FORM_CHECK_SECONDS`, an order
   that is not holdable (not New, already canceled, unknown to CartRover) is answered on the
   Orders field too. If it takes longer, the form turns into a "checking…" view, and the check's
   outcome replaces it (``views.update``): the form again with the problem under its field, or
   the request's outcome. At most :data:`FORM_WAITERS` submissions wait so at once (each holds
   a server thread meanwhile); any more are answered "checking…" at once, so however slow
   CartRover is, submissions never fill the server and commands never queue behind them.
3. Holdable orders become a request through :func:`bot.holds.flow.ask`, with the orders as just
   read; what the requester is told replaces the form. If the form was closed meanwhile, it goes
   to them as an ephemeral message in the channel instead.

This module is the one that updates the hold form's modal (``views.update``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.deps import Deps
from bot.holds import flow, requests
from bot.holds.forms import (
    HoldForm,
    checking_view,
    hold_form,
    read_hold_form,
    refused_orders,
    result_view,
)
from bot.holds.messages import asked_message, not_saved_message
from bot.holds.outcomes import Asked
from bot.holds.requests import Checked
from bot.slack.blocks import Message
from bot.slack.ids import ORDERS_FIELD
from bot.slack.webapi import SlackFailed
from bot.store.saving import NotSaved
from bot.workers import Lane

__all__ = ["FORM_CHECK_SECONDS", "FORM_WAITERS", "FormAnswer", "hold_form_submitted"]

log = logging.getLogger(__name__)

FORM_CHECK_SECONDS = 2.0  # of Slack's 3 s: the rest is for the answer to travel
FORM_WAITERS = 4  # submissions holding a server thread to wait for their check, at most
_WAITERS = threading.BoundedSemaphore(FORM_WAITERS)  # per process, like the server's threads
ANSWERED_WAIT = 3.0  # the check's outcome waits this long at most for the answer to leave first


@dataclass(frozen=True)
class _Failed:
    """The check itself failed (logged with ``correlation``)."""

    correlation: str


@dataclass(frozen=True)
class FormAnswer:
    """How to answer a submission: ``errors`` by field (the form stays open), else ``view`` to
    turn the form into (``response_action: update``)."""

    errors: dict[str, str] = field(default_factory=dict)
    view: dict[str, Any] | None = None


class _Handoff:
    """The check's outcome, taken by the listener if it comes in time; otherwise the worker
    carries on alone. One lock decides which."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.answered = threading.Event()  # the listener has its answer and is acking now
        self._outcome: object = None
        self._detached = False

    def deliver(self, outcome: object) -> bool:
        """The worker's outcome; True if the listener takes it (and answers Slack with it)."""
        with self._lock:
            if self._detached:
                return False
            self._outcome = outcome
            self._ready.set()
            return True

    def wait(self, seconds: float) -> object:
        """The listener's wait; None when the outcome did not come in time."""
        self._ready.wait(seconds)
        with self._lock:
            if self._outcome is None:
                self._detached = True
            return self._outcome


def hold_form_submitted(
    deps: Deps,
    *,
    user: str,
    view: dict[str, Any],
    budget: float | None = None,
) -> FormAnswer:
    """Answer a submitted hold form (see the module docstring); the rest continues on the pool.
    ``budget``: how long to wait for the orders' check (default :data:`FORM_CHECK_SECONDS`)."""
    approval_channel = deps.settings.approval_channel
    form = read_hold_form(view, approval_channel=approval_channel)
    if form.errors:
        return FormAnswer(errors=form.errors)
    view_id = str(view.get("id") or "")
    handoff = _Handoff()
    started = deps.workers.submit(
        lambda: _carry_on(deps, user, view_id, form, handoff),
        what="a submitted hold form",
        on_error=lambda correlation: _failed(deps, user, view_id, form, handoff, correlation),
        lane=Lane.READS,
    )
    if not started:
        return FormAnswer(errors={ORDERS_FIELD: "The bot is restarting; try again in a minute."})
    if _WAITERS.acquire(blocking=False):
        try:
            outcome = handoff.wait(FORM_CHECK_SECONDS if budget is None else budget)
        finally:
            _WAITERS.release()
    else:  # enough submissions wait already: this one is answered at once
        outcome = handoff.wait(0)
    try:
        if outcome is None:
            return FormAnswer(view=checking_view(len(form.refs)))
        if not isinstance(outcome, Checked):
            correlation = outcome.correlation if isinstance(outcome, _Failed) else ""
            return FormAnswer(view=result_view(_sorry(correlation)))
        if outcome.refused:
            return FormAnswer(errors={ORDERS_FIELD: refused_orders(outcome.refused)})
        return FormAnswer(view=checking_view(len(form.refs), requesting=True))
    finally:
        handoff.answered.set()


def _carry_on(deps: Deps, user: str, view_id: str, form: HoldForm, handoff: _Handoff) -> None:
    checked = requests.check_orders(deps.cartrover, form.refs)
    taken = handoff.deliver(checked)
    handoff.answered.wait(ANSWERED_WAIT)
    if checked.refused:
        if not taken:
            _refused(deps, user, view_id, form, checked.refused, bool(checked.holdable))
        return
    assert form.channel_id is not None  # read_hold_form insists on one
    try:
        asked = flow.ask(
            deps,
            requester=user,
            channel_id=form.channel_id,
            refs=form.refs,
            reason=form.reason,
            checked=checked,
        )
    except NotSaved as exc:  # nothing was opened: said plainly where the form was
        told = not_saved_message(exc.what)
        _replace(deps, user, view_id, form, result_view(told), told)
        return
    if asked.posted is None:  # another open request holds an order: the form comes back
        _refused(deps, user, view_id, form, asked.refused, asked.others_holdable)
        return
    message = asked_message(asked, deps.clock.now())
    _replace(deps, user, view_id, form, result_view(message), message)


def _failed(
    deps: Deps, user: str, view_id: str, form: HoldForm, handoff: _Handoff, correlation: str
) -> None:
    if handoff.deliver(_Failed(correlation)):
        return  # the listener answers with an apology
    handoff.answered.wait(ANSWERED_WAIT)
    message = _sorry(correlation)
    _replace(deps, user, view_id, form, result_view(message), message)


def _refused(
    deps: Deps,
    user: str,
    view_id: str,
    form: HoldForm,
    refused: list[tuple[str, str]],
    others_holdable: bool,
) -> None:
    """The form again, with why under the Orders field (told in the channel if it is gone)."""
    errors = {ORDERS_FIELD: refused_orders(refused)}
    again = hold_form(form.draft, approval_channel=deps.settings.approval_channel, errors=errors)
    channel = deps.settings.approval_channel or form.channel_id or ""
    told = asked_message(Asked(channel, None, refused, others_holdable), deps.clock.now())
    _replace(deps, user, view_id, form, again, told)


def _replace(
    deps: Deps,
    user: str,
    view_id: str,
    form: HoldForm,
    view: dict[str, Any],
    fallback: Message,
) -> None:
    """Turn the modal into ``view``; if it is gone, tell ``fallback`` as an ephemeral message in
    the form's channel."""
    try:
        deps.poster.update_view(view_id, view)
        return
    except SlackFailed as exc:
        log.info("the hold form is gone (%s); answering in the channel instead", exc.error)
    channel = form.channel_id or deps.settings.approval_channel
    if not channel:
        return
    try:
        deps.poster.ephemeral(channel, user, fallback.text, fallback.blocks)
    except SlackFailed as exc:
        log.warning("could not tell %s what became of their hold form: %s", user, exc.error)


def _sorry(correlation: str) -> Message:
    logged = f" It was logged as `{correlation}`." if correlation else ""
    return Message.note(f"Sorry, something went wrong on my side.{logged} Nothing was requested.")

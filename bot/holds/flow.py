"""The approval flow end to end, as the handlers and the scheduled jobs start it: ask for a hold
(check the orders, open a request, post its card), decide a click (find the request, decide it,
show the decision), run an approved request with throttled progress, and keep up: expire the
overdue, bring lagging cards up to date, resume what a stopped process left.

It coordinates the feature's modules and holds no rule of its own: the rules are in
:mod:`~bot.holds.requests` and :mod:`~bot.holds.execution`, Slack is :mod:`~bot.holds.announce`,
words are :mod:`~bot.holds.messages`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.deps import Deps
from bot.holds import announce, execution, requests
from bot.holds.outcomes import Asked
from bot.holds.requests import Click, Refusal
from bot.holds.rules import already_open
from bot.store.base import HoldRequest, OrdersAlreadyOpen, RequestState

__all__ = ["ask", "clicked", "keep_up", "maintain", "resume_unfinished", "run_approved"]

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 1.0  # seconds between progress updates of one card (chat.update is Tier 3)


def ask(
    deps: Deps,
    *,
    requester: str,
    channel_id: str,
    refs: Sequence[str],
    reason: str,
    source: str = "command",
    skip_refused: bool = False,
    order_created: Mapping[str, datetime] | None = None,
) -> Asked:
    """Check the orders, open a request and post its card (in ``APPROVAL_CHANNEL`` when set).
    Nothing is opened if any order is refused or already in an open request, unless
    ``skip_refused`` (a bulk request from a digest): then the rest are requested and the others
    named. ``order_created`` (creation times, where known) lets the orders be checked with a
    listing instead of one by one."""
    target = deps.settings.approval_channel or channel_id
    checked = requests.check_orders(deps.cartrover, refs, order_created)
    refused, wanted = list(checked.refused), [o.cust_ref for o in checked.holdable]
    while True:
        if refused and not (skip_refused and wanted):
            return Asked(target, None, refused, bool(wanted))
        try:
            request = requests.open_request(
                deps.store,
                deps.clock,
                ttl=timedelta(hours=deps.settings.hold_request_ttl_hours),
                requester=requester,
                channel_id=target,
                reason=reason,
                refs=wanted,
                source=source,
                order_created=checked.created,
            )
            break
        except OrdersAlreadyOpen as taken:
            refused += [(claim.cust_ref, already_open(claim)) for claim in taken.claims]
            wanted = [ref for ref in wanted if ref not in taken.cust_refs]
    posted = announce.post_card(deps.poster, deps.store, deps.clock, request)
    return Asked(target, posted, refused)


def clicked(deps: Deps, click: Click, *, approve: bool) -> Refusal | None:
    """An Approve or Reject click: decide once, show it on the card, and run an approval. The
    refusal to tell the clicker, or None."""
    found = requests.find_clicked(deps.store, deps.clock, click, team_id=deps.team_id)
    if isinstance(found, Refusal):
        return found
    decide = requests.approve if approve else requests.reject
    decision = decide(deps.store, deps.clock, deps.approvers, found, click.user)
    if isinstance(decision, Refusal):
        if decision.request is not None and decision.request.state is RequestState.EXPIRED:
            _show(deps, decision.request)  # its buttons go as soon as anyone notices
        return decision
    _show(deps, decision)
    if decision.state is RequestState.EXECUTING:
        run_approved(deps, decision.id)
    return None


def run_approved(
    deps: Deps, request_id: int, *, monotonic: Callable[[], float] = time.monotonic
) -> HoldRequest | None:
    """Run an approved request, updating its card at most once a second, then finally."""
    last = [float("-inf")]

    def progress(current: HoldRequest) -> None:
        now = monotonic()
        if now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            _show(deps, current)

    finished = execution.execute(
        deps.cartrover, deps.store, deps.clock, request_id, on_progress=progress
    )
    if finished is not None:
        _show(deps, finished)
    return finished


def keep_up(deps: Deps) -> list[HoldRequest]:
    """Expire overdue requests, then bring lagging cards up to date: the expired ones lose their
    buttons there, with any card an earlier failure left behind; then tell the requesters of
    closed requests who were not told yet."""
    expired = requests.expire_due(deps.store, deps.clock)
    announce.converge(deps.poster, deps.store, deps.clock)
    announce.tell_untold(deps.poster, deps.store, deps.clock)
    return expired


def resume_unfinished(deps: Deps) -> list[int]:
    """Finish approved requests that a stopped process left executing (never resends)."""
    resumed = []
    for request in execution.unfinished(deps.store, deps.clock):
        log.info("resuming hold #%s", request.id)
        run_approved(deps, request.id)
        resumed.append(request.id)
    return resumed


def maintain(deps: Deps) -> None:
    """The scheduler's maintenance job: keep up, then resume what a stopped process left."""
    keep_up(deps)
    resume_unfinished(deps)


def _show(deps: Deps, request: HoldRequest) -> bool:
    """Show the request on its card; once it is closed, tell the requester in the thread."""
    shown = announce.show(deps.poster, deps.store, deps.clock, request)
    if request.state.is_final:
        announce.tell(deps.poster, deps.store, deps.clock, request)
    return shown is announce.Rendered.SHOWN

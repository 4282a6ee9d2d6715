"""The approval flow end to end, as the handlers and the scheduled jobs start it: ask for a hold
(check the orders, open a request, post its card), decide a click (find the request, decide it,
show the decision), run an approved request with throttled progress, and keep up: expire the
overdue, bring lagging cards up to date. (What a stopped process left running is resumed by
:mod:`~bot.holds.takeover`.)

It coordinates the feature's modules and holds no rule of its own: the rules are in
:mod:`~bot.holds.requests` and :mod:`~bot.holds.execution`, Slack is :mod:`~bot.holds.announce`,
words are :mod:`~bot.holds.messages`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.deps import Deps
from bot.holds import announce, execution, followup, reach, requests, verdicts
from bot.holds.outcomes import Asked, Posting
from bot.holds.requests import Checked, Click, Refusal, Runner
from bot.holds.rules import RefusalReason, already_open
from bot.logcontext import log_context
from bot.slack import events
from bot.store.contracts import audit
from bot.store.records import HoldRequest, OrdersAlreadyOpen, RequestState, StoreError
from bot.store.saving import NotSaved
from bot.testorders import TestRule

__all__ = [
    "LEASE",
    "MAINTENANCE_BEAT",
    "ask",
    "clicked",
    "hold_all",
    "keep_up",
    "maintain",
    "new_runner",
    "run_approved",
]

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 1.0  # seconds between progress updates of one card (chat.update is Tier 3)
# How long a runner's claim on an executing request lasts unless renewed. It is renewed before
# every order (each takes at most a few calls, each bounded by the client's 30 s deadline); a
# runner that stops without releasing it is taken over this long after its last renewal.
LEASE = timedelta(minutes=2)
MAINTENANCE_BEAT = "maintenance"  # the heartbeat of maintain(); the App Home shows when it last ran


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
    checked: Checked | None = None,
) -> Asked:
    """Check the orders, open a request and post its card (in ``APPROVAL_CHANNEL`` when set).
    Nothing is opened if any order is refused or already in an open request, unless
    ``skip_refused`` (a bulk request from a digest): then the rest are requested and the others
    named. ``order_created`` (creation times, where known) lets the orders be checked with a
    listing instead of one by one; ``checked``, the orders as just read (the hold form reads
    them while Slack waits for its answer), saves reading them again."""
    target = deps.settings.approval_channel or channel_id
    checked = checked or requests.check_orders(deps.cartrover, refs, order_created)
    refused, wanted = list(checked.refused), [o.cust_ref for o in checked.holdable]
    while True:
        if refused and not (skip_refused and wanted):
            return Asked(target, None, refused, bool(wanted))
        try:
            request = requests.open_request(
                deps.holds,
                deps.clock,
                ttl=timedelta(hours=deps.settings.hold_request_ttl_hours),
                requester=requester,
                channel_id=target,
                reason=reason,
                refs=wanted,
                source=source,
                order_created=checked.created,
                order_facts=checked.facts(TestRule.from_settings(deps.settings)),
            )
            break
        except OrdersAlreadyOpen as taken:
            refused += [(claim.cust_ref, already_open(claim)) for claim in taken.claims]
            wanted = [ref for ref in wanted if ref not in taken.cust_refs]
    log.info(
        "hold #%s asked by %s for %d order(s)",
        request.id,
        requester,
        len(request.items),
        extra=_about(request),
    )
    posted = announce.post_card(
        deps.poster, deps.holds, deps.clock, request, reach.card_context(deps.settings)
    )
    if posted.outcome is not Posting.FAILED and deps.settings.notify_approvers == "dm":
        reach.dm_approvers(deps, posted.request)
    deps.home.changed(deps)
    return Asked(target, posted, refused)


def hold_all(deps: Deps, click: Click, *, reason: str) -> Asked | Refusal:
    """A "Request hold for all" click: ask for a hold of the orders of the list it names (the
    snapshot id in ``click.request_id``), leaving out those that cannot be held."""
    snapshot = None
    if deps.team_id and click.team != deps.team_id:
        why = RefusalReason.OTHER_WORKSPACE
    elif click.request_id is None:
        why = RefusalReason.BAD_VALUE
    else:
        snapshot = deps.digests.snapshot(click.request_id)
        why = RefusalReason.NO_SUCH_LIST
    if snapshot is None or not snapshot.cust_refs:
        at = deps.clock.now()
        audit(deps.holds, at, "refused", actor=click.user, detail=why.value)
        return Refusal(why)
    return ask(
        deps,
        requester=click.user,
        channel_id=click.channel_id,
        refs=snapshot.cust_refs,
        reason=reason,
        source="digest",
        skip_refused=True,
        order_created=snapshot.order_created,
    )


def clicked(deps: Deps, click: Click, *, approve: bool, reason: str = "") -> Refusal | None:
    """An Approve or Reject click (from the card or the App Home; a Reject with the ``reason``
    its form gave): decide once, show it on the card and the App Homes, and run an approval.
    The refusal to tell the clicker, or None."""
    runner = new_runner(deps)
    try:  # until the decision is saved, a failing database means nothing was done
        found = requests.find_clicked(
            deps.holds, deps.surfaces, deps.clock, click, team_id=deps.team_id
        )
        if isinstance(found, Refusal):
            return found
        if approve:  # the lease is this runner's from the approving statement on
            decision = requests.approve(
                deps.holds, deps.clock, deps.approvers, found, click.user, Runner(runner, LEASE)
            )
        else:
            decision = requests.reject(
                deps.holds, deps.clock, deps.approvers, found, click.user, reason
            )
    except NotSaved:
        raise
    except StoreError as exc:
        raise NotSaved("approval" if approve else "rejection", exc) from exc
    if isinstance(decision, Refusal):
        if decision.request is not None and decision.request.state is RequestState.EXPIRED:
            _show(deps, decision.request)  # its buttons go as soon as anyone notices
            deps.home.changed(deps)
        return decision
    verb = "approved" if decision.state is RequestState.EXECUTING else decision.state.value
    log.info("hold #%s %s by %s", decision.id, verb, click.user, extra=_about(decision))
    if decision.state is RequestState.EXECUTING:
        deps.lookout.nudge()  # an approval: this process looks for holds nobody runs at once
    _show(deps, decision)
    deps.home.changed(deps)
    if decision.state is RequestState.EXECUTING:
        run_approved(deps, decision.id, runner=runner)
    return None


def new_runner(deps: Deps) -> str:
    """A name for one run of one request in this process: ``<process>/<run>``. A lease names
    its runner, so two runs in one process never hold the same request."""
    return f"{deps.runner}/{secrets.token_hex(4)}"


def run_approved(
    deps: Deps,
    request_id: int,
    *,
    runner: str | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> HoldRequest | None:
    """Run an approved request, updating its card at most once a second, then finally. With
    ``runner``, that runner already holds the lease (it came with the approval); otherwise a
    new runner takes it, and nothing happens (None) when another live runner holds it.

    Once this process stops (SIGTERM), the runner sends no new cancel: it stops at its next
    step (after the answer of a cancel in flight) and gives its lease up at once, so a running
    peer takes the request over."""
    with log_context(request=request_id):
        return _run_approved(deps, request_id, runner, monotonic)


def _run_approved(
    deps: Deps, request_id: int, runner: str | None, monotonic: Callable[[], float]
) -> HoldRequest | None:
    if runner is None:
        runner = new_runner(deps)
        now = deps.clock.now()
        if not deps.holds.take_lease(request_id, runner, now + LEASE, now):
            return None
    last = [float("-inf")]

    def may_send() -> bool:
        return not deps.workers.stopping

    def still_mine() -> bool:
        if not may_send():
            return False
        now = deps.clock.now()
        return deps.holds.renew_lease(request_id, runner, now + LEASE, now)

    def progress(current: HoldRequest) -> None:
        now = monotonic()
        if now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            _show(deps, current)

    try:
        finished = execution.execute(
            deps.cartrover,
            deps.holds,
            deps.clock,
            request_id,
            on_progress=progress,
            still_mine=still_mine,
            shadow=deps.settings.shadow_mode,
            may_send=may_send,
        )
    finally:
        if not may_send() and deps.holds.release_lease(request_id, runner):
            log.info("hold #%s handed over: this process is stopping", request_id)
    if finished is not None:
        due = verdicts.second_look_due(finished)
        if finished.state is RequestState.EXECUTING and due is not None:
            # Hold the request until its second look is due; whoever resumes unfinished holds
            # then (this process or another) reads those orders again.
            deps.holds.renew_lease(request_id, runner, due, deps.clock.now())
        _show(deps, finished)
        deps.home.changed(deps)
    return finished


def keep_up(deps: Deps) -> list[HoldRequest]:
    """Expire overdue requests, then bring lagging cards up to date: the expired ones lose their
    buttons there, with any card an earlier failure left behind; then tell the requesters of
    closed requests who were not told yet."""
    expired = requests.expire_due(deps.holds, deps.clock)
    announce.converge(deps.poster, deps.holds, deps.clock, reach.card_context(deps.settings))
    if expired:
        deps.home.changed(deps)
    announce.tell_untold(deps.poster, deps.holds, deps.clock)
    return expired


def maintain(deps: Deps) -> None:
    """The scheduler's maintenance job: follow waiting requests' orders up (ending those with
    nothing left to hold), remind approvers whose requests run out, keep up, forget Events API
    deliveries too old to be retried. Its heartbeat, kept in the database, tells the App Home
    and every process's readiness that a scheduler runs somewhere. (Approved holds nobody runs
    are every process's takeover's to resume, scheduler or not.)"""
    deps.surfaces.beat(MAINTENANCE_BEAT, deps.clock.now())
    waiting = deps.holds.requests_in_state(RequestState.PENDING)
    if followup.follow(deps, waiting):
        deps.home.changed(deps)
    reach.remind_due(deps, waiting)  # a request followed up and ended meanwhile is not claimed
    keep_up(deps)
    events.forget_old(deps.surfaces, deps.clock)


def _about(request: HoldRequest) -> dict[str, object]:
    """A log line's context fields for ``request``."""
    return {"request": request.id, "orders": request.cust_refs}


def _show(deps: Deps, request: HoldRequest) -> bool:
    """Show the request on its card; once it is closed, tell the requester in the thread."""
    card = reach.card_context(deps.settings)
    shown = announce.show(deps.poster, deps.holds, deps.clock, request, card)
    if request.state.is_final:
        announce.tell(deps.poster, deps.holds, deps.clock, request)
    return shown is announce.Rendered.SHOWN

"""The approval flow with its Slack messages: post a request, run an approved one with throttled
progress, replace buttons on expiry, resume what a dead process left, and keep every card in step
with its stored state. Shared by the click handlers and the scheduled jobs.

**Cards converge.** Every successful ``chat.update`` records the state it rendered
(``Store.mark_rendered``). :func:`refresh` tries a failed update again a few times (slack_sdk
itself waits out a rate limit's Retry-After) and renders again when the state moved on meanwhile;
whatever still lags, rate-limited or not, is found by the maintenance sweep
(:func:`converge_cards`), so a closed request does not keep live buttons.

**A post whose answer was lost** (the connection dropped after Slack may have accepted it) is not
reported as a failure: the request stays pending without a message ts, holding its orders so that
no second card for them can appear, and expires normally. If its card is in the channel after all,
the first click on it adopts the card's ts (:func:`adopt_card`) and from then on it is an ordinary
request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.blocks.message import lines_within
from bot.deps import Deps
from bot.holds import execution, requests
from bot.holds.messages import hold_message
from bot.mrkdwn import code, date_token, escape
from bot.slackio import FATAL_AUTH_ERRORS, SetupProblem, SlackFailed
from bot.store.base import AuditEntry, HoldRequest, OpenOrder, OrdersAlreadyOpen, RequestState

__all__ = [
    "Posted",
    "adopt_card",
    "already_open",
    "converge_cards",
    "post_request",
    "refresh",
    "resume_unfinished",
    "run_approved",
    "sweep",
]

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 1.0  # seconds between progress updates of one message (chat.update is Tier 3)
# Pauses before trying a failed chat.update again at once.
UPDATE_RETRY_DELAYS = (0.25, 1.0)
# Slack errors that say "not now" rather than "never". The first ones are worth trying again at
# once; after a "ratelimited" slack_sdk has already waited out Retry-After three times, and nothing
# works until a refused token is fixed, so those wait for the next sweep.
RETRY_NOW = frozenset(
    {"connection_failed", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
RETRY_LATER = RETRY_NOW | {"ratelimited", *FATAL_AUTH_ERRORS}
LOST_ANSWER = "connection_failed"  # what slackio reports when no answer came back
SWEEP_CARDS = 20  # cards re-rendered per sweep at most (chat.update allows about 50 a minute)
_RENDERS = 3  # a state changes at most twice (pending → executing → final) while we render


class Rendered(Enum):
    SHOWN = "shown"  # the card shows the stored state
    LATER = "later"  # Slack failed for now; the sweep tries again
    GAVE_UP = "gave_up"  # Slack refused for good (message deleted, channel archived, …)


@dataclass(frozen=True)
class Posted:
    """The result of asking for a hold: the request, or the text to tell the requester."""

    request: HoldRequest | None
    message: str


def post_request(
    deps: Deps,
    *,
    requester: str,
    channel_id: str,
    refs: Sequence[str],
    reason: str,
    source: str = "command",
    skip_refused: bool = False,
    order_created: Mapping[str, datetime] | None = None,
) -> Posted:
    """Check the orders, open a request and post it. Nothing is opened if any order is refused
    or already in an open request, unless ``skip_refused`` (a bulk request from the digest): then
    the rest are requested and the others named. ``order_created`` (creation times, where
    known) lets the orders be checked with a listing instead of one by one."""
    good, bad = requests.check_orders(deps, refs, order_created)
    created = {order.cust_ref: order.created_at for order in good if order.created_at}
    if bad and not (skip_refused and good):
        return Posted(None, _nothing_requested(bad, bool(good)))
    target = deps.settings.approval_channel or channel_id
    wanted = [o.cust_ref for o in good]
    while True:
        try:
            request = requests.open_request(
                deps,
                requester=requester,
                channel_id=target,
                reason=reason,
                refs=wanted,
                source=source,
                order_created=created,
            )
            break
        except OrdersAlreadyOpen as taken:
            bad += [(c.cust_ref, already_open(c)) for c in taken.claims]
            wanted = [ref for ref in wanted if ref not in taken.cust_refs]
            if not (skip_refused and wanted):
                return Posted(None, _nothing_requested(bad, bool(wanted)))
    message = hold_message(request, deps.clock.now())
    try:
        ts = deps.poster.post(target, message.text, message.blocks)
    except SlackFailed as exc:
        if exc.error == LOST_ANSWER:
            return _unconfirmed(deps, request, target)
        deps.store.decide(request.id, to=RequestState.REJECTED, actor=None, at=deps.clock.now())
        deps.store.audit(
            AuditEntry(
                at=deps.clock.now(),
                event="post_failed",
                request_id=request.id,
                detail=f"chat.postMessage in {target}: {exc.error}",
            )
        )
        advice = exc.advice if isinstance(exc, SetupProblem) else "Slack did not accept it."
        return Posted(None, f"I could not post the hold request in <#{target}>. {advice}")
    deps.store.set_message(request.id, target, ts)
    deps.store.mark_rendered(request.id, RequestState.PENDING, deps.clock.now())
    posted = deps.store.get_request(request.id)
    left_out = [f"{code(ref)}: {escape(why)}" for ref, why in bad]
    return Posted(
        posted,
        f"Hold request #{request.id} for {len(request.items)} order(s) is posted in "
        f"<#{target}>; it needs an approver's click."
        + (f"\nLeft out ({len(bad)}):\n" + lines_within(left_out, 2000) if bad else ""),
    )


def already_open(claim: OpenOrder) -> str:
    """Why an order cannot go into a new request: an open one holds it (the store's claim is the
    only check, so two requests made at the same moment cannot both have it)."""
    return f"it is already in hold request #{claim.request_id} ({claim.state.value})"


def _nothing_requested(bad: list[tuple[str, str]], others: bool) -> str:
    lines = [f"{code(ref)}: {escape(why)}" for ref, why in bad]
    return (
        "Nothing was requested, because:\n"
        + "\n".join(lines)
        + ("\nRun the command again without these orders." if others else "")
    )


def _unconfirmed(deps: Deps, request: HoldRequest, target: str) -> Posted:
    """Slack may have posted the card without our hearing it: say so, and leave the request
    pending (no ts, so no click can bind it to another message) until a click or expiry."""
    deps.store.audit(
        AuditEntry(
            at=deps.clock.now(),
            event="post_unconfirmed",
            request_id=request.id,
            detail=f"chat.postMessage in {target}: the connection dropped before Slack answered",
        )
    )
    return Posted(
        request,
        f"Slack did not answer when I posted hold request #{request.id} in <#{target}>, so it "
        "may have been posted. Check the channel: if the request is there, approvers can use it "
        f"as usual. If it is not, it expires {date_token(request.expires_at)} and its orders "
        "can be requested again then.",
    )


def adopt_card(deps: Deps, request: HoldRequest, channel_id: str, message_ts: str) -> HoldRequest:
    """A click on the card of a request whose post went unanswered: that card is the request's
    message (only the bot posts buttons carrying this request's id). Record its ts once."""
    if not message_ts or request.message_ts or channel_id != request.channel_id:
        return request
    if deps.store.adopt_message(request.id, channel_id, message_ts):
        now = deps.clock.now()
        deps.store.mark_rendered(request.id, RequestState.PENDING, now)  # as it was posted
        deps.store.audit(
            AuditEntry(
                at=now,
                event="card_found",
                request_id=request.id,
                detail=f"the unconfirmed post is message {message_ts} in {channel_id}",
            )
        )
    return deps.store.get_request(request.id) or request


def refresh(deps: Deps, request: HoldRequest) -> bool:
    """Replace the request message with its current state (chat.update, never response_url),
    again if the state moved on meanwhile. True when the card shows the stored state."""
    return _render(deps, request) is Rendered.SHOWN


def _render(deps: Deps, request: HoldRequest) -> Rendered:
    current = request
    for _ in range(_RENDERS):
        if not current.message_ts:
            return Rendered.LATER
        outcome = _update(deps, current, current.message_ts)
        if outcome is not Rendered.SHOWN:
            return outcome
        latest = deps.store.get_request(current.id)
        if latest is None or latest.state is current.state:
            return Rendered.SHOWN
        current = latest
    return Rendered.LATER


def _update(deps: Deps, request: HoldRequest, ts: str) -> Rendered:
    """One card update, tried again after a transient failure; records what it rendered."""
    message = hold_message(request, deps.clock.now())
    for delay in (*UPDATE_RETRY_DELAYS, None):
        try:
            deps.poster.update(request.channel_id, ts, message.text, message.blocks)
        except SlackFailed as exc:
            server_error = exc.error.startswith("HTTP 5")
            if delay is not None and (exc.error in RETRY_NOW or server_error):
                time.sleep(delay)
                continue
            if exc.error in RETRY_LATER or server_error:
                log.warning("could not update hold #%s message: %s", request.id, exc.error)
                return Rendered.LATER
            log.warning("giving up on hold #%s message: %s", request.id, exc.error)
            deps.store.audit(
                AuditEntry(
                    at=deps.clock.now(),
                    event="card_update_failed",
                    request_id=request.id,
                    detail=f"chat.update of {ts} in {request.channel_id}: {exc.error}",
                )
            )
            deps.store.mark_rendered(request.id, request.state, deps.clock.now())
            return Rendered.GAVE_UP
        deps.store.mark_rendered(request.id, request.state, deps.clock.now())
        return Rendered.SHOWN
    return Rendered.LATER  # pragma: no cover - the loop always returns


def run_approved(
    deps: Deps, request_id: int, *, monotonic: Callable[[], float] = time.monotonic
) -> HoldRequest | None:
    """Execute an approved request, updating its message at most once a second, then finally."""
    last = [float("-inf")]

    def progress(current: HoldRequest) -> None:
        now = monotonic()
        if now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            refresh(deps, current)

    finished = execution.execute(deps, request_id, on_progress=progress)
    if finished is not None:
        refresh(deps, finished)
    return finished


def converge_cards(deps: Deps, limit: int = SWEEP_CARDS) -> list[int]:
    """Re-render cards whose rendering lags their stored state; stop at the first one Slack
    cannot take now (the next sweep carries on). The ids of the cards brought up to date."""
    shown = []
    for request in deps.store.lagging_cards(limit):
        outcome = _render(deps, request)
        if outcome is Rendered.LATER:
            break
        if outcome is Rendered.SHOWN:
            shown.append(request.id)
    return shown


def sweep(deps: Deps) -> list[HoldRequest]:
    """Expire overdue requests, then bring lagging cards up to date: the expired ones lose their
    buttons there, with any card an earlier failure left behind."""
    expired = requests.expire_due(deps)
    converge_cards(deps)
    return expired


def resume_unfinished(deps: Deps) -> list[int]:
    """Finish approved requests that a stopped process left executing (never resends)."""
    resumed = []
    for request in execution.unfinished(deps):
        log.info("resuming hold #%s", request.id)
        run_approved(deps, request.id)
        resumed.append(request.id)
    return resumed

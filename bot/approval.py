"""The approval flow with its Slack messages: post a request, run an approved one with throttled
progress, replace buttons on expiry, resume what a dead process left. Shared by the click handlers
and the scheduled jobs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot import cancels, holds
from bot.blocks.common import lines_within
from bot.blocks.holds import hold_message
from bot.deps import Deps
from bot.mrkdwn import code, escape
from bot.slackio import SetupProblem, SlackFailed
from bot.store.base import AuditEntry, HoldRequest, OpenOrder, OrdersAlreadyOpen, RequestState

__all__ = [
    "Posted",
    "already_open",
    "post_request",
    "refresh",
    "resume_unfinished",
    "run_approved",
    "sweep",
]

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 1.0  # seconds between progress updates of one message (chat.update is Tier 3)


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
) -> Posted:
    """Check the orders, open a request and post it. Nothing is opened if any order is refused
    or already in an open request, unless ``skip_refused`` (a bulk request from the digest): then
    the rest are requested and the others named."""
    good, bad = holds.check_orders(deps, refs)
    if bad and not (skip_refused and good):
        return Posted(None, _nothing_requested(bad, bool(good)))
    target = deps.settings.approval_channel or channel_id
    wanted = [o.cust_ref for o in good]
    while True:
        try:
            request = holds.open_request(
                deps,
                requester=requester,
                channel_id=target,
                reason=reason,
                refs=wanted,
                source=source,
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


def refresh(deps: Deps, request: HoldRequest) -> None:
    """Replace the request message with its current state (chat.update, never response_url)."""
    if not request.message_ts:
        return
    message = hold_message(request, deps.clock.now())
    try:
        deps.poster.update(request.channel_id, request.message_ts, message.text, message.blocks)
    except SlackFailed as exc:
        log.warning("could not update hold #%s message: %s", request.id, exc.error)


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

    finished = cancels.execute(deps, request_id, on_progress=progress)
    if finished is not None:
        refresh(deps, finished)
    return finished


def sweep(deps: Deps) -> list[HoldRequest]:
    """Expire overdue requests and take their buttons away."""
    expired = holds.expire_due(deps)
    for request in expired:
        refresh(deps, request)
    return expired


def resume_unfinished(deps: Deps) -> list[int]:
    """Finish approved requests that a stopped process left executing (never resends)."""
    resumed = []
    for request in cancels.unfinished(deps):
        log.info("resuming hold #%s", request.id)
        run_approved(deps, request.id)
        resumed.append(request.id)
    return resumed

"""Hold requests as the store keeps them: read the orders for a new one, open it, find the one a
click names, decide it (one winner), expire the overdue.

Each function takes only what it uses (the orders, the store, the clock, the approvers), never the
whole bundle, and answers with data: a request, or a :class:`Refusal` saying why nothing changed,
which :mod:`bot.holds.messages` turns into words. Every refusal and decision is audited here.
Running an approved request is :mod:`bot.holds.execution`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot import metrics
from bot.cartrover.errors import CartRoverError, OrderNotFound
from bot.cartrover.models import Order
from bot.cartrover.service import OrderService
from bot.deps import ApproverList
from bot.holds.approvers import refusal_to_approve, refusal_to_reject
from bot.holds.rules import RefusalReason, moved_on, unread_reason
from bot.spelling import suggestions
from bot.store.contracts import HoldStore, SurfaceStore, audit
from bot.store.records import HoldRequest, OrderFacts, RequestState, StoreError
from bot.store.saving import saving
from bot.testorders import TestRule
from bot.times import Clock
from bot.words import plural

__all__ = [
    "Checked",
    "Click",
    "Decision",
    "Refusal",
    "RefusalReason",
    "Runner",
    "Surface",
    "approve",
    "check_orders",
    "expire_due",
    "find_clicked",
    "open_request",
    "reject",
]

log = logging.getLogger(__name__)

metrics.start_at_zero(
    metrics.HOLD_REQUESTS, [(state.value,) for state in RequestState if state.is_final]
)


@dataclass(frozen=True)
class Refusal:
    """A click that changed nothing, and the request as it stands now (if there is one)."""

    reason: RefusalReason
    request: HoldRequest | None = None


Decision = HoldRequest | Refusal  # the decided request, or why not


class Surface(StrEnum):
    """Where a decision button was clicked."""

    MESSAGE = "message"  # the request's card (or, refused, any other message)
    HOME = "home"  # the clicker's own App Home


@dataclass(frozen=True)
class Click:
    """A click on a hold card or on the clicker's App Home, as Slack described it."""

    user: str
    team: str | None
    request_id: int | None  # the button's number; None when its value is not one
    channel_id: str = ""  # the message clicked (Surface.MESSAGE)
    message_ts: str = ""
    surface: Surface = Surface.MESSAGE
    view_id: str = ""  # the view clicked (Surface.HOME)


@dataclass(frozen=True)
class Runner:
    """Who carries an approval out: a runner's name (``<process>/<run>``) and how long the lease
    it takes with the approval lasts."""

    name: str
    lease: timedelta


@dataclass(frozen=True)
class Checked:
    """The orders of a new request, read: the holdable ones, and why each other one is not."""

    holdable: list[Order] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (order, reason in words)

    @property
    def created(self) -> dict[str, datetime]:
        return {order.cust_ref: order.created_at for order in self.holdable if order.created_at}

    def facts(self, rule: TestRule) -> dict[str, OrderFacts]:
        """What each holdable order's card line shows, and whether ``rule`` makes it a test
        order."""
        return {
            order.cust_ref: OrderFacts(
                source=order.order_source,
                ship_city=order.ship_city,
                ship_state=order.ship_state,
                units=order.item_count,
                test_reason=rule.reason(order),
            )
            for order in self.holdable
        }


def check_orders(
    orders: OrderService, refs: Sequence[str], created: Mapping[str, datetime] | None = None
) -> Checked:
    """Read the orders (with as few calls as the known ``created`` times allow) and sort them. An
    order CartRover does not know, typed in another case than one it does, says so."""
    checked = Checked()
    read = orders.get_orders(refs, created)
    unknown = [ref for ref, order in read.items() if isinstance(order, OrderNotFound)]
    better = suggestions(orders, unknown)
    for ref, order in read.items():
        if isinstance(order, CartRoverError):
            why = unread_reason(order)
            if ref in better:
                why += f"; did you mean `{better[ref]}`?"
            checked.refused.append((ref, why))
            continue
        reason = moved_on(order)
        if reason is None:
            checked.holdable.append(order)
        else:
            checked.refused.append((ref, reason))
    return checked


def open_request(
    store: HoldStore,
    clock: Clock,
    *,
    ttl: timedelta,
    requester: str,
    channel_id: str,
    reason: str,
    refs: Sequence[str],
    source: str,
    order_created: Mapping[str, datetime] | None = None,
    order_facts: Mapping[str, OrderFacts] | None = None,
) -> HoldRequest:
    """A new pending request; ``OrdersAlreadyOpen`` when an open request holds any order,
    ``NotSaved`` when the database did not take it (nothing was opened)."""
    now = clock.now()
    request = saving(
        lambda: store.create_request(
            requester=requester,
            channel_id=channel_id,
            reason=reason,
            cust_refs=refs,
            created_at=now,
            expires_at=now + ttl,
            source=source,
            order_created=order_created,
            order_facts=order_facts,
        ),
        what="request",
    )
    _audit_after(
        store,
        now,
        "requested",
        actor=requester,
        request_id=request.id,
        detail=f"{plural(len(refs), 'order')}: {', '.join(refs[:20])}; reason: {reason or '-'}",
    )
    return request


def _audit_after(
    store: HoldStore, at: datetime, event: str, *, actor: str, request_id: int, detail: str
) -> None:
    """The audit row of a change already saved: if it fails, the change stands (its own row
    says who and when) and the gap is logged, instead of the change being reported lost."""
    try:
        audit(store, at, event, actor=actor, request_id=request_id, detail=detail)
    except StoreError:
        log.exception("%s was saved, but not its audit row", event)


def find_clicked(
    store: HoldStore,
    homes: SurfaceStore,
    clock: Clock,
    click: Click,
    *,
    team_id: str | None,
) -> HoldRequest | Refusal:
    """The request a click is about, if the click may be about it: this workspace's, a valid
    number, a request that exists, on its own card or on the clicker's App Home (the view last
    published to them, which only the bot publishes). A request whose post went unanswered adopts
    the card it is clicked on (only the bot posts buttons carrying that request's number)."""
    request = store.get_request(click.request_id) if click.request_id is not None else None
    if team_id and click.team != team_id:
        return _refuse(store, clock, click.user, RefusalReason.OTHER_WORKSPACE, request)
    if click.request_id is None:
        return _refuse(store, clock, click.user, RefusalReason.BAD_VALUE, None)
    if request is None:
        return _refuse(store, clock, click.user, RefusalReason.NO_SUCH_REQUEST, None)
    if click.surface is Surface.HOME:
        home = homes.home_view(click.user)
        if not click.view_id or home is None or home.view_id != click.view_id:
            return _refuse(store, clock, click.user, RefusalReason.WRONG_VIEW, request)
        return request
    if request.message_ts is None:
        request = _adopt_card(store, clock, request, click)
    if (click.channel_id, click.message_ts) != (request.channel_id, request.message_ts):
        return _refuse(store, clock, click.user, RefusalReason.WRONG_MESSAGE, request)
    return request


def _adopt_card(store: HoldStore, clock: Clock, request: HoldRequest, click: Click) -> HoldRequest:
    if not click.message_ts or click.channel_id != request.channel_id:
        return request
    if store.adopt_message(request.id, click.channel_id, click.message_ts):
        now = clock.now()
        store.mark_rendered(request.id, RequestState.PENDING, now)  # as it was posted
        audit(
            store,
            now,
            "card_found",
            request_id=request.id,
            detail=f"the unconfirmed post is message {click.message_ts} in {click.channel_id}",
        )
    return store.get_request(request.id) or request


def approve(
    store: HoldStore,
    clock: Clock,
    approvers: ApproverList,
    request: HoldRequest,
    user: str,
    runner: Runner | None = None,
) -> Decision:
    """Authorise and take the single winning decision; the caller then runs the request. With
    ``runner``, the decision gives that runner the request's lease in the same statement, so no
    other runner can start it before this one does."""
    why = refusal_to_approve(approvers, user, request.requester)
    if why is not None:
        return _refuse(store, clock, user, why, request)
    return _decide(store, clock, request, user, RequestState.EXECUTING, "approved", runner=runner)


def reject(
    store: HoldStore,
    clock: Clock,
    approvers: ApproverList,
    request: HoldRequest,
    user: str,
    reason: str = "",
) -> Decision:
    """An approver rejects, or the requester withdraws, with an optional ``reason`` (already made
    one line); the reason is kept on the request and in the audit trail."""
    why = refusal_to_reject(approvers, user, request.requester)
    if why is not None:
        return _refuse(store, clock, user, why, request)
    event = "withdrawn" if user == request.requester else "rejected"
    return _decide(store, clock, request, user, RequestState.REJECTED, event, reason)


def _decide(
    store: HoldStore,
    clock: Clock,
    request: HoldRequest,
    user: str,
    to: RequestState,
    event: str,
    reason: str = "",
    *,
    runner: Runner | None = None,
) -> Decision:
    now = clock.now()
    if now >= request.expires_at and request.state.is_open:
        if store.decide(request.id, to=RequestState.EXPIRED, actor=None, at=now):
            audit(store, now, "expired", request_id=request.id)
            metrics.HOLD_REQUESTS.labels(RequestState.EXPIRED.value).inc()
        current = store.get_request(request.id) or request
        return _refuse(store, clock, user, RefusalReason.EXPIRED, current)
    decided = saving(
        lambda: store.decide(
            request.id,
            to=to,
            actor=user,
            at=now,
            reason=reason,
            runner=runner.name if runner else None,
            lease_until=now + runner.lease if runner else None,
        ),
        what=_SAVED_AS[event],
    )
    if not decided:
        current = store.get_request(request.id) or request
        by = f" by {current.decided_by}" if current.decided_by else ""
        audit(
            store,
            now,
            "duplicate_click",
            actor=user,
            request_id=request.id,
            detail=f"already {current.state.value}{by}",
        )
        return Refusal(RefusalReason.ALREADY_DECIDED, current)
    detail = f"reason: {reason}" if reason else ""
    _audit_after(store, now, event, actor=user, request_id=request.id, detail=detail)
    if to.is_final:
        metrics.HOLD_REQUESTS.labels(to.value).inc()
    try:
        return store.get_request(request.id) or request
    except StoreError:  # decided all the same: carry on with what the decision made of it
        return replace(request, state=to, decided_by=user, decided_at=now, decision_reason=reason)


# What a person's decision is called when it could not be saved.
_SAVED_AS = {"approved": "approval", "rejected": "rejection", "withdrawn": "withdrawal"}


def _refuse(
    store: HoldStore, clock: Clock, user: str, why: RefusalReason, request: HoldRequest | None
) -> Refusal:
    audit(
        store,
        clock.now(),
        "refused",
        actor=user or None,
        request_id=request.id if request else None,
        detail=why.value,
    )
    return Refusal(why, request)


def expire_due(store: HoldStore, clock: Clock) -> list[HoldRequest]:
    """Expire overdue pending requests; return those this call expired (to update their cards)."""
    now = clock.now()
    expired = store.expire_due(now)
    for request in expired:
        audit(store, now, "expired", request_id=request.id)
        metrics.HOLD_REQUESTS.labels(RequestState.EXPIRED.value).inc()
    return expired

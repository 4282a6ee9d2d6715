"""Hold use cases: check orders, open a request, decide it (one winner), expire it.

Running an approved request — re-read, cancel once, verify — is :mod:`bot.holds.execution`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    OrderNotFound,
    RateLimited,
    Unavailable,
)
from bot.cartrover.models import Flag, Order
from bot.deps import Deps
from bot.store.base import AuditEntry, HoldRequest, RequestState

__all__ = [
    "MANUAL_FALLBACK",
    "Decision",
    "approve",
    "check_orders",
    "expire_due",
    "open_request",
    "refuse",
    "reject",
    "unread_reason",
    "why_not_holdable",
]

log = logging.getLogger(__name__)

EXPIRED = "This hold request has expired; nothing was sent. Ask for a new one."
MANUAL_FALLBACK = "In CartRover: the order's Actions Menu > To WMS > Cancel Sending to WMS."


@dataclass(frozen=True)
class Decision:
    """What a click achieved: ``ok`` or a message saying why not (shown ephemerally)."""

    ok: bool
    message: str = ""
    request: HoldRequest | None = None


def why_not_holdable(order: Order) -> str | None:
    """None if sending can be canceled; else the reason in words."""
    if order.order_status != "new":
        return f"it is {order.status_words}, not New: too late to cancel sending here"
    if order.sending_canceled is Flag.YES:
        return "sending is already canceled"
    if order.sending_canceled is not Flag.NO:
        return (
            f"CartRover sent an unexpected sending_canceled value ({order.raw_sending_canceled!r})"
        )
    return None


def unread_reason(error: CartRoverError) -> str:
    """Why an order could not be read, in words."""
    if isinstance(error, OrderNotFound):
        return f"CartRover does not know it ({error.message})"
    if isinstance(error, AuthenticationFailed):
        return "CartRover refused the bot's API credentials (an admin should check them)"
    if isinstance(error, ConnectionFailed | Unavailable | RateLimited):
        return f"CartRover did not answer about it ({error.message}); try again later"
    return f"CartRover said: {error.message}"


def check_orders(
    deps: Deps, refs: Sequence[str], created: Mapping[str, datetime] | None = None
) -> tuple[list[Order], list[tuple[str, str]]]:
    """Read the orders (with as few calls as ``created`` times allow); return the holdable ones
    and (ref, reason) for the rest."""
    good: list[Order] = []
    bad: list[tuple[str, str]] = []
    for ref, order in deps.cartrover.get_orders(refs, created).items():
        if isinstance(order, CartRoverError):
            bad.append((ref, unread_reason(order)))
            continue
        reason = why_not_holdable(order)
        if reason is None:
            good.append(order)
        else:
            bad.append((ref, reason))
    return good, bad


def open_request(
    deps: Deps,
    *,
    requester: str,
    channel_id: str,
    reason: str,
    refs: list[str],
    source: str,
    order_created: Mapping[str, datetime] | None = None,
) -> HoldRequest:
    now = deps.clock.now()
    ttl = timedelta(hours=deps.settings.hold_request_ttl_hours)
    request = deps.store.create_request(
        requester=requester,
        channel_id=channel_id,
        reason=reason,
        cust_refs=refs,
        created_at=now,
        expires_at=now + ttl,
        source=source,
        order_created=order_created,
    )
    deps.store.audit(
        AuditEntry(
            at=now,
            event="requested",
            actor=requester,
            request_id=request.id,
            detail=f"{len(refs)} order(s): {', '.join(refs[:20])}; reason: {reason or '-'}",
        )
    )
    return request


def refuse(deps: Deps, request: HoldRequest, user: str, why: str) -> Decision:
    deps.store.audit(
        AuditEntry(
            at=deps.clock.now(), event="refused", actor=user, request_id=request.id, detail=why
        )
    )
    return Decision(False, why, request)


def approve(deps: Deps, request: HoldRequest, user: str) -> Decision:
    """Authorise and take the single winning decision; the caller then runs :func:`execute`."""
    why = deps.approvers.refusal_to_approve(user, request.requester)
    if why:
        return refuse(deps, request, user, why)
    return _decide(deps, request, user, RequestState.EXECUTING, "approved")


def reject(deps: Deps, request: HoldRequest, user: str) -> Decision:
    why = deps.approvers.refusal_to_reject(user, request.requester)
    if why:
        return refuse(deps, request, user, why)
    event = "withdrawn" if user == request.requester else "rejected"
    return _decide(deps, request, user, RequestState.REJECTED, event)


def _decide(deps: Deps, request: HoldRequest, user: str, to: RequestState, event: str) -> Decision:
    now = deps.clock.now()
    if now >= request.expires_at and request.state.is_open:
        if deps.store.decide(request.id, to=RequestState.EXPIRED, actor=None, at=now):
            deps.store.audit(AuditEntry(at=now, event="expired", request_id=request.id))
        refused = refuse(deps, request, user, EXPIRED)
        return Decision(False, refused.message, deps.store.get_request(request.id))
    if not deps.store.decide(request.id, to=to, actor=user, at=now):
        current = deps.store.get_request(request.id) or request
        by = f" by <@{current.decided_by}>" if current.decided_by else ""
        why = f"This hold request was already {current.state.value}{by}."
        deps.store.audit(
            AuditEntry(
                at=now, event="duplicate_click", actor=user, request_id=request.id, detail=why
            )
        )
        return Decision(False, why, current)
    deps.store.audit(AuditEntry(at=now, event=event, actor=user, request_id=request.id))
    return Decision(True, "", deps.store.get_request(request.id))


def expire_due(deps: Deps) -> list[HoldRequest]:
    """Expire overdue pending requests; return those this call expired (to update messages)."""
    now = deps.clock.now()
    expired = deps.store.expire_due(now)
    for request in expired:
        deps.store.audit(AuditEntry(at=now, event="expired", request_id=request.id))
    return expired

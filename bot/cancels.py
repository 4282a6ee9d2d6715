"""Running an approved hold request, per order (cartrover-api.md §11.3, reliability R5, R34,
R41, R42): re-read → (still New and will be sent?) → mark ``sending`` in the store → cancel once →
re-read to verify. An order found ``sending`` after a restart is only re-read, never sent again;
several runners on one request (a live one and a resumer) each take an order only through the
store's single-winner transitions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from bot.cartrover.errors import CartRoverError, ConnectionFailed, OrderNotFound, Unavailable
from bot.deps import Deps
from bot.holds import why_not_holdable
from bot.store.base import AuditEntry, HoldItem, HoldRequest, ItemState, RequestState

__all__ = ["ORPHANED_AFTER", "execute", "final_state", "unfinished"]

log = logging.getLogger(__name__)

# A ``sending`` item untouched for this long belongs to a process that died (the client's own
# per-call deadline is far shorter), so another process may finish it by re-reading.
ORPHANED_AFTER = timedelta(minutes=5)


def final_state(items: Iterable[HoldItem]) -> RequestState:
    states = {item.state for item in items}
    if ItemState.NOT_CONFIRMED in states:
        return RequestState.UNKNOWN
    if ItemState.FAILED in states:
        return RequestState.FAILED
    return RequestState.DONE


def unfinished(deps: Deps) -> list[HoldRequest]:
    """Executing requests that nobody has touched for :data:`ORPHANED_AFTER`: their process died,
    so resume them with :func:`execute`. A request still progressing belongs to a live process;
    a second runner there would pace against CartRover with a second bucket."""
    now = deps.clock.now()
    orphaned = []
    for request in deps.store.requests_in_state(RequestState.EXECUTING):
        stamps = [item.updated_at for item in request.items if item.updated_at is not None]
        last = max([*stamps, request.decided_at or request.created_at])
        if now - last >= ORPHANED_AFTER:
            orphaned.append(request)
    return orphaned


def execute(
    deps: Deps, request_id: int, on_progress: Callable[[HoldRequest], None] | None = None
) -> HoldRequest | None:
    """Run every item of an approved request; finish the request when all items are final."""
    request = deps.store.get_request(request_id)
    if request is None or request.state is not RequestState.EXECUTING:
        return request
    for item in request.items:
        if item.state.is_final:
            continue
        if _run_item(deps, request, item) and on_progress is not None:
            refreshed = deps.store.get_request(request_id)
            if refreshed is not None:
                on_progress(refreshed)
    request = deps.store.get_request(request_id)
    if request is None or any(not item.state.is_final for item in request.items):
        return request  # an item still in flight elsewhere; a later resume finishes it
    state = final_state(request.items)
    if deps.store.decide(
        request_id, to=state, actor=None, at=deps.clock.now(), expect=RequestState.EXECUTING
    ):
        deps.store.audit(
            AuditEntry(
                at=deps.clock.now(), event="finished", request_id=request_id, detail=state.value
            )
        )
    return deps.store.get_request(request_id)


def _run_item(deps: Deps, request: HoldRequest, item: HoldItem) -> bool:
    """Process one item; True if this call changed it."""
    ref = item.cust_ref
    if item.state is ItemState.SENDING:
        stamp = item.updated_at
        if stamp is not None and deps.clock.now() - stamp < ORPHANED_AFTER:
            return False  # another process is sending it right now
        return _verify(deps, request, ref, [], "the bot restarted while this cancel was in flight")
    try:
        order = deps.cartrover.get_order(ref)
    except OrderNotFound as exc:
        return _finish(
            deps,
            request,
            ref,
            ItemState.SKIPPED,
            f"not found in CartRover: {exc.message}",
            exc.process_id,
            expect=ItemState.QUEUED,
        )
    except CartRoverError as exc:
        _audit_error(deps, request, ref, "re-read before cancel", exc)
        return _finish(
            deps,
            request,
            ref,
            ItemState.FAILED,
            f"could not re-read the order: {exc.message}",
            exc.process_id,
            expect=ItemState.QUEUED,
        )
    reason = why_not_holdable(order)
    if reason is not None:
        # Only while still queued: if another runner has meanwhile sent this order's cancel,
        # "already sending-canceled" is its own doing, and its outcome must stand.
        return _finish(deps, request, ref, ItemState.SKIPPED, reason, None, expect=ItemState.QUEUED)
    if not deps.store.start_item(request.id, ref, deps.clock.now()):
        return False  # another worker or process won this item
    return _cancel(deps, request, ref)


def _cancel(deps: Deps, request: HoldRequest, ref: str) -> bool:
    try:
        reply = deps.cartrover.cancel_sending(ref)
    except (ConnectionFailed, Unavailable) as exc:
        sent = not isinstance(exc, ConnectionFailed) or exc.request_sent
        _audit_error(deps, request, ref, "cancel sending", exc)
        if sent:  # ambiguous: it may have been applied. Never resend; look instead.
            pids = [exc.process_id] if exc.process_id else []
            return _verify(
                deps, request, ref, pids, f"the cancel call got no clear answer ({exc.message})"
            )
        return _finish(
            deps,
            request,
            ref,
            ItemState.FAILED,
            f"CartRover could not be reached: {exc.message}",
            None,
        )
    except CartRoverError as exc:
        _audit_error(deps, request, ref, "cancel sending", exc)
        return _finish(
            deps,
            request,
            ref,
            ItemState.FAILED,
            f"CartRover refused: {exc.message}",
            exc.process_id,
        )
    pids = [reply.process_id] if reply.process_id else []
    if not reply.accepted:
        message = reply.message or "no reason given"
        return _finish_many(
            deps, request, ref, ItemState.FAILED, f"CartRover refused: {message}", pids
        )
    return _verify(deps, request, ref, pids, "")


def _verify(deps: Deps, request: HoldRequest, ref: str, pids: list[str], context: str) -> bool:
    try:
        order = deps.cartrover.get_order(ref)
    except CartRoverError as exc:
        _audit_error(deps, request, ref, "verify", exc)
        detail = f"could not re-read to verify ({exc.message})"
        return _finish_many(
            deps, request, ref, ItemState.NOT_CONFIRMED, _join(context, detail), pids
        )
    if order.is_sending_canceled or order.order_status == "canceled":
        return _finish_many(
            deps, request, ref, ItemState.CANCELED, _join(context, order.status_words), pids
        )
    detail = f"CartRover still shows {order.status_words}"
    return _finish_many(deps, request, ref, ItemState.NOT_CONFIRMED, _join(context, detail), pids)


def _join(context: str, detail: str) -> str:
    return f"{context}; {detail}" if context else detail


def _finish(
    deps: Deps,
    request: HoldRequest,
    ref: str,
    state: ItemState,
    detail: str,
    pid: str | None,
    *,
    expect: ItemState | None = None,
) -> bool:
    return _finish_many(deps, request, ref, state, detail, [pid] if pid else [], expect=expect)


def _finish_many(
    deps: Deps,
    request: HoldRequest,
    ref: str,
    state: ItemState,
    detail: str,
    pids: list[str],
    *,
    expect: ItemState | None = None,
) -> bool:
    now = deps.clock.now()
    changed = deps.store.finish_item(
        request.id, ref, state=state, detail=detail, process_ids=pids, at=now, expect=expect
    )
    if changed:
        deps.store.audit(
            AuditEntry(
                at=now,
                event="outcome",
                request_id=request.id,
                cust_ref=ref,
                detail=f"{state.value}: {detail}",
                process_id=pids[-1] if pids else None,
            )
        )
        log.info("hold #%s %s → %s", request.id, ref, state.value)
    return changed


def _audit_error(
    deps: Deps, request: HoldRequest, ref: str, step: str, exc: CartRoverError
) -> None:
    deps.store.audit(
        AuditEntry(
            at=deps.clock.now(),
            event="cartrover_error",
            request_id=request.id,
            cust_ref=ref,
            detail=f"{step}: {exc}",
            process_id=exc.process_id,
        )
    )

"""Running an approved hold request, per order: re-read → (still New and will be sent?) → mark
``sending`` in the store → cancel once → verify with another read.

- The re-read just before each cancel is per order: a cancel is never sent unless the order was
  just seen New with sending not canceled (whether CartRover's cancel on an order already at the
  WMS asks the warehouse to cancel it is unknown). With the order's creation time known, that read
  is one listing call; otherwise the status and single-order calls.
- Verifying is batched: the orders of up to :data:`VERIFY_BATCH` cancels are re-read together,
  which one listing call usually covers.
- Whatever the cancel call answers, it is never resent, and the order is always re-read: it is
  "canceled" when the order shows it, "failed" only when a clear refusal left the order unchanged,
  and "not confirmed" otherwise. The audit trail keeps the answer as received.
- One runner at a time holds a request's lease (``bot.store.leases``). An order found ``sending``
  when a runner takes a request over was left by one that stopped: it is only re-read, never sent
  again. Should two runners ever meet on one request, each takes an order only through the
  store's single-winner transitions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import metrics
from bot.cartrover.errors import CartRoverError, ConnectionFailed, OrderNotFound
from bot.cartrover.models import CancelOutcome, CancelReply, Order
from bot.cartrover.service import OrderService
from bot.holds.rules import why_not_holdable
from bot.store.contracts import HoldStore, audit
from bot.store.records import HoldItem, HoldRequest, ItemState, RequestState
from bot.times import Clock

__all__ = ["VERIFY_BATCH", "execute", "final_state"]

log = logging.getLogger(__name__)

VERIFY_BATCH = 25  # cancels verified together (and the most orders in flight at once)


@dataclass(frozen=True)
class _Run:
    """What running a request uses."""

    orders: OrderService
    store: HoldStore
    clock: Clock
    may_send: Callable[[], bool] = lambda: True


@dataclass(frozen=True)
class _Sent:
    """What one order's cancel call said, waiting for the verifying re-read."""

    ref: str
    refused: bool  # CartRover clearly did not act: a refusal, or nothing was sent at all
    context: str  # what happened, in words ("" for a plain acceptance)
    process_ids: tuple[str, ...] = ()


def final_state(items: Iterable[HoldItem]) -> RequestState:
    states = {item.state for item in items}
    if ItemState.NOT_CONFIRMED in states:
        return RequestState.UNKNOWN
    if ItemState.FAILED in states:
        return RequestState.FAILED
    return RequestState.DONE


def execute(
    orders: OrderService,
    store: HoldStore,
    clock: Clock,
    request_id: int,
    on_progress: Callable[[HoldRequest], None] | None = None,
    still_mine: Callable[[], bool] = lambda: True,
    may_send: Callable[[], bool] = lambda: True,
) -> HoldRequest | None:
    """Run every item of an approved request; finish the request when all items are final.

    The caller holds the request's lease: an item found ``sending`` was left by a runner that
    stopped, and is only re-read. ``still_mine`` renews the lease before each step; once it says
    no, another runner has taken over (or this process is stopping) and this one stops where it
    is. ``may_send`` is asked again just before each cancel: once it says no (the process is
    stopping), no new cancel leaves.
    """
    run = _Run(orders, store, clock, may_send)
    request = run.store.get_request(request_id)
    if request is None or request.state is not RequestState.EXECUTING:
        return request

    def progress() -> None:
        refreshed = run.store.get_request(request_id)
        if refreshed is not None and on_progress is not None:
            on_progress(refreshed)

    todo = [item for item in request.items if not item.state.is_final]
    for start in range(0, len(todo), VERIFY_BATCH):
        sent: list[_Sent] = []
        for item in todo[start : start + VERIFY_BATCH]:
            if not still_mine():
                return store.get_request(request_id)
            changed, outcome = _send(run, request, item)
            if outcome is not None:
                sent.append(outcome)
            if changed:
                progress()
        if sent:
            if not still_mine():  # taken over: the new runner re-reads what was sent
                return store.get_request(request_id)
            _verify(run, request, sent)
            progress()
    return _finish_request(run, request_id)


def _finish_request(run: _Run, request_id: int) -> HoldRequest | None:
    request = run.store.get_request(request_id)
    if request is None or any(not item.state.is_final for item in request.items):
        return request  # an item still in flight elsewhere; a later resume finishes it
    state = final_state(request.items)
    now = run.clock.now()
    if run.store.decide(request_id, to=state, actor=None, at=now, expect=RequestState.EXECUTING):
        audit(run.store, now, "finished", request_id=request_id, detail=state.value)
        metrics.HOLD_REQUESTS.labels(state.value).inc()
    return run.store.get_request(request_id)


def _send(run: _Run, request: HoldRequest, item: HoldItem) -> tuple[bool, _Sent | None]:
    """Re-read one order and send its cancel if it still needs one. Returns whether this call
    changed the item, and what the cancel call said (None: no cancel to verify)."""
    ref = item.cust_ref
    if item.state is ItemState.SENDING:  # its runner stopped mid-cancel: look, never resend
        return False, _Sent(ref, False, "the bot restarted while this cancel was in flight")
    order = run.orders.get_orders([ref], _created([item])).get(ref)
    if isinstance(order, OrderNotFound):
        detail = f"not found in CartRover: {order.message}"
        return _finish(run, request, ref, ItemState.SKIPPED, detail, _pids(order)), None
    if not isinstance(order, Order):
        error = order or CartRoverError("no answer")
        _audit_error(run, request, ref, "re-read before cancel", error)
        detail = f"could not re-read the order: {error.message}"
        return _finish(run, request, ref, ItemState.FAILED, detail, _pids(error)), None
    reason = why_not_holdable(order)
    if reason is not None:
        # Only while still queued: if another runner has meanwhile sent this order's cancel,
        # "already sending-canceled" is its own doing, and its outcome must stand.
        return _finish(run, request, ref, ItemState.SKIPPED, reason, ()), None
    if not run.may_send() or not run.store.start_item(request.id, ref, run.clock.now()):
        return False, None  # stopping, or another worker or process won this item
    return True, _cancel(run, request, ref)


def _cancel(run: _Run, request: HoldRequest, ref: str) -> _Sent:
    """Send the cancel once and say what came back; never raises for CartRover's sake."""
    try:
        reply = run.orders.cancel_sending(ref)
    except CartRoverError as exc:
        _audit_error(run, request, ref, "cancel sending", exc)
        if isinstance(exc, ConnectionFailed) and exc.request_sent:
            return _Sent(ref, False, f"the cancel call got no clear answer ({exc.message})")
        return _Sent(ref, True, f"nothing was sent to CartRover ({exc.message})")
    _audit_answer(run, request, ref, reply)
    pids = (reply.process_id,) if reply.process_id else ()
    if reply.outcome is CancelOutcome.ACCEPTED:
        return _Sent(ref, False, "", pids)
    if reply.outcome is CancelOutcome.REFUSED:
        return _Sent(ref, True, f"CartRover refused: {reply.message or 'no reason given'}", pids)
    return _Sent(ref, False, "CartRover's answer to the cancel could not be read", pids)


def _verify(run: _Run, request: HoldRequest, sent: Sequence[_Sent]) -> None:
    """Re-read every order whose cancel was sent and record each outcome."""
    read = run.orders.get_orders([s.ref for s in sent], _created(request.items))
    for s in sent:
        order = read.get(s.ref)
        if not isinstance(order, Order):
            error = order or CartRoverError("no answer")
            _audit_error(run, request, s.ref, "verify", error)
            state = ItemState.NOT_CONFIRMED
            detail = f"could not re-read to verify ({error.message})"
        elif order.is_sending_canceled or order.order_status == "canceled":
            state, detail = ItemState.CANCELED, order.status_words
        elif s.refused and order.will_be_sent:
            state, detail = ItemState.FAILED, f"CartRover still shows {order.status_words}"
        else:
            state, detail = ItemState.NOT_CONFIRMED, f"CartRover still shows {order.status_words}"
        text = f"{s.context}; {detail}" if s.context else detail
        _finish(run, request, s.ref, state, text, s.process_ids, expect=ItemState.SENDING)


def _created(items: Iterable[HoldItem]) -> dict[str, datetime]:
    return {item.cust_ref: item.order_created_at for item in items if item.order_created_at}


def _pids(error: CartRoverError) -> tuple[str, ...]:
    return (error.process_id,) if error.process_id else ()


def _finish(
    run: _Run,
    request: HoldRequest,
    ref: str,
    state: ItemState,
    detail: str,
    pids: Sequence[str],
    *,
    expect: ItemState = ItemState.QUEUED,
) -> bool:
    now = run.clock.now()
    changed = run.store.finish_item(
        request.id, ref, state=state, detail=detail, process_ids=pids, at=now, expect=expect
    )
    if changed:
        audit(
            run.store,
            now,
            "outcome",
            request_id=request.id,
            cust_ref=ref,
            detail=f"{state.value}: {detail}",
            process_id=pids[-1] if pids else None,
        )
        log.info("hold #%s %s → %s", request.id, ref, state.value)
        metrics.CANCELS.labels(state.value).inc()
    return changed


def _audit_answer(run: _Run, request: HoldRequest, ref: str, reply: CancelReply) -> None:
    audit(
        run.store,
        run.clock.now(),
        "cancel_answer",
        request_id=request.id,
        cust_ref=ref,
        detail=f"{reply.outcome.value}: {reply.raw}",
        process_id=reply.process_id,
    )


def _audit_error(run: _Run, request: HoldRequest, ref: str, step: str, exc: CartRoverError) -> None:
    audit(
        run.store,
        run.clock.now(),
        "cartrover_error",
        request_id=request.id,
        cust_ref=ref,
        detail=f"{step}: {exc}",
        process_id=exc.process_id,
    )

"""Running an approved hold request, per order: re-read → (still New and will be sent?) → mark
``sending`` in the store once the call may leave (after any wait for the rate limit) → cancel
once → verify with another read (and, when that read does not show the cancel yet, once more
about a minute later: :mod:`bot.holds.verdicts`).

- The re-read just before each cancel is per order: a cancel is never sent unless the order was
  just seen New with sending not canceled (whether CartRover's cancel on an order already at the
  WMS asks the warehouse to cancel it is unknown). With the order's creation time known, that read
  is one listing call; otherwise the status and single-order calls.
- Verifying is batched: the orders of up to :data:`VERIFY_BATCH` cancels are re-read together,
  which one listing call usually covers.
- Whatever the cancel call answers, it is never resent, and the order is always re-read: it is
  "canceled" when the order shows it, "failed" only when a clear refusal left the order unchanged,
  and "not confirmed" otherwise. The audit trail keeps the answer as received.
- A cancel the verifying read does not show yet is ``checking``: the request stays executing, its
  lease is set to end when the second look is due (:func:`bot.holds.verdicts.second_look_due`),
  and whichever runner resumes it then reads the order once more; only then is "not confirmed"
  final.
- A cancel CartRover answers with ``RateLimit`` (or HTTP 429) did nothing: the order goes back
  to ``queued`` ("waiting for CartRover's rate limit" on the card) and is re-read and sent again
  once the rate limit allows, for up to :data:`RATE_LIMIT_PATIENCE` seconds; never counted as a
  failure. Past that, it waits queued for the next run (its lease lapses, a look resumes it).
  Only ``RateLimit`` is sent again: an ambiguous answer never is.
- Once the process is stopping (``may_send`` says no), no cancel leaves: the question is asked
  again at the last moment, after the wait for the rate limit, and an order that was not sent
  stays (or goes back to) ``queued`` for the runner that takes the request over.
- In shadow mode (``SHADOW_MODE``) everything runs but the cancel itself: an order that would be
  canceled is ``would_cancel``, and CartRover receives no cancel.
- One runner at a time holds a request's lease (``bot.store.leases``). An order found ``sending``
  when a runner takes a request over was left by one that stopped: it is only re-read, never sent
  again. Should two runners ever meet on one request, each takes an order only through the
  store's single-winner transitions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot import metrics
from bot.cartrover.errors import (
    CartRoverError,
    ConnectionFailed,
    OrderNotFound,
    RateLimited,
    Withheld,
)
from bot.cartrover.models import CancelOutcome, CancelReply, Order
from bot.cartrover.service import OrderService
from bot.holds.rules import moved_on
from bot.holds.verdicts import CHECKING_AGAIN, READ_AGAIN, RECHECK_AFTER, SHADOW, Sent, verdict
from bot.logcontext import log_context
from bot.store.contracts import HoldStore, audit
from bot.store.records import HoldItem, HoldRequest, ItemState, RequestState
from bot.times import Clock

__all__ = [
    "RATE_LIMIT_PATIENCE",
    "RATE_LIMIT_WAIT",
    "VERIFY_BATCH",
    "execute",
    "final_state",
]

log = logging.getLogger(__name__)

metrics.start_at_zero(metrics.CANCELS, [(state.value,) for state in ItemState if state.is_final])

VERIFY_BATCH = 25  # cancels verified together (and the most orders in flight at once)
RATE_LIMIT_PATIENCE = 120.0  # seconds a rate-limited cancel is sent again for, within one run
RATE_LIMIT_PAUSE = 1.0  # seconds at least before a rate-limited cancel is sent again
RATE_LIMIT_WAIT = "for CartRover's rate limit: nothing was sent yet; it goes again when allowed"
STOPPED_UNSENT = "for another runner: this one stopped before the cancel left; nothing was sent"


@dataclass(frozen=True)
class _Run:
    """What running a request uses."""

    orders: OrderService
    store: HoldStore
    clock: Clock
    shadow: bool = False
    may_send: Callable[[], bool] = lambda: True
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class _Limited:
    """A cancel answered with RateLimit: CartRover did nothing; it may go again after
    ``retry_after`` seconds (if it said)."""

    retry_after: float | None = None


@dataclass(frozen=True)
class _Look:
    """A verifying read to make: of what was sent, and whether it is the second (last) one."""

    sent: Sent
    last: bool = False

    @property
    def expect(self) -> ItemState:
        return ItemState.CHECKING if self.last else ItemState.SENDING


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
    *,
    shadow: bool = False,
    may_send: Callable[[], bool] = lambda: True,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> HoldRequest | None:
    """Run every item of an approved request; finish the request when all items are final.

    The caller holds the request's lease: an item found ``sending`` was left by a runner that
    stopped, and is only re-read; an item ``checking`` is read again once its second look is
    due, else left for a later run. ``still_mine`` renews the lease before each step; once it
    says no, another runner has taken over (or this process is stopping) and this one stops
    where it is. ``may_send`` is asked again just before each cancel: once it says no (the
    process is stopping), no new cancel leaves. ``shadow``: send no cancel (shadow mode).
    """
    run = _Run(orders, store, clock, shadow, may_send, sleep, monotonic)
    request = run.store.get_request(request_id)
    if request is None or request.state is not RequestState.EXECUTING:
        return request

    def progress() -> None:
        refreshed = run.store.get_request(request_id)
        if refreshed is not None and on_progress is not None:
            on_progress(refreshed)

    todo = [item for item in request.items if not item.state.is_final]
    for start in range(0, len(todo), VERIFY_BATCH):
        looks: list[_Look] = []
        for item in todo[start : start + VERIFY_BATCH]:
            if not still_mine():
                return store.get_request(request_id)
            with log_context(orders=[item.cust_ref]):
                changed, look = _send(run, request, item)
                if isinstance(look, _Limited):  # nothing was done: again when the limit allows
                    changed, look = _again(run, request, item, look, still_mine, progress)
            if isinstance(look, _Look):
                looks.append(look)
            if changed:
                progress()
        if looks:
            if not still_mine():  # taken over: the new runner re-reads what was sent
                return store.get_request(request_id)
            _verify(run, request, looks)
            progress()
    return _finish_request(run, request_id)


def _again(
    run: _Run,
    request: HoldRequest,
    item: HoldItem,
    limited: _Limited,
    still_mine: Callable[[], bool],
    progress: Callable[[], None],
) -> tuple[bool, _Look | _Limited | None]:
    """Send a rate-limited cancel again (re-reading the order first) each time the rate limit
    allows, for up to RATE_LIMIT_PATIENCE seconds, the lease renewed meanwhile; what the last
    try came to (still ``_Limited``: the order waits queued for a later run)."""
    give_up_at = run.monotonic() + RATE_LIMIT_PATIENCE
    look: _Look | _Limited | None = limited
    while isinstance(look, _Limited):
        progress()  # the card says the order waits for CartRover's rate limit
        pause = max(look.retry_after or 0.0, RATE_LIMIT_PAUSE)
        if run.monotonic() + pause > give_up_at:
            log.info(
                "hold #%s %s: still rate limited; left for a later run", request.id, item.cust_ref
            )
            return True, look
        run.sleep(pause)
        if not still_mine():
            return True, None
        _, look = _send(run, request, replace(item, state=ItemState.QUEUED))
    return True, look


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


def _send(run: _Run, request: HoldRequest, item: HoldItem) -> tuple[bool, _Look | _Limited | None]:
    """Re-read one order and send its cancel if it still needs one. Returns whether this call
    changed the item, and the verifying read to make (None: nothing to verify now)."""
    ref = item.cust_ref
    if item.state is ItemState.SENDING:  # its runner stopped mid-cancel: look, never resend
        return False, _Look(Sent(ref, False, "the bot restarted while this cancel was in flight"))
    if item.state is ItemState.CHECKING:  # the second look, once it is due
        due = item.updated_at is None or item.updated_at + RECHECK_AFTER <= run.clock.now()
        first = item.detail.removesuffix(f"; {CHECKING_AGAIN}")
        second = Sent(ref, False, f"{first}; {READ_AGAIN}".lstrip("; "), item.process_ids)
        return False, _Look(second, last=True) if due else None
    order = run.orders.get_orders([ref], _created([item])).get(ref)
    if isinstance(order, OrderNotFound):
        detail = f"is no longer known to CartRover ({order.message})"
        return _finish(run, request, ref, ItemState.SKIPPED, detail, _pids(order)), None
    if not isinstance(order, Order):
        error = order or CartRoverError("no answer")
        _audit_error(run, request, ref, "re-read before cancel", error)
        detail = f"could not re-read the order: {error.message}"
        return _finish(run, request, ref, ItemState.FAILED, detail, _pids(error)), None
    reason = moved_on(order)
    if reason is not None:
        # Only while still queued: if another runner has meanwhile sent this order's cancel,
        # "already sending-canceled" is its own doing, and its outcome must stand.
        return _finish(run, request, ref, ItemState.SKIPPED, reason, ()), None
    if run.shadow:
        _audit(run, request, ref, "shadow", "SHADOW_MODE=true: nothing was sent to CartRover")
        return _finish(run, request, ref, ItemState.WOULD_CANCEL, SHADOW, ()), None
    if not run.may_send():
        return False, None  # stopping
    marked: bool | None = None  # not asked yet; then whether the item is `sending` in the store

    def go_ahead() -> bool:  # asked by the client just before each attempt leaves
        nonlocal marked
        if marked is None:
            marked = run.may_send() and run.store.start_item(request.id, ref, run.clock.now())
        return bool(marked) and run.may_send()

    answer = _cancel(run, request, ref, go_ahead)
    sent = bool(marked)  # `sending` in the store: the call may have left
    if isinstance(answer, _Limited):
        run.store.requeue_item(request.id, ref, detail=RATE_LIMIT_WAIT, at=run.clock.now())
        return sent, answer
    if answer is None:  # withheld: stopping, or another worker or process won this item
        if sent:
            run.store.requeue_item(request.id, ref, detail=STOPPED_UNSENT, at=run.clock.now())
        return sent, None
    if not sent:  # the call ended before it could leave (no cancel keys, a closed client)
        if not run.may_send():
            return False, None
        return _finish(run, request, ref, ItemState.FAILED, answer.context, ()), None
    return True, _Look(answer)


def _cancel(
    run: _Run, request: HoldRequest, ref: str, go_ahead: Callable[[], bool]
) -> Sent | _Limited | None:
    """Send the cancel once and say what came back (_Limited: CartRover did nothing for its
    rate limit; None: ``go_ahead`` withheld it, nothing sent); never raises for CartRover's
    sake."""
    try:
        reply = run.orders.cancel_sending(ref, go_ahead=go_ahead)
    except Withheld:
        return None
    except CartRoverError as exc:
        _audit_error(run, request, ref, "cancel sending", exc)
        if isinstance(exc, RateLimited):  # nothing done: RateLimit, or a full bucket
            return _Limited(exc.retry_after)
        if isinstance(exc, ConnectionFailed) and exc.request_sent:
            return Sent(ref, False, f"the cancel call got no clear answer ({exc.message})")
        return Sent(ref, True, f"nothing was sent to CartRover ({exc.message})")
    _audit_answer(run, request, ref, reply)
    pids = (reply.process_id,) if reply.process_id else ()
    if reply.outcome is CancelOutcome.ACCEPTED:
        return Sent(ref, False, "", pids)
    if reply.outcome is CancelOutcome.REFUSED:
        return Sent(ref, True, f"CartRover refused: {reply.message or 'no reason given'}", pids)
    return Sent(ref, False, "CartRover's answer to the cancel could not be read", pids)


def _verify(run: _Run, request: HoldRequest, looks: Sequence[_Look]) -> None:
    """Re-read every order whose cancel was sent and record each outcome (or, at a first look
    that does not show the cancel yet, that a second look follows)."""
    read = run.orders.get_orders([look.sent.ref for look in looks], _created(request.items))
    for look in looks:
        sent, order = look.sent, read.get(look.sent.ref)
        if not isinstance(order, Order):
            _audit_error(run, request, sent.ref, "verify", order or CartRoverError("no answer"))
        state, text = verdict(sent, order, last=look.last)
        if state is ItemState.CHECKING:
            now = run.clock.now()
            if run.store.look_again(
                request.id, sent.ref, detail=text, process_ids=sent.process_ids, at=now
            ):
                _audit(run, request, sent.ref, "checking", text, sent.process_ids)
                log.info("hold #%s %s → checking again", request.id, sent.ref)
            continue
        _finish(run, request, sent.ref, state, text, sent.process_ids, expect=look.expect)


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
        about: dict[str, object] = {"request": request.id, "orders": [ref]}
        if pids:
            about["process_id"] = pids[-1]
        log.info("hold #%s %s → %s", request.id, ref, state.value, extra=about)
        metrics.CANCELS.labels(state.value).inc()
    return changed


def _audit(
    run: _Run,
    request: HoldRequest,
    ref: str,
    event: str,
    detail: str,
    pids: Sequence[str] = (),
) -> None:
    audit(
        run.store,
        run.clock.now(),
        event,
        request_id=request.id,
        cust_ref=ref,
        detail=detail,
        process_id=pids[-1] if pids else None,
    )


def _audit_answer(run: _Run, request: HoldRequest, ref: str, reply: CancelReply) -> None:
    pids = (reply.process_id,) if reply.process_id else ()
    _audit(run, request, ref, "cancel_answer", f"{reply.outcome.value}: {reply.raw}", pids)


def _audit_error(run: _Run, request: HoldRequest, ref: str, step: str, exc: CartRoverError) -> None:
    _audit(run, request, ref, "cartrover_error", f"{step}: {exc}", _pids(exc))

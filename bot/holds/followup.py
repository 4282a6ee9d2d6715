"""Requests follow their orders: while a hold request waits for an approver, the maintenance pass
re-reads its orders now and then and notices those that moved on — sent to the WMS, canceled in
CartRover, stopped from sending elsewhere. Each such order is set aside on the card with what to
do instead ("`X` went to the WMS — cancel it there"); a request with nothing left to hold ends
itself, and its requester is told as for any ending (:func:`bot.holds.announce.tell`).

Reads go through the same client as everything else, so they keep to CartRover's pacing, and use
a listing around the orders' known creation times where that is cheaper than one call each. A
pass re-reads at most :data:`FOLLOW_ORDERS` orders, each request at most every
:data:`FOLLOW_EVERY`, the longest-unread first, and waits while fewer than :data:`RESERVE` calls
are left this minute, so people's commands come first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import metrics
from bot.cartrover.errors import CartRoverError, OrderNotFound
from bot.cartrover.models import Order
from bot.deps import Deps
from bot.holds.rules import moved_on
from bot.store.contracts import audit
from bot.store.records import HoldItem, HoldRequest, ItemState, RequestState

__all__ = ["FOLLOW_EVERY", "FOLLOW_ORDERS", "RESERVE", "follow"]

log = logging.getLogger(__name__)

FOLLOW_EVERY = timedelta(minutes=5)  # a waiting request's orders are re-read this often at most
FOLLOW_ORDERS = 100  # orders re-read per pass at most
RESERVE = 20  # CartRover calls left this minute below which the pass waits for the next one
NO_LONGER_KNOWN = "is no longer known to CartRover — check it there"


def follow(deps: Deps, waiting: Sequence[HoldRequest]) -> list[int]:
    """One pass (see the module docstring) over ``waiting``, the requests waiting for an
    approver as just read; the ids of the requests whose orders changed."""
    pulse = deps.pulse.pulse if deps.pulse is not None else None
    if pulse is not None and pulse.remaining is not None and pulse.remaining < RESERVE:
        return []
    now = deps.clock.now()
    changed: list[int] = []
    budget = FOLLOW_ORDERS
    for request in _due(waiting, now):
        queued = [item for item in request.items if item.state is ItemState.QUEUED]
        if queued and len(queued) > budget and budget < FOLLOW_ORDERS:
            break  # the next pass starts with it
        budget -= len(queued)
        try:
            moved = _reread(deps, request, queued, now) if queued else False
        except CartRoverError as exc:
            log.warning("following hold #%s up: CartRover failed: %s", request.id, exc)
            break
        if moved:
            changed.append(request.id)
        if moved or not queued:  # else none of its orders changed here: nothing to end or mark
            _end_if_nothing_left(deps, request.id, now, moved)
    return changed


def _due(waiting: Sequence[HoldRequest], now: datetime) -> list[HoldRequest]:
    due = [
        request
        for request in waiting
        if request.message_ts
        and (request.followed_at is None or now - request.followed_at >= FOLLOW_EVERY)
    ]
    return sorted(due, key=lambda r: (r.followed_at or r.created_at, r.id))


def _reread(deps: Deps, request: HoldRequest, queued: Sequence[HoldItem], now: datetime) -> bool:
    """Re-read the request's ``queued`` orders; set aside those that moved on. Whether any did."""
    created = {i.cust_ref: i.order_created_at for i in queued if i.order_created_at is not None}
    reads = deps.cartrover.get_orders([item.cust_ref for item in queued], created)
    deps.holds.mark_followed(request.id, now)
    moved = False
    for item in queued:
        read = reads.get(item.cust_ref)
        if isinstance(read, OrderNotFound):
            words: str | None = NO_LONGER_KNOWN
        elif isinstance(read, Order):
            words = moved_on(read)
        else:
            words = None  # not read this time: the next pass tries again
        if words is None:
            continue
        if deps.holds.finish_item(
            request.id, item.cust_ref, state=ItemState.SKIPPED, detail=words, process_ids=(),
            at=now, expect=ItemState.QUEUED,
        ):  # fmt: skip
            audit(
                deps.holds, now, "moved_on", request_id=request.id, cust_ref=item.cust_ref,
                detail=words,
            )  # fmt: skip
            log.info("hold #%s: %s %s", request.id, item.cust_ref, words)
            moved = True
    return moved


def _end_if_nothing_left(deps: Deps, request_id: int, now: datetime, moved: bool) -> None:
    """End a waiting request whose every order moved on; otherwise, if some did, mark its card
    for the sweep to render again."""
    latest = deps.holds.get_request(request_id)
    if latest is None or latest.state is not RequestState.PENDING:
        return
    if all(item.state.is_final for item in latest.items):
        if deps.holds.decide(request_id, to=RequestState.DONE, actor=None, at=now):
            detail = "every order had moved on; nothing left to hold"
            audit(deps.holds, now, "nothing_left", request_id=request_id, detail=detail)
            metrics.HOLD_REQUESTS.labels(RequestState.DONE.value).inc()
    elif moved:
        deps.holds.card_outdated(request_id)

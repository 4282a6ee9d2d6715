"""The one module that talks to Slack for hold requests: post a request's card, keep every card in
step with its stored state, and tell the requester in the card's thread how the request ended.

**Cards converge.** Every successful ``chat.update`` records the state it rendered
(``HoldStore.mark_rendered``). :func:`show` tries a failed update again a few times (slack_sdk
itself waits out a rate limit's Retry-After) and renders again when the state moved on meanwhile;
whatever still lags, rate-limited or not, is found by the maintenance sweep (:func:`converge`), so
a closed request does not keep live buttons. Cards are always replaced with ``chat.update`` on the
stored channel and ``ts``, never through a ``response_url``, which expires.

**A post whose answer was lost** (the connection dropped after Slack may have accepted it) is not
a failure: the request stays pending without a message ts, holding its orders so that no second
card for them can appear, and expires normally. If its card is in the channel after all, the
first click on it adopts the card (:func:`bot.holds.requests.find_clicked`).

**The requester is told once.** When a request with a card reaches a final state, :func:`tell`
posts the outcome in the card's thread, mentioning the requester (and, when the card could not list
every order, each order's outcome in further replies). Whoever claims the notice in the store
posts it, so several processes post it once; a notice Slack failed to take is posted by the sweep
(:func:`tell_untold`) once :data:`NOTICE_RETRY_AFTER` has passed. A post whose answer was lost is
taken as posted: once at most, as for digests.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from enum import Enum

from bot import metrics
from bot.holds.card import CardContext, hold_message, order_listing
from bot.holds.notices import outcome_list, outcome_notice
from bot.holds.outcomes import Posted, Posting
from bot.slack.blocks.message import Message, context
from bot.slack.error_words import slack_error_words
from bot.slack.webapi import FATAL_AUTH_ERRORS, Poster, SetupProblem, SlackFailed
from bot.store.contracts import HoldStore, audit
from bot.store.records import HoldRequest, Notice, RequestState
from bot.times import Clock

__all__ = ["Rendered", "converge", "post_card", "show", "tell", "tell_untold"]

log = logging.getLogger(__name__)

# Pauses before trying a failed chat.update again at once.
UPDATE_RETRY_DELAYS = (0.25, 1.0)
# Slack errors that say "not now" rather than "never". The first ones are worth trying again at
# once; after a "ratelimited" slack_sdk has already waited out Retry-After three times, and nothing
# works until a refused token is fixed, so those wait for the next sweep.
RETRY_NOW = frozenset(
    {"connection_failed", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
RETRY_LATER = RETRY_NOW | {"ratelimited", *FATAL_AUTH_ERRORS}
LOST_ANSWER = "connection_failed"  # what bot.slack.webapi reports when no answer came back
SWEEP_CARDS = 20  # cards re-rendered per sweep at most (chat.update allows about 50 a minute)
SWEEP_NOTICES = 10  # notices posted per sweep at most (chat.postMessage: about one a second)
NOTICE_RETRY_AFTER = timedelta(minutes=15)
_RENDERS = 3  # a state changes at most twice (pending → executing → final) while we render


class Rendered(Enum):
    SHOWN = "shown"  # the card shows the stored state
    LATER = "later"  # Slack failed for now; the sweep tries again
    GAVE_UP = "gave_up"  # Slack refused for good (message deleted, channel archived, …)


def post_card(
    poster: Poster, store: HoldStore, clock: Clock, request: HoldRequest, card: CardContext
) -> Posted:
    """Post a new request's card in its channel and record where it is; when the card could not
    list every order, list them in its thread. A refused post closes the request (nothing was
    asked of anyone); a post in doubt leaves it pending."""
    message = hold_message(request, clock.now(), card)
    try:
        ts = poster.post(request.channel_id, message.text, message.blocks)
    except SlackFailed as exc:
        where = f"chat.postMessage in {request.channel_id}"
        if exc.error == LOST_ANSWER:
            _audit(store, clock, request, "post_unconfirmed", f"{where}: no answer came back")
            return Posted(Posting.IN_DOUBT, request)
        if store.decide(request.id, to=RequestState.REJECTED, actor=None, at=clock.now()):
            metrics.HOLD_REQUESTS.labels(RequestState.REJECTED.value).inc()
        _audit(store, clock, request, "post_failed", f"{where}: {exc.error}")
        advice = exc.advice if isinstance(exc, SetupProblem) else ""
        closed = store.get_request(request.id) or request
        return Posted(Posting.FAILED, closed, exc.error, advice)
    store.set_message(request.id, request.channel_id, ts)
    store.mark_rendered(request.id, RequestState.PENDING, clock.now())
    for number, part in enumerate(order_listing(request, clock.now(), card.zone), start=1):
        try:
            poster.post(request.channel_id, part.text, part.blocks, thread_ts=ts)
        except SlackFailed as exc:
            detail = f"order list stopped at part {number}: {exc.error}"
            _audit(store, clock, request, "order_list_incomplete", detail)
            break
    return Posted(Posting.POSTED, store.get_request(request.id) or request)


def show(
    poster: Poster, store: HoldStore, clock: Clock, request: HoldRequest, card: CardContext
) -> Rendered:
    """Replace the request's card with its current state (again if the state moved on
    meanwhile)."""
    current = request
    for _ in range(_RENDERS):
        if not current.message_ts:
            return Rendered.LATER
        outcome = _update(poster, store, clock, current, current.message_ts, card)
        if outcome is not Rendered.SHOWN:
            return outcome
        latest = store.get_request(current.id)
        if latest is None or latest.state is current.state:
            return Rendered.SHOWN
        current = latest
    return Rendered.LATER


def _update(
    poster: Poster, store: HoldStore, clock: Clock, request: HoldRequest, ts: str, card: CardContext
) -> Rendered:
    """One card update, tried again after a transient failure; records what it rendered."""
    message = hold_message(request, clock.now(), card)
    for delay in (*UPDATE_RETRY_DELAYS, None):
        try:
            poster.update(request.channel_id, ts, message.text, message.blocks)
        except SlackFailed as exc:
            server_error = exc.error.startswith("HTTP 5")
            if delay is not None and (exc.error in RETRY_NOW or server_error):
                time.sleep(delay)
                continue
            if exc.error in RETRY_LATER or server_error:
                log.warning("could not update hold #%s message: %s", request.id, exc.error)
                return Rendered.LATER
            log.warning("giving up on hold #%s message: %s", request.id, exc.error)
            detail = f"chat.update of {ts} in {request.channel_id}: {exc.error}"
            _audit(store, clock, request, "card_update_failed", detail)
            store.mark_rendered(request.id, request.state, clock.now())
            return Rendered.GAVE_UP
        store.mark_rendered(request.id, request.state, clock.now())
        return Rendered.SHOWN
    return Rendered.LATER  # pragma: no cover - the loop always returns


def converge(
    poster: Poster, store: HoldStore, clock: Clock, card: CardContext, limit: int = SWEEP_CARDS
) -> list[int]:
    """Re-render cards whose rendering lags their stored state; stop at the first one Slack
    cannot take now (the next sweep carries on). The ids of the cards brought up to date."""
    shown = []
    for request in store.lagging_cards(limit):
        outcome = show(poster, store, clock, request, card)
        if outcome is Rendered.LATER:
            break
        if outcome is Rendered.SHOWN:
            shown.append(request.id)
    return shown


def tell(poster: Poster, store: HoldStore, clock: Clock, request: HoldRequest) -> Notice | None:
    """Post how a closed request ended in its card's thread, mentioning the requester, unless it
    was told already (or another process is telling it). How the notice ended, or None when
    there was nothing to tell here."""
    if not request.state.is_final or not request.message_ts:
        return None
    now = clock.now()
    if not store.claim_notice(request.id, now, retry_before=now - NOTICE_RETRY_AFTER):
        return None
    current = store.get_request(request.id) or request
    thread = current.message_ts or request.message_ts
    notice, *listing = [outcome_notice(current), *outcome_list(current)]
    try:
        poster.post(current.channel_id, notice.text, notice.blocks, thread_ts=thread)
    except SlackFailed as exc:
        how = _notice_failure(exc)
        log.warning("could not tell the outcome of hold #%s: %s", request.id, exc.error)
        if how is Notice.REFUSED:
            detail = f"chat.postMessage in the thread of {thread} in {current.channel_id}: "
            how = _tell_directly(
                poster, store, clock, current, notice, exc.error, detail + exc.error
            )
        store.notice_done(request.id, how, clock.now())
        return how
    store.notice_done(request.id, Notice.POSTED, clock.now())
    for number, part in enumerate(listing, start=1):
        try:
            poster.post(current.channel_id, part.text, part.blocks, thread_ts=thread)
        except SlackFailed as exc:
            detail = f"outcome list stopped at part {number} of {len(listing)}: {exc.error}"
            log.warning("hold #%s: %s", request.id, detail)
            _audit(store, clock, current, "outcome_list_incomplete", detail)
            break
    return Notice.POSTED


def _tell_directly(
    poster: Poster,
    store: HoldStore,
    clock: Clock,
    request: HoldRequest,
    notice: Message,
    error: str,
    detail: str,
) -> Notice:
    """The thread cannot take the ``notice`` (archived, deleted, the bot removed): the requester
    gets it as a direct message from the app instead (R67). Its failures count as the thread's
    do: a lost answer as told, never twice."""
    why = f"I could not post this in the thread of its card in <#{request.channel_id}>: "
    blocks = [*notice.blocks, context(why + slack_error_words(error) + ".")]
    try:
        poster.direct(request.requester, notice.text, blocks)
    except SlackFailed as exc:
        _audit(store, clock, request, "outcome_not_told", f"{detail}; direct message: {exc.error}")
        return _notice_failure(exc)
    _audit(store, clock, request, "told_by_direct_message", detail)
    return Notice.POSTED


def _notice_failure(exc: SlackFailed) -> Notice:
    if exc.error == LOST_ANSWER:
        return Notice.POSTED  # it may be in the thread: never twice
    if exc.error in RETRY_LATER or exc.error.startswith("HTTP 5"):
        return Notice.FAILED
    return Notice.REFUSED


def tell_untold(
    poster: Poster, store: HoldStore, clock: Clock, limit: int = SWEEP_NOTICES
) -> list[int]:
    """The sweep's part: tell closed requests whose notice is still to post (a process stopped
    before it, or Slack failed); stop at the first Slack cannot take now. The ids told."""
    now = clock.now()
    told = []
    for request in store.untold(limit, retry_before=now - NOTICE_RETRY_AFTER):
        how = tell(poster, store, clock, request)
        if how is Notice.FAILED:
            break
        if how is Notice.POSTED:
            told.append(request.id)
    return told


def _audit(store: HoldStore, clock: Clock, request: HoldRequest, event: str, detail: str) -> None:
    audit(store, clock.now(), event, request_id=request.id, detail=detail)

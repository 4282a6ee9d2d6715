"""The store's contracts, one per role: :class:`HoldStore` (hold requests, their items, cards,
leases and audit trail), :class:`DigestStore` (digest subscriptions, claims, posts and order
snapshots) and :class:`SurfaceStore` (what the Slack surfaces keep: Events API deliveries, App Home
views, job heartbeats). A use case names the narrowest one it needs; :class:`Store`, their union
with the lifecycle, is for the composition root and the backends alone. The records are in
:mod:`bot.store.records`; ``docs/states.md`` has the statements' rules.

Every state change is one conditional statement in the implementation (``UPDATE … WHERE state =
…`` or ``INSERT … ON CONFLICT DO NOTHING``) whose result says whether *this* caller won, so that any
number of threads or processes racing on one database get exactly one winner (reliability R1,
R23, R27–R29). Implementations are safe to use from several threads at once. Datetimes in and out
are timezone-aware (UTC).

**One open request per order.** Creating a request also claims each of its orders, in the same
transaction; an order already claimed by a pending or executing request refuses the whole request
with :class:`~bot.store.records.OrdersAlreadyOpen`, naming the request that holds it. The database
releases the claims when the request's state becomes final, whichever statement moves it there.

**Cards.** Each request records the state its Slack message was last rendered in
(``rendered_state``), so a sweep can re-render every card whose rendering lags the stored state.

**Event ids.** An event id is claimed by exactly one caller however many processes receive the
delivery, and a claim is remembered only until it expires, after which the same statement hands it
to a new delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from bot.store.records import (
    AuditEntry,
    DigestClaim,
    DigestPost,
    DigestSubscription,
    HoldRequest,
    HomeView,
    ItemState,
    Notice,
    OrderFacts,
    RequestState,
    ScanMark,
    Snapshot,
)

__all__ = ["DigestStore", "HoldStore", "Store", "SurfaceStore", "audit"]


class HoldStore(Protocol):
    """Hold requests, from the request to its outcome."""

    # -- hold requests
    def create_request(
        self,
        *,
        requester: str,
        channel_id: str,
        reason: str,
        cust_refs: Sequence[str],
        created_at: datetime,
        expires_at: datetime,
        source: str = "command",
        order_created: Mapping[str, datetime] | None = None,
        order_facts: Mapping[str, OrderFacts] | None = None,
    ) -> HoldRequest:
        """Insert a pending request with one queued item per order and claim each order, all in
        one transaction. ``order_created`` gives the orders' creation times where known,
        ``order_facts`` what the card shows of each.

        OrdersAlreadyOpen (and nothing created) if an open request already holds any of the
        orders; ValueError if ``cust_refs`` is empty or names an order twice, or a datetime is
        naive.
        """

    def get_request(self, request_id: int) -> HoldRequest | None: ...

    def requests_in_state(self, state: RequestState) -> list[HoldRequest]:
        """Requests in ``state``, oldest first (``pending`` to list, ``executing`` to resume)."""

    def open_requests(self) -> list[HoldRequest]:
        """Every open request, read at once: the pending ones oldest first, then the executing
        ones oldest first."""

    def open_requests_for(self, cust_ref: str) -> list[HoldRequest]:
        """Pending or executing requests that include ``cust_ref``."""

    def requests_by(self, requester: str, limit: int = 10) -> list[HoldRequest]:
        """``requester``'s ``limit`` newest requests, newest first, in any state."""

    def decide(
        self,
        request_id: int,
        *,
        to: RequestState,
        actor: str | None,
        at: datetime,
        expect: RequestState = RequestState.PENDING,
        reason: str = "",
        runner: str | None = None,
        lease_until: datetime | None = None,
    ) -> bool:
        """Move ``expect → to`` in one conditional statement; True only for the single winner.
        ``reason`` (approving or rejecting) is kept as the request's ``decision_reason``. An
        approval (pending → executing) with ``runner`` and ``lease_until`` gives that runner the
        request's lease in the same statement.

        Moving a pending request to EXECUTING or REJECTED also refuses when ``expires_at <= at``,
        so a late approval can never win against the TTL. Only the moves drawn in
        :mod:`bot.store.records` exist (pending → executing | rejected | expired | done,
        executing → done | failed | unknown); any other raises ValueError.
        ``decided_by``/``decided_at`` are set only by the move out of pending.
        """

    def expire_due(self, now: datetime) -> list[HoldRequest]:
        """Expire pending requests with ``expires_at <= now``; return those this call expired."""

    # -- per-order items
    def start_item(self, request_id: int, cust_ref: str, at: datetime) -> bool:
        """queued → sending while the request is executing; True for the one caller that may
        send the cancel (False for a pending, rejected or finished request)."""

    def finish_item(
        self,
        request_id: int,
        cust_ref: str,
        *,
        state: ItemState,
        detail: str,
        process_ids: Sequence[str],
        at: datetime,
        expect: ItemState | None = None,
    ) -> bool:
        """queued/sending (or only ``expect``) → a final state; True if this call made the
        change. ValueError if ``state`` is not final."""

    def requeue_item(self, request_id: int, cust_ref: str, *, detail: str, at: datetime) -> bool:
        """sending → queued, with ``detail`` saying why: CartRover answered the cancel with
        RateLimit, so nothing was done and the order is to be sent again. True if it changed."""

    def look_again(
        self,
        request_id: int,
        cust_ref: str,
        *,
        detail: str,
        process_ids: Sequence[str],
        at: datetime,
    ) -> bool:
        """sending → checking (a second look follows); True if this call made the change."""

    # -- the card and the notice in its thread
    def set_message(self, request_id: int, channel_id: str, message_ts: str) -> None:
        """Record where the request message was posted."""

    def adopt_message(self, request_id: int, channel_id: str, message_ts: str) -> bool:
        """Record ``message_ts`` for a request in ``channel_id`` that has none yet (its post's
        answer was lost); True if this call recorded it."""

    def mark_rendered(self, request_id: int, state: RequestState, at: datetime) -> None:
        """Record that the request's message now shows ``state`` (or that Slack refused for good
        to show it, so there is nothing more to render)."""

    def card_outdated(self, request_id: int) -> None:
        """Forget what the request's card last showed (its orders changed while its state did
        not), so that :meth:`lagging_cards` finds it until it is rendered again."""

    def claim_reminder(self, request_id: int, at: datetime) -> bool:
        """Take the right to remind a pending request's approvers: True for exactly one caller,
        once per request."""

    def mark_followed(self, request_id: int, at: datetime) -> None:
        """Record that a pending request's orders were just re-read."""

    def lagging_cards(self, limit: int = 50) -> list[HoldRequest]:
        """Requests with a message whose rendered state is not their stored state, oldest
        first."""

    def claim_notice(self, request_id: int, at: datetime, *, retry_before: datetime) -> bool:
        """Take the right to post the notice of a closed request's outcome in its card's thread:
        True for exactly one caller, and only if the request is final, has a card, and its notice
        was never claimed or failed at or before ``retry_before``."""

    def notice_done(self, request_id: int, how: Notice, at: datetime) -> None:
        """Record how the claimed notice ended."""

    def untold(self, limit: int, *, retry_before: datetime) -> list[HoldRequest]:
        """Closed requests with a card whose notice is still to post (never claimed, or failed
        at or before ``retry_before``), oldest first."""

    # -- who runs an executing request
    def take_lease(self, request_id: int, runner: str, until: datetime, now: datetime) -> bool:
        """Let ``runner`` run an executing request until ``until``: True when its lease was free
        or lapsed (``<= now``); the single winner runs it. A live lease is never taken again,
        not even by the runner that holds it."""

    def renew_lease(self, request_id: int, runner: str, until: datetime, now: datetime) -> bool:
        """Extend ``runner``'s lease; False when it has lapsed or is no longer the runner's."""

    def release_lease(self, request_id: int, runner: str) -> bool:
        """Give up ``runner``'s lease on a request still executing (a runner stopping early);
        True if it held it."""

    def release_leases(self, process: str) -> int:
        """Give up every lease of ``process``'s runners (named ``process`` or ``process/…``) on
        requests still executing (a clean stop); how many were released."""

    def resumable(self, now: datetime) -> list[HoldRequest]:
        """Executing requests nobody holds a live lease on, oldest first."""

    def soonest_lease_end(self, now: datetime) -> datetime | None:
        """When the first live lease on an executing request ends, if one does."""

    def lease_counts(self, runner: str, now: datetime) -> tuple[int, int, int]:
        """Executing requests leased live by process ``runner`` (its runners ``runner/…``
        included), by others, and by nobody (for the metrics)."""

    # -- audit trail (append-only)
    def audit(self, entry: AuditEntry) -> None: ...

    def audit_for_order(self, cust_ref: str, limit: int = 50) -> list[AuditEntry]:
        """Entries naming ``cust_ref``, plus request-level entries (``cust_ref`` None) of the
        requests that include it, newest first; other orders' outcomes are left out."""

    def audit_for_request(self, request_id: int) -> list[AuditEntry]:
        """Entries of one request, oldest first."""


class DigestStore(Protocol):
    """The stale-order digest: where and when it is posted, and what it listed."""

    # -- subscriptions
    def subscribe(self, subscription: DigestSubscription) -> None:
        """Create or replace the channel's subscription."""

    def unsubscribe(self, channel_id: str) -> bool:
        """Remove it; True if there was one."""

    def subscription(self, channel_id: str) -> DigestSubscription | None: ...

    def subscriptions(self) -> list[DigestSubscription]: ...

    def saw_config(self, channel_id: str, config_value: str) -> None:
        """Record the configuration (``"09:00 UTC"``) last seen for the channel's subscription."""

    # -- claims: one scheduled digest per channel and local date
    def claim_digest(self, channel_id: str, local_date: date, at: datetime) -> bool:
        """Claim (channel, date): True for exactly one caller. A claim in state ``failed`` may be
        claimed again (one winner again)."""

    def digest_posted(self, channel_id: str, local_date: date, message_ts: str) -> None: ...

    def digest_failed(self, channel_id: str, local_date: date) -> None: ...

    def digest_claim(self, channel_id: str, local_date: date) -> DigestClaim | None: ...

    # -- each channel's last digest
    def record_digest(self, post: DigestPost) -> None:
        """Keep ``post`` as its channel's last digest."""

    def last_digests(self) -> dict[str, DigestPost]:
        """Each channel's last digest, by channel."""

    # -- what the last scan of stale New orders learnt (bot.digest.window)
    def scan_mark(self) -> ScanMark | None:
        """The mark the last scan kept, if any."""

    def keep_scan_mark(self, mark: ScanMark) -> None:
        """Keep ``mark`` in place of the last one."""

    # -- order snapshots ("Request hold for all" carries a snapshot id, never the list)
    def save_snapshot(
        self,
        channel_id: str,
        cust_refs: Sequence[str],
        at: datetime,
        order_created: Mapping[str, datetime] | None = None,
    ) -> int: ...

    def snapshot(self, snapshot_id: int) -> Snapshot | None: ...


class SurfaceStore(Protocol):
    """What the Slack surfaces keep."""

    # -- Events API deliveries
    def claim_event(self, event_id: str, at: datetime, expires_at: datetime) -> bool:
        """True for exactly one caller per ``event_id`` while its claim lasts; a claim whose
        ``expires_at`` has passed is taken over (swept or not)."""

    def forget_events(self, now: datetime) -> int:
        """Delete claims that expired at or before ``now``; how many."""

    # -- the App Home
    def home_opened(self, user_id: str, at: datetime) -> None:
        """Record that ``user_id`` opened the App Home at ``at``."""

    def home_published(
        self, user_id: str, view_id: str, view_hash: str | None, at: datetime
    ) -> None:
        """Record the view (and its ``hash``) just published to ``user_id``'s App Home."""

    def home_view(self, user_id: str) -> HomeView | None: ...

    def home_viewers(self, since: datetime, limit: int) -> list[str]:
        """Users who opened the App Home at or after ``since``, most recent first."""

    # -- job heartbeats
    def beat(self, name: str, at: datetime) -> None:
        """Record that the job ``name`` ran at ``at``."""

    def heartbeat(self, name: str) -> datetime | None:
        """When the job ``name`` last ran; None if never."""


class Store(HoldStore, DigestStore, SurfaceStore, Protocol):
    """Everything the bot keeps, and the database's lifecycle: for the composition root."""

    # -- lifecycle
    def migrate(self) -> list[int]:
        """Create or upgrade the schema (harmless again); the versions it applied just now."""

    def ping(self) -> None:
        """Raise StoreError unless the database answers (used by /healthz)."""

    def close(self) -> None: ...


def audit(
    store: HoldStore,
    at: datetime,
    event: str,
    *,
    actor: str | None = None,
    request_id: int | None = None,
    cust_ref: str | None = None,
    detail: str = "",
    process_id: str | None = None,
) -> None:
    """Append one entry to the audit trail (``event``: requested, approved, refused, outcome, …;
    ``actor`` None for the bot itself)."""
    entry = AuditEntry(at, event, actor, request_id, cust_ref, detail, process_id)
    store.audit(entry)

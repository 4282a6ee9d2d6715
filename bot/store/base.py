"""The store contract: hold requests and their per-order items, the audit trail, digest
subscriptions, digest claims and order snapshots.

Every state change is one conditional statement in the implementation (``UPDATE … WHERE state =
…`` or ``INSERT … ON CONFLICT DO NOTHING``) whose result says whether *this* caller won, so that any
number of threads or processes racing on one database get exactly one winner (reliability R1,
R27–R29). Implementations are safe to use from several threads at once.

Request states::

    pending ──approve──▶ executing ──▶ done | failed | unknown
       │
       ├──reject / withdraw──▶ rejected
       └──TTL passed─────────▶ expired

Item (per-order) states::

    queued ──▶ sending ──▶ canceled | not_confirmed | failed
       └─────────────────▶ skipped (already at WMS / already canceled / not found)

``sending`` is written *before* the cancel call, so a restart re-reads such an order instead of
sending the cancel again (R42).

**One open request per order.** Creating a request also claims each of its orders, in the same
transaction; an order already claimed by a pending or executing request refuses the whole request
with :class:`OrdersAlreadyOpen`, naming the request that holds it. The database releases the
claims when the request's state becomes final, whichever statement moves it there.

**Cards.** Each request records the state its Slack message was last rendered in
(``rendered_state``), so a sweep can re-render every card whose rendering lags the stored state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Protocol

from bot.store.surfaces import DigestPost, HomeView, SurfaceStore

__all__ = [
    "AuditEntry",
    "DigestClaim",
    "DigestPost",
    "DigestSubscription",
    "HoldItem",
    "HoldRequest",
    "HomeView",
    "ItemState",
    "Notice",
    "OpenOrder",
    "OrdersAlreadyOpen",
    "RequestState",
    "Snapshot",
    "Store",
    "StoreError",
    "utc_aware",
]


class StoreError(Exception):
    """The database failed or is unreachable; the message never contains a password."""


class RequestState(StrEnum):
    PENDING = "pending"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self is RequestState.PENDING

    @property
    def is_final(self) -> bool:
        return self not in (RequestState.PENDING, RequestState.EXECUTING)


class ItemState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    CANCELED = "canceled"
    NOT_CONFIRMED = "not_confirmed"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_final(self) -> bool:
        return self not in (ItemState.QUEUED, ItemState.SENDING)


@dataclass(frozen=True)
class OpenOrder:
    """An order claimed by an open (pending or executing) request."""

    cust_ref: str
    request_id: int
    state: RequestState


class OrdersAlreadyOpen(Exception):
    """A new request names orders that an open request already holds; nothing was created."""

    def __init__(self, claims: Sequence[OpenOrder]) -> None:
        self.claims = tuple(claims)
        named = ", ".join(f"{c.cust_ref} (#{c.request_id})" for c in self.claims)
        super().__init__(f"already in an open hold request: {named}")

    @property
    def cust_refs(self) -> list[str]:
        return [claim.cust_ref for claim in self.claims]


@dataclass(frozen=True)
class HoldItem:
    request_id: int
    cust_ref: str
    position: int
    state: ItemState = ItemState.QUEUED
    detail: str = ""  # what happened, in words (CartRover's message, "already at WMS", …)
    process_ids: tuple[str, ...] = ()  # X-CartRover-Process-ID of every call for this item
    updated_at: datetime | None = None
    # When CartRover created the order, if known: re-reads can then use one listing call.
    order_created_at: datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    """The orders behind one "Request hold for all" button, oldest first, and their creation
    times where known."""

    cust_refs: list[str]
    order_created: dict[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class HoldRequest:
    id: int
    requester: str  # Slack user id
    channel_id: str  # where the request message lives
    reason: str
    state: RequestState
    created_at: datetime
    expires_at: datetime
    source: str = "command"  # "command" or "digest"
    message_ts: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    items: tuple[HoldItem, ...] = field(default=())
    rendered_state: RequestState | None = None  # the state its message last showed; None: unknown
    decision_reason: str = ""  # the words a decision came with (a Reject's reason), as typed

    @property
    def cust_refs(self) -> list[str]:
        return [item.cust_ref for item in self.items]


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    event: str  # requested, approved, rejected, withdrawn, expired, refused, outcome, error, …
    actor: str | None = None  # Slack user id, or None for the bot itself
    request_id: int | None = None
    cust_ref: str | None = None
    detail: str = ""
    process_id: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class DigestSubscription:
    channel_id: str
    local_time: str  # "HH:MM"
    timezone: str  # IANA name
    created_by: str | None = None
    created_at: datetime | None = None
    # Made from DIGEST_CHANNEL at start-up (True), or by a person in Slack (False).
    from_config: bool = False
    # DIGEST_TIME and TIMEZONE ("09:00 UTC") as last applied or seen for this channel; kept when
    # a person changes the subscription, so a later change of configuration can be told apart.
    config_value: str | None = None


class Notice(StrEnum):
    """How the notice of a request's outcome in its card's thread ended."""

    POSTED = "posted"
    FAILED = "failed"  # Slack failed for now: it may be claimed again later
    REFUSED = "refused"  # Slack will never take it (thread gone, channel archived, …)


@dataclass(frozen=True)
class DigestClaim:
    channel_id: str
    local_date: date
    state: str  # "claimed", "posted", "failed"
    claimed_at: datetime
    message_ts: str | None = None


class Store(SurfaceStore, Protocol):
    """What the bot keeps. Datetimes in and out are timezone-aware (UTC). What the Slack surfaces
    keep is :class:`~bot.store.surfaces.SurfaceStore`."""

    # -- lifecycle
    def migrate(self) -> None:
        """Create or upgrade the schema; running it again is harmless."""

    def ping(self) -> None:
        """Raise StoreError unless the database answers (used by /healthz)."""

    def close(self) -> None: ...

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
    ) -> HoldRequest:
        """Insert a pending request with one queued item per order and claim each order, all in
        one transaction. ``order_created`` gives the orders' creation times where known.

        OrdersAlreadyOpen (and nothing created) if an open request already holds any of the
        orders; ValueError if ``cust_refs`` is empty or names an order twice, or a datetime is
        naive.
        """

    def set_message(self, request_id: int, channel_id: str, message_ts: str) -> None:
        """Record where the request message was posted."""

    def adopt_message(self, request_id: int, channel_id: str, message_ts: str) -> bool:
        """Record ``message_ts`` for a request in ``channel_id`` that has none yet (its post's
        answer was lost); True if this call recorded it."""

    def mark_rendered(self, request_id: int, state: RequestState, at: datetime) -> None:
        """Record that the request's message now shows ``state`` (or that Slack refused for good
        to show it, so there is nothing more to render)."""

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

    def get_request(self, request_id: int) -> HoldRequest | None: ...

    # -- who runs an executing request (bot.store.leases)
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

    def requests_in_state(self, state: RequestState) -> list[HoldRequest]:
        """Requests in ``state``, oldest first (``pending`` to list, ``executing`` to resume)."""

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
        so a late approval can never win against the TTL. Only the moves drawn in the module
        docstring exist (pending → executing | rejected | expired, executing → done | failed |
        unknown); any other raises ValueError. ``decided_by``/``decided_at`` are set only by the
        move out of pending.
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

    # -- audit trail (append-only)
    def audit(self, entry: AuditEntry) -> None: ...

    def audit_for_order(self, cust_ref: str, limit: int = 50) -> list[AuditEntry]:
        """Entries naming ``cust_ref``, plus request-level entries (``cust_ref`` None) of the
        requests that include it, newest first; other orders' outcomes are left out."""

    def audit_for_request(self, request_id: int) -> list[AuditEntry]:
        """Entries of one request, oldest first."""

    # -- digest subscriptions
    def subscribe(self, subscription: DigestSubscription) -> None:
        """Create or replace the channel's subscription."""

    def unsubscribe(self, channel_id: str) -> bool:
        """Remove it; True if there was one."""

    def subscription(self, channel_id: str) -> DigestSubscription | None: ...

    def subscriptions(self) -> list[DigestSubscription]: ...

    def saw_config(self, channel_id: str, config_value: str) -> None:
        """Record the configuration (``"09:00 UTC"``) last seen for the channel's subscription."""

    # -- digest claims: one scheduled digest per channel and local date
    def claim_digest(self, channel_id: str, local_date: date, at: datetime) -> bool:
        """Claim (channel, date): True for exactly one caller. A claim in state ``failed`` may be
        claimed again (one winner again)."""

    def digest_posted(self, channel_id: str, local_date: date, message_ts: str) -> None: ...

    def digest_failed(self, channel_id: str, local_date: date) -> None: ...

    def digest_claim(self, channel_id: str, local_date: date) -> DigestClaim | None: ...

    # -- order snapshots ("Request hold for all" carries a snapshot id, never the list)
    def save_snapshot(
        self,
        channel_id: str,
        cust_refs: Sequence[str],
        at: datetime,
        order_created: Mapping[str, datetime] | None = None,
    ) -> int: ...

    def snapshot(self, snapshot_id: int) -> Snapshot | None: ...


def utc_aware(when: datetime) -> datetime:
    """``when`` in UTC; naive datetimes are refused rather than guessed."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("the store takes timezone-aware datetimes only")
    return when.astimezone(UTC)

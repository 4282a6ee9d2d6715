"""What the store keeps, as records: hold requests and their per-order items, the audit trail,
digest subscriptions, claims and posts, order snapshots, App Home views; their states; and the
store's two errors. The contracts over them are in :mod:`bot.store.contracts`.

Request states::

    pending ──approve──▶ executing ──▶ done | failed | unknown
       │
       ├──reject / withdraw──▶ rejected
       ├──TTL passed─────────▶ expired
       └──every order moved on while it waited──▶ done (nothing stopped; the bot's ending)

Item (per-order) states::

    queued ──▶ sending ──▶ canceled | order_canceled | not_confirmed | failed
       │          └──▶ checking ──▶ (the same, about a minute later: the second look)
       ├─────────────────▶ skipped (already at WMS / already canceled / not found)
       └─────────────────▶ would_cancel (shadow mode: everything but the cancel itself)

``sending`` is written *before* the cancel call, so a restart re-reads such an order instead of
sending the cancel again (R42). ``checking`` is a cancel whose first verifying read did not show it
yet: it is read once more about a minute after ``updated_at``, never sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from bot.store.facts import OrderFacts

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
    "OrderFacts",
    "OrdersAlreadyOpen",
    "RequestState",
    "ScanMark",
    "Snapshot",
    "StoreError",
    "utc_aware",
]


class StoreError(Exception):
    """The database failed or is unreachable; the message never contains a password.
    ``transient``: a lock, a busy database or a dropped connection, which a moment later may be
    gone (worth one more try), rather than a full disk or a broken schema."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


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
    CHECKING = "checking"  # not confirmed at the first look; a second one follows
    CANCELED = "canceled"  # sending canceled
    ORDER_CANCELED = "order_canceled"  # the order itself canceled in CartRover
    NOT_CONFIRMED = "not_confirmed"
    FAILED = "failed"
    SKIPPED = "skipped"
    WOULD_CANCEL = "would_cancel"  # shadow mode: everything but the cancel itself

    @property
    def is_final(self) -> bool:
        return self not in (ItemState.QUEUED, ItemState.SENDING, ItemState.CHECKING)


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
    facts: OrderFacts | None = None  # what its card shows; None for requests opened before


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
    reminded_at: datetime | None = None  # when its approvers were reminded (once at most)
    followed_at: datetime | None = None  # when its orders were last re-read while it waited

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


@dataclass(frozen=True)
class HomeView:
    """A user's App Home as the bot last knew it: when they opened it, and the view (its id and
    Slack's ``hash``) last published to them, if any."""

    user_id: str
    opened_at: datetime
    view_id: str | None = None
    view_hash: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class DigestPost:
    """The last digest posted in a channel, and what it counted."""

    channel_id: str
    posted_at: datetime
    message_ts: str
    test_count: int
    non_test_count: int | None  # None: not counted


@dataclass(frozen=True)
class ScanMark:
    """What the last scan of stale New orders learnt, so the next one can list only recent
    orders (:mod:`bot.digest.window`): no New order created before ``clear_before`` was waiting
    to be sent when it looked; ``full_at`` is when a scan last listed every New order."""

    clear_before: datetime
    full_at: datetime
    scanned_at: datetime


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


def utc_aware(when: datetime) -> datetime:
    """``when`` in UTC; naive datetimes are refused rather than guessed."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("the store takes timezone-aware datetimes only")
    return when.astimezone(UTC)

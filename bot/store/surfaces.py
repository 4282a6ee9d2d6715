"""What the Slack surfaces keep, as part of the store contract: Events API deliveries already
handled, who opened the App Home and what was last published there, each channel's last digest,
and when a named job last ran (``docs/states.md`` has the statements' rules; migration 6 the
tables).

Like everything in the store, each change is one statement: an event id is claimed by exactly one
caller however many processes receive the delivery (reliability R23), and a claim is remembered
only until it expires, after which the same statement hands it to a new delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["DigestPost", "HomeView", "SurfaceStore"]


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


class SurfaceStore(Protocol):
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

    # -- digests, heartbeats
    def record_digest(self, post: DigestPost) -> None:
        """Keep ``post`` as its channel's last digest."""

    def last_digests(self) -> dict[str, DigestPost]:
        """Each channel's last digest, by channel."""

    def beat(self, name: str, at: datetime) -> None:
        """Record that the job ``name`` ran at ``at``."""

    def heartbeat(self, name: str) -> datetime | None:
        """When the job ``name`` last ran; None if never."""

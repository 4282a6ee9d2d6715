"""The :class:`~bot.store.surfaces.SurfaceStore` contract over the relational primitives, shared by
SQLite and PostgreSQL through :class:`~bot.store.relational.SqlStore`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.base import HoldRequest
from bot.store.primitives import Primitives
from bot.store.sql import (
    BEAT,
    CLAIM_EVENT,
    FORGET_EVENTS,
    HEARTBEAT,
    HOME_OPENED,
    HOME_PUBLISHED,
    HOME_VIEW,
    HOME_VIEWERS,
    LAST_DIGESTS,
    RECORD_DIGEST,
    REQUESTS_BY,
)
from bot.store.surfaces import DigestPost, HomeView

__all__ = ["SurfaceRows"]


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


class SurfaceRows(Primitives):
    """A requester's requests, events, App Home views, digest counts and heartbeats, over the
    backend's primitives."""

    # -- a requester's requests (for their App Home)
    def requests_by(self, requester: str, limit: int = 10) -> list[HoldRequest]:
        return self._requests(REQUESTS_BY, (requester, limit))

    # -- Events API deliveries
    def claim_event(self, event_id: str, at: datetime, expires_at: datetime) -> bool:
        return (
            self._change(CLAIM_EVENT, (event_id, self._instant(at), self._instant(expires_at))) == 1
        )

    def forget_events(self, now: datetime) -> int:
        return self._change(FORGET_EVENTS, (self._instant(now),))

    # -- the App Home
    def home_opened(self, user_id: str, at: datetime) -> None:
        self._change(HOME_OPENED, (user_id, self._instant(at)))

    def home_published(
        self, user_id: str, view_id: str, view_hash: str | None, at: datetime
    ) -> None:
        when = self._instant(at)
        self._change(HOME_PUBLISHED, (user_id, when, view_id, view_hash, when))

    def home_view(self, user_id: str) -> HomeView | None:
        for row in self._rows(HOME_VIEW, (user_id,)):
            published = row["published_at"]
            return HomeView(
                user_id=row["user_id"],
                opened_at=self._time_out(row["opened_at"]),
                view_id=row["view_id"],
                view_hash=row["view_hash"],
                published_at=None if published is None else self._time_out(published),
            )
        return None

    def home_viewers(self, since: datetime, limit: int) -> list[str]:
        return [
            str(row["user_id"]) for row in self._rows(HOME_VIEWERS, (self._instant(since), limit))
        ]

    # -- digests, heartbeats
    def record_digest(self, post: DigestPost) -> None:
        params = (post.channel_id, self._instant(post.posted_at), post.message_ts, post.test_count)
        self._change(RECORD_DIGEST, (*params, post.non_test_count))

    def last_digests(self) -> dict[str, DigestPost]:
        return {
            row["channel_id"]: DigestPost(
                channel_id=row["channel_id"],
                posted_at=self._time_out(row["posted_at"]),
                message_ts=row["message_ts"],
                test_count=int(row["test_count"]),
                non_test_count=_count(row["non_test_count"]),
            )
            for row in self._rows(LAST_DIGESTS, ())
        }

    def beat(self, name: str, at: datetime) -> None:
        self._change(BEAT, (name, self._instant(at)))

    def heartbeat(self, name: str) -> datetime | None:
        for row in self._rows(HEARTBEAT, (name,)):
            return self._time_out(row["beat_at"])
        return None

"""The :class:`~bot.store.contracts.SurfaceStore` contract over the relational primitives, shared by
SQLite and PostgreSQL through :class:`~bot.store.relational.SqlStore`."""

from __future__ import annotations

from datetime import datetime

from bot.store.primitives import Primitives
from bot.store.records import HomeView
from bot.store.sql import (
    BEAT,
    CLAIM_EVENT,
    FORGET_EVENTS,
    HEARTBEAT,
    HOME_OPENED,
    HOME_PUBLISHED,
    HOME_VIEW,
    HOME_VIEWERS,
)

__all__ = ["SurfaceRows"]


class SurfaceRows(Primitives):
    """Events API deliveries, App Home views and job heartbeats, over a backend's primitives."""

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

    # -- job heartbeats
    def beat(self, name: str, at: datetime) -> None:
        self._change(BEAT, (name, self._instant(at)))

    def heartbeat(self, name: str) -> datetime | None:
        for row in self._rows(HEARTBEAT, (name,)):
            return self._time_out(row["beat_at"])
        return None

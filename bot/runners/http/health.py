"""``GET /healthz``: a verdict from the database, the Slack token and the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack.webapi import SlackPoster
from bot.store.contracts import Store
from bot.store.records import StoreError

__all__ = ["Health"]


class Health:
    def __init__(
        self,
        store: Store,
        poster: SlackPoster | None = None,
        scheduler_state: Callable[[], str] | None = None,
        *,
        shadow_mode: bool = False,
    ) -> None:
        self.store = store
        self.poster = poster
        self.scheduler_state = scheduler_state
        self.mode = "shadow" if shadow_mode else "live"  # SHADOW_MODE: nothing is canceled

    def check(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body): 200 when healthy, 503 otherwise."""
        healthy = True
        try:
            self.store.ping()
            database = "ok"
        except StoreError as exc:
            database, healthy = f"error: {exc}", False
        slack = "ok"
        if self.poster is not None and self.poster.fatal_error:
            slack, healthy = f"error: {self.poster.fatal_error}", False
        scheduler = self.scheduler_state() if self.scheduler_state else "disabled"
        body = {
            "status": "ok" if healthy else "unhealthy",
            "database": database,
            "slack": slack,
            "scheduler": scheduler,
            "mode": self.mode,
        }
        return (200 if healthy else 503), body

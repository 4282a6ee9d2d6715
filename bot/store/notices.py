"""Outcome notices and digest subscriptions, written once for both databases (migration 5): the
notice of a closed request's outcome (claimed by one caller, then recorded as posted, failed or
refused), and digest subscriptions with who made them and the configuration last seen for them.
:class:`NoticeAndSubscriptionRows` runs the statements of :mod:`bot.store.sql` over the primitives
:class:`bot.store.relational.SqlStore` provides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.base import DigestSubscription, HoldRequest, Notice
from bot.store.primitives import Primitives
from bot.store.sql import CLAIM_NOTICE, NOTICE_DONE, SEEN_CONFIG, SUBSCRIBE, UNTOLD

__all__ = ["NoticeAndSubscriptionRows"]


class NoticeAndSubscriptionRows(Primitives):
    """Outcome notices and the configuration seen for a subscription, over a backend's
    primitives."""

    def claim_notice(self, request_id: int, at: datetime, *, retry_before: datetime) -> bool:
        when, before = self._instant(at), self._instant(retry_before)
        return self._change(CLAIM_NOTICE, (when, request_id, before)) == 1

    def notice_done(self, request_id: int, how: Notice, at: datetime) -> None:
        self._change(NOTICE_DONE, (Notice(how).value, self._instant(at), request_id))

    def untold(self, limit: int, *, retry_before: datetime) -> list[HoldRequest]:
        return self._requests(UNTOLD, (self._instant(retry_before), limit))

    def subscribe(self, subscription: DigestSubscription) -> None:
        s = subscription
        created = None if s.created_at is None else self._instant(s.created_at)
        set_in = "config" if s.from_config else "slack"
        params = (s.channel_id, s.local_time, s.timezone, s.created_by, created, set_in)
        self._change(SUBSCRIBE, (*params, s.config_value))

    def saw_config(self, channel_id: str, config_value: str) -> None:
        self._change(SEEN_CONFIG, (config_value, channel_id))

    def _subscription(self, row: dict[str, Any]) -> DigestSubscription:
        return DigestSubscription(
            channel_id=row["channel_id"],
            local_time=row["local_time"],
            timezone=row["timezone"],
            created_by=row["created_by"],
            created_at=self._maybe_time(row["created_at"]),
            # Not migrated yet (read by ``check``): no person behind it means configuration.
            from_config=row.get("set_in", "slack" if row["created_by"] else "config") == "config",
            config_value=row.get("config_value"),
        )

"""The :class:`~bot.store.contracts.DigestStore` contract over the relational primitives, shared
by SQLite and PostgreSQL through :class:`~bot.store.relational.SqlStore`: digest subscriptions
(with who made them and the configuration last seen for them), the claim that makes one scheduled
digest per channel and local date, each channel's last digest, and the order snapshots behind
"Request hold for all".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from bot.store.primitives import Primitives
from bot.store.records import (
    DigestClaim,
    DigestPost,
    DigestSubscription,
    ScanMark,
    Snapshot,
    utc_aware,
)
from bot.store.sql import (
    CLAIM_DIGEST,
    DIGEST_CLAIM,
    DIGEST_FAILED,
    DIGEST_POSTED,
    INSERT_SNAPSHOT,
    KEEP_SCAN_MARK,
    LAST_DIGESTS,
    RECLAIM_DIGEST,
    RECORD_DIGEST,
    SCAN_MARK,
    SEEN_CONFIG,
    SNAPSHOT,
    SUBSCRIBE,
    SUBSCRIPTION,
    SUBSCRIPTIONS,
    UNSUBSCRIBE,
)

__all__ = ["DigestRows"]


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


class DigestRows(Primitives):
    """Subscriptions, claims, last digests and snapshots, over a backend's primitives."""

    # -- digest subscriptions
    def subscribe(self, subscription: DigestSubscription) -> None:
        s = subscription
        created = None if s.created_at is None else self._instant(s.created_at)
        set_in = "config" if s.from_config else "slack"
        params = (s.channel_id, s.local_time, s.timezone, s.created_by, created, set_in)
        self._change(SUBSCRIBE, (*params, s.config_value))

    def saw_config(self, channel_id: str, config_value: str) -> None:
        self._change(SEEN_CONFIG, (config_value, channel_id))

    def unsubscribe(self, channel_id: str) -> bool:
        return self._change(UNSUBSCRIBE, (channel_id,)) == 1

    def subscription(self, channel_id: str) -> DigestSubscription | None:
        found = [self._subscription(row) for row in self._rows(SUBSCRIPTION, (channel_id,))]
        return found[0] if found else None

    def subscriptions(self) -> list[DigestSubscription]:
        return [self._subscription(row) for row in self._rows(SUBSCRIPTIONS, ())]

    # -- digest claims
    def claim_digest(self, channel_id: str, local_date: date, at: datetime) -> bool:
        day, when = self._date_in(local_date), self._instant(at)
        if self._change(CLAIM_DIGEST, (channel_id, day, when)) == 1:
            return True
        return self._change(RECLAIM_DIGEST, (when, channel_id, day)) == 1

    def digest_posted(self, channel_id: str, local_date: date, message_ts: str) -> None:
        self._change(DIGEST_POSTED, (message_ts, channel_id, self._date_in(local_date)))

    def digest_failed(self, channel_id: str, local_date: date) -> None:
        self._change(DIGEST_FAILED, (channel_id, self._date_in(local_date)))

    def digest_claim(self, channel_id: str, local_date: date) -> DigestClaim | None:
        for row in self._rows(DIGEST_CLAIM, (channel_id, self._date_in(local_date))):
            return DigestClaim(
                channel_id=row["channel_id"],
                local_date=self._date_out(row["local_date"]),
                state=row["state"],
                claimed_at=self._time_out(row["claimed_at"]),
                message_ts=row["message_ts"],
            )
        return None

    # -- each channel's last digest
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

    # -- the last scan of stale New orders
    def scan_mark(self) -> ScanMark | None:
        for row in self._rows(SCAN_MARK, ()):
            return ScanMark(
                clear_before=self._time_out(row["clear_before"]),
                full_at=self._time_out(row["full_at"]),
                scanned_at=self._time_out(row["scanned_at"]),
            )
        return None

    def keep_scan_mark(self, mark: ScanMark) -> None:
        times = (mark.clear_before, mark.full_at, mark.scanned_at)
        self._change(KEEP_SCAN_MARK, tuple(self._instant(when) for when in times))

    # -- order snapshots
    def save_snapshot(
        self,
        channel_id: str,
        cust_refs: Sequence[str],
        at: datetime,
        order_created: Mapping[str, datetime] | None = None,
    ) -> int:
        created = {ref: utc_aware(when).isoformat() for ref, when in (order_created or {}).items()}
        saved = json.dumps({"refs": list(cust_refs), "created": created})
        params = (channel_id, saved, self._instant(at))
        return int(self._rows(INSERT_SNAPSHOT, params)[0]["id"])

    def snapshot(self, snapshot_id: int) -> Snapshot | None:
        for row in self._rows(SNAPSHOT, (snapshot_id,)):
            saved = json.loads(row["cust_refs"])
            if isinstance(saved, list):  # saved before creation times were kept
                return Snapshot([str(ref) for ref in saved])
            created = saved["created"].items()
            known = {str(ref): datetime.fromisoformat(when) for ref, when in created}
            return Snapshot([str(ref) for ref in saved["refs"]], known)
        return None

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
